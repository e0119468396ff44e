"""Structural comparison: `modelmap compare`, `mm.compare`, `draw --diff`.

Small ONNX graphs built with onnx.helper test the normalisations one by one; the seed
models (PyTorch and Keras, converted once per module) test the issue's three claims:
the residual network differs from its plain twin by 14 skip connections (and depth),
the Keras seed network equals its PyTorch twin, and a model equals itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from modelmap.core import analyze_onnx
from modelmap.core.compare import CHANGE_COST, align, compare, profile, shape_key
from onnx import TensorProto, helper, numpy_helper

import modelmap as mm
from modelmap import _metadata as md
from tests.helpers import assert_one_line_error, cli







# --------------------------------------------------------------------------- small graphs


def _node(op: str, ins: list[str], outs: list[str], ns: str, cls: str, **attrs: Any) -> onnx.NodeProto:
    n = helper.make_node(op, ins, outs, name=f"{ns}/{op}_{outs[0]}", **attrs)
    if ns:  # no namespace: an op of the model itself (a functional call)
        md.annotate_node(n, ns.split("/"), cls.split("/"))
    return n


def _model(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], x_shape: list[int], name: str, framework: str = "onnx") -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    md.set_model_info(m, framework, "test", None)
    onnx.checker.check_model(m)
    return m


def _weights(c: int, seed: int = 0) -> dict[str, onnx.TensorProto]:
    rng = np.random.default_rng(seed)

    def w(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)

    return {
        "stem.w": w("stem.w", c, 3, 3, 3), "stem.b": w("stem.b", c),
        "a.w": w("a.w", c, c, 3, 3), "a.b": w("a.b", c),
        "b.w": w("b.w", c, c, 3, 3), "b.b": w("b.b", c),
        "fc.w": w("fc.w", 10, c * 64), "fc.b": w("fc.b", 10),
        "shape": numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape"),
    }  # fmt: skip


def torch_like(residual: bool = True, channels: int = 4, prefix: str = "") -> onnx.ModelProto:
    """NCHW: Conv, ReLU, [Conv, ReLU, Conv, (+ skip)], ReLU, Flatten, Linear, Softmax; one op per layer."""
    p = prefix
    w = _weights(channels)
    conv = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [
        _node("Conv", ["x", "stem.w", "stem.b"], ["s"], f"{p}stem", "Conv2d", **conv),
        _node("Relu", ["s"], ["r0"], f"{p}relu0", "ReLU"),
        _node("Conv", ["r0", "a.w", "a.b"], ["ca"], f"{p}block/{p}conv_a", "Block/Conv2d", **conv),
        _node("Relu", ["ca"], ["ra"], f"{p}block/{p}relu_a", "Block/ReLU"),
        _node("Conv", ["ra", "b.w", "b.b"], ["cb"], f"{p}block/{p}conv_b", "Block/Conv2d", **conv),
    ]
    last = "cb"
    if residual:
        nodes.append(_node("Add", ["r0", "cb"], ["sum"], f"{p}block/{p}add", "Block/Add"))
        last = "sum"
    nodes += [
        _node("Relu", [last], ["rb"], f"{p}block/{p}relu_b", "Block/ReLU"),
        _node("Flatten", ["rb"], ["flat"], f"{p}flatten", "Flatten", axis=1),
        _node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], f"{p}fc", "Linear", transB=1),
        _node("Softmax", ["logits"], ["y"], f"{p}softmax", "Softmax", axis=1),
    ]
    inits = [w[k] for k in ("stem.w", "stem.b", "a.w", "a.b", "b.w", "b.b", "fc.w", "fc.b")]
    return _model(nodes, inits, [1, 3, 8, 8], "torch_like", "pytorch")


def keras_like(residual: bool = True, channels: int = 4) -> onnx.ModelProto:
    """The same network as tf2onnx writes a Keras one: NHWC input, layout Transposes (one
    outside every layer), ReLU fused into Conv2D layers, Flatten as Transpose+Reshape, Dense(softmax) as
    MatMul+Add+Softmax in one layer, a Dropout layer that left an Identity."""
    w = _weights(channels)
    fc_w = numpy_helper.from_array(numpy_helper.to_array(w["fc.w"]).T.copy(), "dense/kernel")
    conv = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [
        _node("Transpose", ["x"], ["xt"], "", "", perm=[0, 3, 1, 2]),
        _node("Conv", ["xt", "stem.w", "stem.b"], ["s"], "conv2d", "Conv2D", **conv),
        _node("Relu", ["s"], ["r0"], "conv2d", "Conv2D"),
        _node("Conv", ["r0", "a.w", "a.b"], ["ca"], "conv2d_1", "Conv2D", **conv),
        _node("Relu", ["ca"], ["ra"], "conv2d_1", "Conv2D"),
        _node("Conv", ["ra", "b.w", "b.b"], ["cb"], "conv2d_2", "Conv2D", **conv),
    ]
    last = "cb"
    if residual:
        nodes.append(_node("Add", ["r0", "cb"], ["sum"], "add", "Add"))
        last = "sum"
    nodes += [
        _node("Relu", [last], ["rb"], "re_lu", "ReLU"),
        _node("Identity", ["rb"], ["rd"], "dropout", "Dropout"),
        _node("Transpose", ["rd"], ["rt"], "flatten", "Flatten", perm=[0, 2, 3, 1]),
        _node("Reshape", ["rt", "shape"], ["flat"], "flatten", "Flatten"),
        _node("MatMul", ["flat", "dense/kernel"], ["mm"], "dense", "Dense"),
        _node("Add", ["mm", "fc.b"], ["logits"], "dense", "Dense"),
        _node("Softmax", ["logits"], ["y"], "dense", "Dense", axis=1),
    ]
    inits = [w[k] for k in ("stem.w", "stem.b", "a.w", "a.b", "b.w", "b.b", "fc.b", "shape")] + [fc_w]
    return _model(nodes, inits, [1, 8, 8, 3], "keras_like", "keras")


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    return {
        "res": analyze_onnx(torch_like(True)),
        "plain": analyze_onnx(torch_like(False)),
        "renamed": analyze_onnx(torch_like(True, prefix="zz_")),
        "keras_res": analyze_onnx(keras_like(True)),
        "keras_plain": analyze_onnx(keras_like(False)),
        "wide": analyze_onnx(torch_like(True, channels=8)),
    }


def test_a_model_equals_itself_and_names_do_not_matter(small: dict[str, Any]) -> None:
    for key in ("res", "plain", "keras_res"):
        c = compare(small[key], small[key])
        assert c.same and not c.changes and not c.skips_only_in_a and not c.skips_only_in_b
    c = compare(small["res"], small["renamed"])
    assert c.same, c.summary()
    assert {u.layer for u in profile(small["renamed"]).units} >= {"zz_conv_a", "zz_add"}


def test_residual_against_plain_reports_the_skip_the_add_and_the_depth(small: dict[str, Any]) -> None:
    c = compare(small["res"], small["plain"])
    assert not c.same
    assert [(ch.op, ch.a.layer) for ch in c.changes] == [("removed", "add")]
    assert c.skips_only_in_a == (("identity", "add", "relu0"),) and c.skips_only_in_b == ()
    assert (c.a.depth, c.b.depth) == (c.b.depth + 1, c.b.depth)
    assert c.a.weight_depth == c.b.weight_depth == 4
    # the plain model's conv_b -> relu_b replaces the route through the Add: not reported again
    assert c.connections_only_in_a == () and c.connections_only_in_b == ()
    back = compare(small["plain"], small["res"])
    assert [(ch.op, ch.b.layer) for ch in back.changes] == [("added", "add")]
    assert back.b_marks() == {"add": "added"}


def test_keras_layout_fused_activations_and_dropout_are_normalised_away(small: dict[str, Any]) -> None:
    k = profile(small["keras_res"])
    t = profile(small["res"])
    assert k.signatures == t.signatures
    layers = {u.layer for u in k.units}
    assert "transpose" in small["keras_res"].layer_map and "dropout" in small["keras_res"].layer_map
    assert "transpose" not in layers and "dropout" not in layers
    fused = [u for u in k.units if u.fused]
    assert [(u.layer, u.signature) for u in fused] == [
        ("conv2d", "act:relu"), ("conv2d_1", "act:relu"), ("dense", "act:softmax")
    ]  # fmt: skip
    assert compare(small["keras_res"], small["res"]).same
    assert compare(small["keras_plain"], small["plain"]).same
    c = compare(small["keras_res"], small["plain"])
    assert not c.same and [ch.op for ch in c.changes] == ["removed"] and len(c.skips_only_in_a) == 1


def test_changed_hyper_parameters_are_reported_as_changes(small: dict[str, Any]) -> None:
    c = compare(small["res"], small["wide"])
    assert not c.same
    assert c.added == () and c.removed == ()
    changed = {ch.a.layer: (ch.a.signature, ch.b.signature) for ch in c.changed}
    # the layers whose own hyper-parameters or output shape changed; the Add and the ReLUs
    # keep their input's shape and are not named again
    assert set(changed) == {"stem", "conv_a", "conv_b", "flatten"}
    assert "c4" in changed["stem"][0] and "c8" in changed["stem"][1]
    assert set(c.b_marks().values()) == {"changed"}


def test_shape_key_ignores_batch_and_layout() -> None:
    assert shape_key((1, 64, 32, 16)) == shape_key((None, 32, 16, 64)) == "(64,32,16)"
    assert shape_key((1, 10)) == "(10)"
    assert shape_key((1, "seq", 8)) == "(8,?)"
    assert shape_key(None) == "?"


def test_alignment_prefers_minimal_edits_over_greedy_blocks() -> None:
    from modelmap.core.compare import Unit

    def units(sigs: str) -> list[Unit]:
        return [Unit(i, f"l{i}", s.rstrip("0123456789") or s, s) for i, s in enumerate(sigs.split())]

    # periodic sequences (a residual stage against a plain one): only the merges differ
    a = units("c r b c m r b c r b c m r b")
    b = units("c r b c r b c r b c r b")
    pairs = align(a, b)
    removed = [i for i, j in pairs if j is None]
    assert [a[i].signature for i in removed] == ["m", "m"]
    assert not [j for i, j in pairs if i is None]
    # a same-kind substitution is one change, cheaper than a removal plus an addition
    assert CHANGE_COST < 2
    assert align(units("c1 r"), units("c2 r")) == [(0, 0), (1, 1)]
    assert align([], units("c r")) == [(None, 0), (None, 1)]


def test_json_shape_of_the_result(small: dict[str, Any]) -> None:
    d = compare(small["res"], small["plain"]).to_dict()
    json.dumps(d)
    assert d["same"] is False
    assert set(d) >= {"same", "a", "b", "added", "removed", "changed", "skips_only_in_a", "skips_only_in_b"}
    assert d["removed"][0]["a"] == "add" and d["removed"][0]["b"] is None
    assert d["skips_only_in_a"] == [{"kind": "identity", "merge": "add", "fork": "relu0"}]
    assert d["a"]["depth"] - d["b"]["depth"] == 1


# --------------------------------------------------------------------------- CLI on small files


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cmp")
    out = {}
    for name, m in (("res", torch_like(True)), ("plain", torch_like(False)), ("keras_res", keras_like(True))):
        out[name] = d / f"{name}.onnx"
        onnx.save(m, out[name])
    return out


def test_cli_exit_codes_and_json(small_files: dict[str, Path]) -> None:
    same = cli("compare", str(small_files["res"]), str(small_files["keras_res"]))
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith("same architecture")
    diff = cli("compare", str(small_files["res"]), str(small_files["plain"]), "--json")
    assert diff.returncode == 1, diff.stderr
    d = json.loads(diff.stdout)
    assert d["same"] is False and len(d["skips_only_in_a"]) == 1
    text = cli("compare", str(small_files["res"]), str(small_files["plain"]))
    assert text.returncode == 1
    assert "skip connections only in A: 1" in text.stdout and "- add" in text.stdout


def test_cli_bad_input_is_one_line_and_exit_2(small_files: dict[str, Path], tmp_path: Path) -> None:
    assert_one_line_error(cli("compare", str(small_files["res"]), str(tmp_path / "nope.onnx")), "no such file", "nope.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(2048))
    assert_one_line_error(cli("compare", str(junk), str(small_files["res"]), "--json"), "junk.onnx")
    out = tmp_path / "diff.svg"
    assert_one_line_error(cli("draw", "--diff", str(tmp_path / "gone.onnx"), str(small_files["res"]), "-o", str(out)), "gone.onnx")
    assert_one_line_error(cli("draw", "--diff", str(small_files["plain"]), str(small_files["res"]), "-o", str(tmp_path / "d.mmd")), "--diff")
    assert not out.exists() and not (tmp_path / "d.mmd").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["junk.onnx"]


def test_draw_diff_colours_the_layers_b_adds(small_files: dict[str, Path], tmp_path: Path) -> None:
    from modelmap.exporters.diff import MARK_LOOK

    out = tmp_path / "diff.dot"
    r = cli("draw", "--diff", str(small_files["plain"]), str(small_files["res"]), "-o", str(out))
    assert r.returncode == 0, r.stderr
    dot = out.read_text()
    added_fill = MARK_LOOK["added"][0]
    marked = [line for line in dot.splitlines() if added_fill in line and line.startswith("n")]
    assert len(marked) == 1  # the Add
    node_id = marked[0].split()[0]
    assert sum(line.startswith(f"{node_id} [") for line in dot.splitlines()) == 1  # the box itself is marked, once
    assert "shape=circle" in marked[0]  # drawn as the merge it is, only coloured
    assert "added in B (1)" in dot and "changed in B (0)" in dot
    svg = tmp_path / "diff.svg"
    assert cli("draw", "--diff", str(small_files["plain"]), str(small_files["res"]), "-o", str(svg)).returncode == 0
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and added_fill in text


def test_draw_diff_marks_a_collapsed_module_with_new_layers_as_changed(small_files: dict[str, Path], tmp_path: Path) -> None:
    """At a depth where the residual block is one box, that box is changed, not wholly new."""
    from modelmap.exporters.diff import MARK_LOOK

    a = mm.analyze(str(small_files["res"]))
    depth1 = [layer.name for layer in a.layers if len(layer.path) > 1]
    assert depth1, "the small residual model has a nested module"
    out = tmp_path / "diff.dot"
    r = cli("draw", "--diff", str(small_files["plain"]), str(small_files["res"]), "-o", str(out), "--depth", "1")
    assert r.returncode == 0, r.stderr
    dot = out.read_text()
    assert "added in B (0)" in dot and "changed in B (1)" in dot
    assert sum(MARK_LOOK["changed"][0] in line for line in dot.splitlines() if line.startswith("n")) == 1


def test_api_takes_models_and_checks_the_format_first(small_files: dict[str, Path], tmp_path: Path) -> None:
    c = mm.compare(onnx.load(small_files["keras_res"]), str(small_files["res"]))
    assert c.same and c.a.framework == "keras" and c.b.framework == "pytorch"
    with pytest.raises(mm.InputError, match="draw --diff cannot write"):
        mm.draw_diff(str(tmp_path / "never-opened.onnx"), str(small_files["res"]), tmp_path / "out.json")
    written = mm.draw_diff(str(small_files["plain"]), str(small_files["res"]), tmp_path / "d.gv", direction="LR")
    assert written == [tmp_path / "d.gv"] and "rankdir=LR" in written[0].read_text()


# --------------------------------------------------------------------------- the seed models


@pytest.fixture(scope="module")
def seeds(fixture_cache: Any) -> dict[str, Any]:
    """The seed networks, converted once per run: PyTorch residual and plain."""
    pytest.importorskip("torch")
    out = {
        "torch_resnet": fixture_cache.analysis("torch", "seed_resnet"),
        "torch_plain": fixture_cache.analysis("torch", "seed_plain"),
    }
    return out


@pytest.fixture(scope="module")
def keras_resnet(fixture_cache: Any) -> Any:
    pytest.importorskip("tensorflow")
    return fixture_cache.analysis("keras", "seed_resnet")


@pytest.mark.torch
def test_seed_resnet_against_its_plain_twin(seeds: dict[str, Any]) -> None:
    c = compare(seeds["torch_resnet"], seeds["torch_plain"])
    assert not c.same
    assert len(c.skips_only_in_a) == 14 and c.skips_only_in_b == ()
    assert sorted(k for k, _, _ in c.skips_only_in_a).count("projection") == 3
    # exactly the 14 Adds and the 3 projection shortcuts are what the plain twin lacks
    removed = sorted(ch.a.signature.split()[0] for ch in c.removed)
    assert removed == ["conv"] * 3 + ["merge:Add"] * 14, c.summary()
    assert c.added == () and c.changed == ()
    assert all("shortcut" in ch.a.layer for ch in c.removed if ch.a.kind == "conv")
    # depth: the Adds lengthen the longest path; both have 30 weight layers on it
    assert c.a.depth - c.b.depth == 14
    assert c.a.weight_depth == c.b.weight_depth == 30
    text = c.summary()
    assert f"depth: {c.a.depth} vs {c.b.depth} units on the longest path; 30 vs 30 weight layers" in text
    assert "skip connections only in A: 14" in text


@pytest.mark.torch
def test_seed_resnet_equals_itself(seeds: dict[str, Any]) -> None:
    assert compare(seeds["torch_resnet"], seeds["torch_resnet"]).same
    assert compare(seeds["torch_plain"], seeds["torch_plain"]).same


@pytest.mark.torch
@pytest.mark.keras
def test_keras_seed_resnet_equals_its_pytorch_twin(seeds: dict[str, Any], keras_resnet: Any) -> None:
    assert keras_resnet.framework == "keras" and seeds["torch_resnet"].framework == "pytorch"
    c = compare(keras_resnet, seeds["torch_resnet"])
    assert c.same, c.summary()
    assert c.to_dict()["same"] is True
    # and the Keras residual network differs from the PyTorch plain twin the same way
    d = compare(keras_resnet, seeds["torch_plain"])
    assert not d.same and len(d.skips_only_in_a) == 14 and len(d.removed) == 17
