"""core.analysis: the Analysis object, its JSON (``analyze --json``), summary, and mm.analyze."""

from __future__ import annotations

import dataclasses
import json

import pytest
from modelmap.core import Analysis, LayerKind, Link, Op, SkipKind, Tensor, Unit, UnitGraph, analyze_onnx

import modelmap as mm

from .test_core_graph import make
from .test_core_layers import BLOCK
from .test_core_skips import BLOCK_NS

TOP_KEYS = ["framework", "converter", "op_count", "params", "param_bytes", "macs", "depth", "layers", "skips", "blocks",
            "rejections"]
LAYER_KEYS = ["name", "path", "type", "kind", "params", "macs", "output_bytes", "inputs", "outputs", "output_shape",
              "ops", "attrs"]


@pytest.fixture(scope="module")
def model():
    return make(BLOCK, BLOCK_NS)


def test_to_dict_has_the_contract_keys_in_a_stable_order(model):
    a = analyze_onnx(model)
    d = a.to_dict()
    assert list(d) == TOP_KEYS
    assert all(list(layer) == LAYER_KEYS for layer in d["layers"])
    add = next(layer for layer in d["layers"] if layer["name"] == "block/add")
    assert add["inputs"] == ["block.conv2", "stem"] and add["output_shape"] == [1, 4, 8, 8] and add["kind"] == "merge"
    assert d["skips"] == [
        {
            "kind": "identity",
            "merge": "block/add",
            "fork": "stem",
            "body": ["block.conv1", "block.bn1", "block.relu", "block.conv2"],
            "shortcut": [],
        }
    ]
    assert (d["op_count"], d["params"], d["framework"]) == (7, 304, "onnx")
    text = json.dumps(d)
    assert json.loads(text) == d  # JSON-serialisable, nothing lost
    assert json.dumps(analyze_onnx(model).to_dict()) == text  # stable across runs


def test_to_dict_at_a_depth_lists_collapsed_modules(model):
    d = analyze_onnx(model).to_dict(depth=1)
    assert d["depth"] == 1
    assert [layer["name"] for layer in d["layers"]] == ["x", "stem", "block", "output"]
    block = d["layers"][2]
    assert block["kind"] == "module" and block["type"] == "Block" and len(block["members"]) == 6
    assert block["inputs"] == ["stem"] and block["outputs"] == ["output"]
    assert d["skips"][0]["merge"] == "block/add"  # skips still name leaf layers


def test_summary_lists_layers_skips_and_explanations():
    a = analyze_onnx(
        make(
            """g (float[1,4] x) => (float[1,4] y) <float[4,4] W, float[4] B> {
            h = Relu(x)  m = MatMul(h, W)  b = Add(m, B)  y = Add(h, b) }""",
            {"h": ("act", "ReLU"), "m": ("fc", "Linear"), "b": ("fc", "Linear"), "y": ("res", "Add")},
        )
    )
    text = a.summary()
    lines = text.splitlines()
    assert lines[0].split() == ["Layer", "Type", "Output", "shape", "Params", "MACs", "Inputs"]
    assert any(line.split()[:4] == ["fc", "Linear", "(1,", "4)"] and line.split()[4] == "20" for line in lines)
    assert "skip connections: 1 (1 identity)" in text
    assert "  identity   act -> res (body: 1 layers)" in text
    assert "bias add" not in text
    explained = a.summary(explain=True)
    assert "merges that are not skip connections: 1" in explained
    assert "  Add at fc: one input is an initializer: a bias add, not a skip" in explained


def test_api_analyze_accepts_a_model_proto_and_keeps_the_depth(model):
    a = mm.analyze(model, depth=1)
    assert isinstance(a, mm.Analysis) and isinstance(a, Analysis)
    assert [s.kind for s in a.skips] == [SkipKind.IDENTITY]
    assert a.to_dict()["depth"] == 1 and a.to_dict(depth=None)["depth"] == 1
    assert a.layer("block.conv1").params == 144
    with pytest.raises(KeyError):
        a.layer("nope")
    with pytest.raises(mm.InputError, match="depth must be at least 1"):
        mm.analyze(model, depth=0)


def test_invalid_graph_through_the_api_is_an_input_error():
    import onnx

    m = onnx.parser.parse_model(
        '<ir_version: 8, opset_import: ["" : 17]>\ng (float[1,4] x) => (float[1,4] y) { a = Relu(y)  y = Abs(a) }'
    )
    with pytest.raises(mm.InvalidGraphError, match="cycle"):
        mm.analyze(m)


# ------------------------------------------------------------------ the typed interface exporters read


def test_collapse_gives_frozen_typed_units_and_links(model):
    a = analyze_onnx(model)
    view = a.collapse(1)
    assert isinstance(view, UnitGraph) and view.depth == 1
    assert [u.name for u in view.units] == ["x", "stem", "block", "output"]
    block = view.unit("block")
    assert isinstance(block, Unit) and block.kind is LayerKind.MODULE and block.collapsed
    assert (block.type, block.params, block.inputs, block.outputs) == ("Block", 304, ("stem",), ("output",))
    assert block.members[0] == "block.conv1" and len(block.members) == 6 and block.attrs == {}
    assert block.output_shape == (1, 4, 8, 8)
    assert view.link("stem", "block") == Link("stem", "block", "h", (1, 4, 8, 8), 2)  # into conv1 and the add
    assert view.group["block/add"] == "block" and view.group["stem"] == "stem"
    with pytest.raises(dataclasses.FrozenInstanceError):
        block.params = 0  # type: ignore[misc]
    # every layer: one unit per layer, carrying the layer's attributes
    full = a.collapse()
    assert [u.name for u in full] == [layer.name for layer in a.layers]
    assert full.unit("block.conv1").attrs["kernel_shape"] == (3, 3) and not full.unit("block.conv1").collapsed
    # computed once per depth; layer_graph is the same graph in networkx
    assert a.collapse(1) is view
    g = a.layer_graph(1)
    assert list(g.nodes) == [u.name for u in view.units]
    assert list(g.edges) == [(k.src, k.dst) for k in view.links]
    assert all(list(g.predecessors(u.name)) == list(u.inputs) for u in view.units)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        a.collapse(0)


def test_ops_of_a_layer_name_their_tensors_shapes_and_parameters(model):
    a = analyze_onnx(model)
    (conv,) = a.ops("block.conv1")
    assert isinstance(conv, Op) and conv.op_type == "Conv" and conv.attrs["pads"] == (1, 1, 1, 1)
    assert conv.input_names == ("h", "W1") and conv.params == ("W1",)
    x, w = conv.inputs
    assert (x.shape, x.dtype, x.producer) == ((1, 4, 8, 8), "float", a.ops("stem")[0].id)
    assert w.initializer and w.shape == (4, 4, 3, 3) and w.producer is None
    (out,) = conv.outputs
    assert out == Tensor("c1", (1, 4, 8, 8), "float", conv.id) and a.tensor("c1") == out
    assert a.tensor("x").producer is None  # a graph input
    assert a.ops(a.layer("x")) == ()  # graph inputs have no op
    assert [op.op_type for op in a.ops("block.bn1")] == ["BatchNormalization"]
    with pytest.raises(KeyError):
        a.op("no such op")
    with pytest.raises(KeyError):
        a.ops("no such layer")


def test_weights_read_ops_without_building_the_networkx_graph(model):
    from modelmap.core.weights import iter_weights

    a = analyze_onnx(model)
    assert [(w.layer, w.name, w.role) for w in iter_weights(a)][:2] == [
        ("block.conv1", "W1", "weight"),
        ("block.bn1", "s1", "scale"),
    ]
    assert a.graph._nx is None  # the op graph's networkx copy was never made


def test_analysis_is_frozen_and_its_depth_is_set_once(model, tmp_path):
    a = mm.analyze(model, depth=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.depth = 2  # type: ignore[misc]
    assert a.view_depth() == 1 and a.view_depth(2) == 2
    b = a.with_depth(None)
    assert (a.depth, b.depth, b.to_dict()["depth"], len(b.to_dict()["layers"])) == (1, None, None, len(a.layers))
    assert b.layers is a.layers and b.collapse(1) == a.collapse(1)
    # drawings take the analysis's depth unless the options say otherwise
    mm.draw(a, tmp_path / "d1.json")
    mm.draw(a, tmp_path / "d2.json", depth=2)
    assert json.loads((tmp_path / "d1.json").read_text())["depth"] == 1
    assert json.loads((tmp_path / "d2.json").read_text())["depth"] == 2


def test_json_export_collapses_the_layers_once(model, monkeypatch):
    import modelmap.core.analysis as analysis_module
    from modelmap.exporters import DrawOptions, generate

    calls = []
    real = analysis_module.collapse_units
    monkeypatch.setattr(analysis_module, "collapse_units", lambda *args: calls.append(args[-1]) or real(*args))
    generate(analyze_onnx(model), "json", DrawOptions(depth=1))
    assert calls == [1]


def test_core_shows_itself_in_jupyter_through_the_display_hook(model):
    from modelmap._registry import display_hook
    from modelmap.exporters import repr_mimebundle

    assert display_hook.get() is repr_mimebundle
    a = analyze_onnx(model)
    assert a._repr_mimebundle_(include={"text/plain"}) == {"text/plain": a.summary()}


@pytest.mark.parametrize("name", ["modelmap.core.units", "modelmap._registry"])
def test_docstring_examples_of_the_interface_modules(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


def test_the_model_is_shape_inferred_once_and_its_tensors_are_known(model):
    import onnx

    a = analyze_onnx(model)
    again = onnx.shape_inference.infer_shapes(a.model, strict_mode=False, data_prop=True)
    assert again.SerializeToString() == a.model.SerializeToString()  # nothing left for an exporter to infer
    assert {vi.name for vi in a.model.graph.value_info} >= {"h", "c1", "n1", "r1", "c2", "a"}
    op_of = {op: layer.name for layer in a.layers for op in layer.ops}
    for node in a.model.graph.node:  # every ONNX node finds its op (and layer) through its output
        producer = a.tensor(node.output[0]).producer
        assert a.op(producer).op_type == node.op_type and producer in op_of
