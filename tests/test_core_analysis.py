"""core.analysis: the Analysis object, its JSON (``analyze --json``), summary, and mm.analyze."""

from __future__ import annotations

import json

import pytest
from modelmap.core import Analysis, SkipKind, analyze_onnx

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
