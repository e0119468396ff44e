"""The Netron-ready ONNX of real PyTorch and Keras fixtures: nested functions that onnxruntime
runs to the flat model's outputs, labels distinct as Netron cuts them, dynamo's stack trace
kept. The viewers themselves are driven in ``test_viewers.py``."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest

from modelmap.exporters import DrawOptions, generate
from modelmap.exporters._netron_names import netron_label

def _drawn(a: Any, flat: bool = False) -> onnx.ModelProto:
    out = onnx.load_from_string(generate(a, "onnx", DrawOptions(flat=flat)))
    onnx.checker.check_model(out, full_check=True)
    return out


def _run(model: onnx.ModelProto) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = (rng.integers(0, 10, shape) if "int" in i.type else rng.standard_normal(shape)).astype(
            np.int64 if "int" in i.type else np.float32)
    return sess.run(None, feeds)


def _graphs(model: onnx.ModelProto) -> list[tuple[str, list[onnx.NodeProto]]]:
    return [("main", list(model.graph.node))] + [(f.name, list(f.node)) for f in model.functions]


def _assert_labels_distinct(model: onnx.ModelProto) -> None:
    for where, nodes in _graphs(model):
        labels = [netron_label(n.name) for n in nodes]
        assert len(set(labels)) == len(labels), (where, labels)


@pytest.mark.torch
def test_gpt2_nests_shared_blocks_and_keeps_the_stack_trace(fixture_cache) -> None:
    pytest.importorskip("torch")
    a = fixture_cache.analysis("torch", "gpt2_tiny")
    out = _drawn(a)
    for x, y in zip(_run(a.model), _run(out), strict=True):
        assert np.array_equal(x, y)
    _assert_labels_distinct(out)
    assert [n.name for n in out.graph.node] == ["transformer", "lm_head"]
    funcs = {f.name: f for f in out.functions}
    gpt2 = {n.name: n for n in funcs[out.graph.node[0].op_type].node}
    assert gpt2["h.0"].op_type == gpt2["h.1"].op_type  # two identical blocks, one function
    block = funcs[gpt2["h.0"].op_type]
    assert [n.name for n in block.node] == ["ln_1", "attn", "add", "ln_2", "mlp", "add_1"]
    calls = {n.name: n for n in block.node if n.domain == "modelmap"}
    assert calls["attn"].doc_string == "A GPT2Attention." and calls["mlp"].doc_string == "A GPT2MLP."
    assert "module" not in {p.key for n in calls.values() for p in n.metadata_props}  # shared: no instance names
    traces = [p.value for _, nodes in _graphs(out) for n in nodes for p in n.metadata_props
              if p.key == "pkg.torch.onnx.stack_trace"]
    assert traces and any("torch_models.py" in t or "modeling_gpt2.py" in t for t in traces)
    props = {p.key: p.value for p in out.metadata_props}
    assert out.producer_name == "modelmap" and props["converted_from"] == "PyTorch (torch.onnx dynamo)"
    assert "modelmap.layers" not in props
    # metadata keys stay distinct where Netron's sidebar cuts them (about 15 characters)
    for _, nodes in _graphs(out):
        for n in nodes:
            keys = [p.key[:15] for p in n.metadata_props]
            assert len(set(keys)) == len(keys), keys


@pytest.mark.keras
def test_keras_small_cnn_nested_and_flat_compute_the_same(fixture_cache) -> None:
    pytest.importorskip("tensorflow")
    a = fixture_cache.analysis("keras", "small_cnn")
    flat, nested = _drawn(a, flat=True), _drawn(a)
    before = _run(a.model)
    for model in (flat, nested):
        for x, y in zip(before, _run(model), strict=True):
            assert np.array_equal(x, y)
        _assert_labels_distinct(model)
    layers = [ly.name for ly in a.layers if str(ly.kind) not in ("input", "output") and ly.ops]
    assert [n.name for n in nested.graph.node] == layers  # one node per Keras layer, named as in summary()
    assert not flat.functions and len(flat.graph.node) == len(a.model.graph.node)
    props = {p.key: p.value for p in nested.metadata_props}
    assert props["converted_from"].startswith("Keras (")


def test_netron_names_doctests() -> None:
    import doctest

    from modelmap.exporters import _netron_names

    result = doctest.testmod(_netron_names)
    assert result.attempted > 0 and result.failed == 0
