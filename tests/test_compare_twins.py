"""compare on twins: one architecture written in PyTorch and Keras compares "same"; a one-layer
change names exactly that layer; lowerings of one computation compare equal, and near
misses of each do not.

Small ONNX graphs built with onnx.helper test each lowering (global pooling, Flatten and
Reshape, Gemm and MatMul + Add, fused activations, sibling order); small PyTorch modules
test attention; the twins of ``fixtures/twins.py`` (ResNet-18 at 64x64, a 2-layer pre-LN
encoder), converted once per run into the fixture cache, test the whole.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from filelock import FileLock
from modelmap.core import analyze_onnx
from modelmap.core.compare import compare, profile
from modelmap.core.kinds import LayerKind
from onnx import TensorProto, helper, numpy_helper

import modelmap as mm
from modelmap import _metadata as md
from tests.fixture_cache import ROOT, convert_fixture, source_hash
from tests.helpers import cli

# --------------------------------------------------------------------------- small graphs

_RNG = np.random.default_rng(0)


def _w(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array((_RNG.standard_normal(shape) * 0.1).astype(np.float32), name)


def _ints(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def _op(op: str, ins: list[str], out: str, ns: str = "", cls: str = "", **attrs: Any) -> onnx.NodeProto:
    """One op; ``ns`` the layer path (``""``: a functional op of the model itself)."""
    n = helper.make_node(op, ins, [out], name=f"{ns}/{op}_{out}", **attrs)
    if ns:
        md.annotate_node(n, ns.split("/"), (cls or op).split("/"))
    return n


def _analysis(nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto], x: list[int], y: list[int]) -> Any:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y)], inits,
    )  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    md.set_model_info(m, "onnx", "test", None)
    onnx.checker.check_model(m, full_check=True)
    return analyze_onnx(m)


_CONV = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
_STEM_W = [_w("cw", 4, 3, 3, 3), _w("cb", 4)]


def _cnn(head: list[onnx.NodeProto], inits: list[onnx.TensorProto], y: list[int], act: str = "Relu", fused: bool = False) -> Any:
    """Conv(4) and an activation (separate, or fused into the conv's layer), then ``head`` reading ``a``."""
    nodes = [_op("Conv", ["x", "cw", "cb"], "c", "conv", "Conv2d", **_CONV)]
    nodes.append(_op(act, ["c"], "a", "conv" if fused else "act", "Conv2d" if fused else act))
    return _analysis(nodes + head, _STEM_W + inits, [1, 3, 8, 8], y)


def _fc(src: str) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    return [_op("Gemm", [src, "fw", "fb"], "y", "fc", "Linear", transB=1)], [_w("fw", 10, 4), _w("fb", 10)]


def _pool_head(kind: str) -> Any:
    """The CNN with a global pooling head written three ways."""
    fc, fc_w = _fc("p")
    if kind == "gap":  # Keras GlobalAveragePooling2D: GlobalAveragePool + Squeeze in one layer
        head = [_op("GlobalAveragePool", ["a"], "g", "gap", "GlobalAveragePooling2D"),
                _op("Squeeze", ["g", "sq"], "p", "gap", "GlobalAveragePooling2D")]  # fmt: skip
        return _cnn(head + fc, fc_w + [_ints("sq", [2, 3])], [1, 10])
    op, axes = {"mean": ("ReduceMean", [2, 3]), "max": ("ReduceMax", [2, 3]), "channels": ("ReduceMean", [1])}[kind]
    head = [_op(op, ["a", "axes"], "m", keepdims=1), _op("Flatten", ["m"], "p", axis=1)]
    if kind == "channels":  # a mean over channels, then a Linear over 64 pixels
        fc = [_op("Gemm", ["p", "fw64", "fb"], "y", "fc", "Linear", transB=1)]
        fc_w = [_w("fw64", 10, 64), _w("fb", 10)]
    return _cnn(head + fc, fc_w + [_ints("axes", axes)], [1, 10])


def test_functional_average_pool_and_flatten_equal_global_average_pooling() -> None:
    torch_like, keras_like = _pool_head("mean"), _pool_head("gap")
    c = compare(torch_like, keras_like)
    assert c.same, c.summary()
    sigs = [u.signature for u in profile(torch_like).units]
    assert "pool:GlobalAveragePool k- s- (4)" in sigs and not any(s.startswith("reshape") for s in sigs)


def test_near_misses_of_global_pooling_differ() -> None:
    c = compare(_pool_head("max"), _pool_head("gap"))
    assert not c.same
    assert [(ch.op, ch.a.signature, ch.b.signature) for ch in c.changes] == [
        ("changed", "pool:GlobalMaxPool k- s- (4)", "pool:GlobalAveragePool k- s- (4)")
    ]
    over_channels = profile(_pool_head("channels"))
    assert not compare(_pool_head("channels"), _pool_head("mean")).same
    assert not any(u.kind is LayerKind.POOL for u in over_channels.units)


def _flat_head(how: str) -> Any:
    fc, fc_w = _fc("f")
    fc_w[0] = _w("fw", 10, 256)
    if how == "flatten":
        return _cnn([_op("Flatten", ["a"], "f", "flatten", "Flatten", axis=1)] + fc, fc_w, [1, 10])
    shape = [1, -1] if how == "reshape" else [1, 2, 128]
    nodes = [_op("Reshape", ["a", "shape"], "f", "reshape", "Reshape")]
    if how == "reshape":
        return _cnn(nodes + fc, fc_w + [_ints("shape", shape)], [1, 10])
    nodes.append(_op("MatMul", ["f", "mw"], "y", "fc", "Linear"))
    return _cnn(nodes, [_ints("shape", shape), _w("mw", 128, 10)], [1, 2, 10])


def test_flatten_equals_a_reshape_to_the_same_shape_and_not_to_another() -> None:
    assert compare(_flat_head("flatten"), _flat_head("reshape")).same
    c = compare(_flat_head("flatten"), _flat_head("other"))
    assert not c.same
    assert ("flatten", "reshape") in [(ch.a.layer, ch.b.layer) for ch in c.changed]


def _linear(how: str, width: int = 10) -> Any:
    flat = [_op("Flatten", ["a"], "f", "flatten", "Flatten", axis=1)]
    w, b = _w("w", width, 256), _w("b", width)
    if how == "gemm":
        return _cnn(flat + [_op("Gemm", ["f", "w", "b"], "y", "fc", "Linear", transB=1)], [w, b], [1, width])
    wt = numpy_helper.from_array(numpy_helper.to_array(w).T.copy(), "wt")
    ns = "dense" if how == "one layer" else ""  # Keras Dense, or `x @ W + b` written in forward
    nodes = [_op("MatMul", ["f", "wt"], "mm", ns, "Dense"), _op("Add", ["mm", "b"], "y", ns, "Dense")]
    return _cnn(flat + nodes, [wt, b], [1, width])


def test_linear_equals_matmul_plus_add() -> None:
    gemm = _linear("gemm")
    assert compare(gemm, _linear("functional")).same, compare(gemm, _linear("functional")).summary()
    assert compare(gemm, _linear("one layer")).same
    functional = profile(_linear("functional"))
    assert [u.members for u in functional.units if u.kind is LayerKind.LINEAR] == [("matmul", "add")]
    c = compare(gemm, _linear("functional", width=12))
    assert not c.same and [(ch.a.layer, ch.b.layer) for ch in c.changes] == [("fc", "matmul")]


def test_fused_and_separate_activations_are_equal_and_a_different_one_is_not() -> None:
    fc, fc_w = _fc("p")
    head = [_op("GlobalAveragePool", ["a"], "g", "gap", "Pool"), _op("Flatten", ["g"], "p", "gap", "Pool", axis=1)]
    separate = _cnn(head + fc, fc_w, [1, 10])
    fused = _cnn(head + fc, fc_w, [1, 10], fused=True)
    assert compare(separate, fused).same
    assert [u.signature for u in profile(fused).units if u.fused] == ["act:relu"]
    other = _cnn(head + fc, fc_w, [1, 10], act="Sigmoid", fused=True)
    c = compare(separate, other)
    assert not c.same
    assert [(ch.a.layer, ch.b.layer, ch.b.fused, ch.b.signature) for ch in c.changes] == [("act", "conv", True, "act:sigmoid")]


def _bias_or_table(shape: tuple[int, ...]) -> Any:
    """x (1, 5, 8) @ W + a constant of ``shape``: a bias (8,), or a table (5, 8) added to every row."""
    w = _w("w", 8, 8)
    nodes = [_op("MatMul", ["x", "w"], "m"), _op("Add", ["m", "c"], "y")]
    return _analysis(nodes, [w, _w("c", *shape)], [1, 5, 8], [1, 5, 8])


def test_a_table_added_after_a_matmul_is_not_its_bias() -> None:
    bias, table = profile(_bias_or_table((8,))), profile(_bias_or_table((5, 8)))
    assert [u.kind.value for u in bias.units] == ["input", "linear"]
    assert [u.kind.value for u in table.units] == ["input", "linear", "merge"]
    assert not compare(_analysis([_op("MatMul", ["x", "w"], "y")], [_w("w", 8, 8)], [1, 5, 8], [1, 5, 8]),
                       _bias_or_table((5, 8))).same  # fmt: skip


def _norm(how: str) -> Any:
    """A norm over the last axis of (1, 5, 8): the ONNX op, or written out as tf2onnx writes Keras'."""
    ns, cls = "norm", "LayerNormalization"
    gamma, beta, eps = _w("gamma", 8), _w("beta", 8), numpy_helper.from_array(np.array(1e-5, np.float32), "eps")
    if how == "op":
        return _analysis([_op("LayerNormalization", ["x", "gamma", "beta"], "y", ns, cls, axis=-1)], [gamma, beta], [1, 5, 8], [1, 5, 8])
    centred = how == "layer"
    nodes = [_op("GlobalAveragePool", ["x"], "mean", ns, cls), _op("Sub", ["x", "mean"], "d", ns, cls)] if centred else []
    d = "d" if centred else "x"
    nodes += [
        _op("Mul", [d, d], "sq", ns, cls), _op("GlobalAveragePool", ["sq"], "var", ns, cls),
        _op("Add", ["var", "eps"], "ve", ns, cls), _op("Sqrt", ["ve"], "sd", ns, cls),
        _op("Reciprocal", ["sd"], "inv", ns, cls), _op("Mul", [d, "inv"], "z", ns, cls),
        _op("Mul", ["z", "gamma"], "zg", ns, cls), _op("Add", ["zg", "beta"], "y", ns, cls),
    ]  # fmt: skip
    return _analysis(nodes, [gamma, beta, eps], [1, 5, 8], [1, 5, 8])


def test_a_normalisation_written_out_equals_its_op() -> None:
    assert [u.signature for u in profile(_norm("layer")).units][1] == "norm:LayerNormalization"
    assert compare(_norm("op"), _norm("layer")).same
    c = compare(_norm("op"), _norm("rms"))
    assert not c.same
    assert [(ch.a.signature, ch.b.signature) for ch in c.changes] == [("norm:LayerNormalization", "norm:RMSNormalization")]


def _residual(shortcut_first: bool, kernel: int = 3) -> Any:
    """conv-BN-ReLU-conv-BN + conv1x1-BN, Add, ReLU; the shortcut's ops listed first or last."""
    p = "b" if shortcut_first else "k"  # other layer names, as another framework would give

    def bn(src: str, out: str, ns: str) -> onnx.NodeProto:
        return _op("BatchNormalization", [src, "s", "t", "mu", "var"], out, ns, "BatchNorm")

    body = [
        _op("Conv", ["x", "w1", "b1"], "c1", f"{p}conv1", "Conv", **_CONV), bn("c1", "n1", f"{p}bn1"),
        _op("Relu", ["n1"], "r1", f"{p}relu1", "ReLU"),
        _op("Conv", ["r1", "w2", "b1"], "c2", f"{p}conv2", "Conv", pads=[kernel // 2] * 4, kernel_shape=[kernel] * 2),
        bn("c2", "n2", f"{p}bn2"),
    ]  # fmt: skip
    shortcut = [_op("Conv", ["x", "ws", "b1"], "cs", f"{p}short", "Conv", kernel_shape=[1, 1]), bn("cs", "ns", f"{p}bns")]
    tail = [_op("Add", ["n2", "ns"], "sum", f"{p}add", "Add"), _op("Relu", ["sum"], "y", f"{p}relu2", "ReLU")]
    inits = [_w("w1", 4, 4, 3, 3), _w("w2", 4, 4, kernel, kernel), _w("ws", 4, 4, 1, 1), _w("b1", 4)]
    inits += [_w("s", 4), _w("t", 4), _w("mu", 4), numpy_helper.from_array(np.full(4, 0.8, np.float32), "var")]
    return _analysis((shortcut + body if shortcut_first else body + shortcut) + tail, inits, [1, 4, 8, 8], [1, 4, 8, 8])


def test_alignment_does_not_depend_on_the_order_siblings_were_made() -> None:
    first, last = _residual(True), _residual(False)
    assert len(first.skips) == len(last.skips) == 1
    assert compare(first, last).same
    for a, b in ((first, _residual(False, kernel=5)), (last, _residual(True, kernel=5)), (_residual(True, 5), last)):
        c = compare(a, b)
        assert not c.same
        assert [(ch.op, ch.a.layer[1:], ch.b.layer[1:]) for ch in c.changes] == [("changed", "conv2", "conv2")], c.summary()
        assert not (c.connections_only_in_a or c.connections_only_in_b or c.skips_only_in_a or c.skips_only_in_b)


# --------------------------------------------------------------------------- attention (small PyTorch modules)


def _attention_models() -> dict[str, tuple[Any, Any]]:
    """One attention layer (width 8) written five ways, then a Linear; and near misses."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Hand(nn.Module):
        def __init__(self, heads: int = 2, how: str = "manual") -> None:
            super().__init__()
            self.q, self.k, self.v, self.o = (nn.Linear(8, 8) for _ in range(4))
            self.heads, self.how = heads, how
            self.head = nn.Linear(8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, s, _ = x.shape
            q, k, v = (f(x).view(b, s, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
            if self.how == "sdpa":
                y = F.scaled_dot_product_attention(q, k, v)
            else:
                scores = q @ k.transpose(-2, -1)
                if self.how != "unscaled":
                    scores = scores / math.sqrt(q.shape[-1])
                if self.how == "causal":
                    scores = scores + torch.full((s, s), float("-inf")).triu(1)
                y = scores.softmax(-1) @ v
            return self.head(self.o(y.transpose(1, 2).reshape(b, s, 8)))

    class Mha(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.mha(x, x, x, need_weights=False)[0])

    made = {
        "manual": Hand(), "sdpa": Hand(how="sdpa"), "mha": Mha(),
        "4 heads": Hand(heads=4), "unscaled": Hand(how="unscaled"), "causal": Hand(how="causal"),
    }  # fmt: skip
    torch.manual_seed(0)
    x = torch.randn(1, 5, 8)
    return {k: (m.eval(), x) for k, m in made.items()}


@pytest.fixture(scope="module")
def attention() -> dict[str, Any]:
    pytest.importorskip("torch")
    return {k: analyze_onnx(convert_fixture(*made)) for k, made in _attention_models().items()}


@pytest.mark.torch
def test_attention_by_hand_equals_the_frameworks_attention(attention: dict[str, Any]) -> None:
    hand = profile(attention["manual"])
    (unit,) = [u for u in hand.units if u.kind is LayerKind.ATTENTION]
    assert unit.signature == "attention dk4 qkv24 o8 scaled"
    assert {"q", "k", "v", "o", "softmax"} <= set(unit.members)
    assert [u.kind.value for u in hand.units] == ["input", "attention", "linear"]
    for other in ("sdpa", "mha"):
        c = compare(attention["manual"], attention[other])
        assert c.same, (other, c.summary())


@pytest.mark.torch
@pytest.mark.parametrize(("near_miss", "signature"), [
    ("4 heads", "attention dk2 qkv24 o8 scaled"),
    ("unscaled", "attention dk4 qkv24 o8"),
    ("causal", "attention dk4 qkv24 o8 scaled masked"),
])  # fmt: skip
def test_attention_near_misses_differ(attention: dict[str, Any], near_miss: str, signature: str) -> None:
    c = compare(attention["manual"], attention[near_miss])
    assert not c.same
    assert [(ch.op, ch.b.signature) for ch in c.changes] == [("changed", signature)], c.summary()
    # draw --diff colours every layer the attention unit stands for, and nothing else
    assert set(c.b_marks()) == set(c.changes[0].b.members) >= {"q", "k", "v", "o", "softmax"}


# --------------------------------------------------------------------------- the twins of fixtures/twins.py


def _twins_module() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("fixtures.twins")


@pytest.fixture(scope="module")
def twin(fixture_cache: Any) -> Callable[[str], Path]:
    """``name`` -> the ONNX file of ``fixtures/twins.py:name``, converted once into the fixture cache
    (keyed on the twins' source, the package's and the framework's versions)."""

    def get(name: str) -> Path:
        framework = "keras" if name.endswith("_keras") else "torch"
        pytest.importorskip("tensorflow" if framework == "keras" else "torch")
        text = (ROOT / "fixtures" / "twins.py").read_bytes()
        key = hashlib.sha256(source_hash(framework).encode() + text).hexdigest()[:16]
        path = fixture_cache.root / f"twins-{name}-{key}.onnx"
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                made = _twins_module().FACTORIES[name]()
                model, example = made if isinstance(made, tuple) else (made, None)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(convert_fixture(model, example).SerializeToString())
                os.replace(tmp, path)
        return path

    return get


def _compare(twin: Callable[[str], Path], a: str, b: str) -> Any:
    return mm.compare(str(twin(a)), str(twin(b)))


@pytest.mark.torch
@pytest.mark.keras
@pytest.mark.parametrize(("a", "b"), [
    ("resnet18_torch", "resnet18_keras"),
    ("encoder_torch", "encoder_keras"),
    ("encoder_torch_mha", "encoder_keras"),
    ("encoder_torch_sdpa", "encoder_keras"),
])  # fmt: skip
def test_twins_compare_same_in_the_cli_and_the_api(twin: Callable[[str], Path], a: str, b: str) -> None:
    c = _compare(twin, a, b)
    assert c.same, c.summary()
    assert (c.a.framework, c.b.framework) == ("pytorch", "keras")
    same_counts = ("units", "depth", "weight_depth", "skips", "skip_kinds")
    assert [c.a.summary_dict()[k] for k in same_counts] == [c.b.summary_dict()[k] for k in same_counts]
    text = cli("compare", str(twin(a)), str(twin(b)))
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == "same architecture"
    js = cli("compare", str(twin(b)), str(twin(a)), "--json")
    assert js.returncode == 0, js.stderr
    d = json.loads(js.stdout)
    assert d["same"] is True and d["added"] == d["removed"] == d["changed"] == []


@pytest.mark.torch
@pytest.mark.keras
def test_resnet18_twins_keep_every_layer_and_skip(twin: Callable[[str], Path]) -> None:
    """The ResNet-18 pair is equal unit by unit: 8 skips (3 projections), global average pooling."""
    c = _compare(twin, "resnet18_torch", "resnet18_keras")
    for p in (c.a, c.b):
        kinds = [u.kind.value for u in p.units]
        assert kinds.count("conv") == 20 and kinds.count("norm") == 20 and kinds.count("merge") == 8
        assert p.summary_dict()["skip_kinds"] == {"identity": 5, "projection": 3}
        assert "pool:GlobalAveragePool k- s- (512)" in p.signatures


@pytest.mark.torch
def test_the_encoder_twins_in_pytorch_are_equal(twin: Callable[[str], Path]) -> None:
    for other in ("encoder_torch_mha", "encoder_torch_sdpa"):
        assert _compare(twin, "encoder_torch", other).same


# mutation -> (kind of change, the layers of B it names); A is the unchanged twin
_MUTATIONS = {
    "resnet18_torch_kernel5": ("changed", ["layer2.0.conv2"]),
    "resnet18_torch_wide": ("changed", ["layer3.1.conv1"]),
    "resnet18_torch_deeper": ("added", [f"layer2.2.{n}" for n in ("conv1", "bn1", "relu", "conv2", "bn2")] + ["layer2.2/add", "layer2.2.relu#2"]),
    "resnet18_torch_maxpool": ("changed", ["reduce_max"]),
}


@pytest.mark.torch
@pytest.mark.parametrize("mutation", sorted(_MUTATIONS))
@pytest.mark.parametrize("base", ["resnet18_torch", pytest.param("resnet18_keras", marks=pytest.mark.keras)])
def test_a_one_layer_change_names_exactly_that_layer(twin: Callable[[str], Path], base: str, mutation: str) -> None:
    c = _compare(twin, base, mutation)
    op, layers = _MUTATIONS[mutation]
    assert not c.same
    assert {ch.op.value for ch in c.changes} == {op}, c.summary()
    assert [ch.b.layer for ch in c.changes] == layers, c.summary()
    assert not (c.connections_only_in_a or c.connections_only_in_b or c.skips_only_in_a)
    added_skips = [(k, m) for k, m, _ in c.skips_only_in_b]
    assert added_skips == ([("identity", "layer2.2/add")] if mutation.endswith("deeper") else [])
    assert c.summary().splitlines()[0] == "different architecture"


@pytest.mark.torch
@pytest.mark.keras
def test_a_different_activation_is_not_the_encoder_twin(twin: Callable[[str], Path]) -> None:
    c = _compare(twin, "encoder_torch_gelu", "encoder_keras")
    assert not c.same
    assert [(ch.a.layer, ch.a.signature, ch.b.signature) for ch in c.changes] == [
        ("layers.0.act", "act:gelu", "act:relu"), ("layers.1.act", "act:gelu", "act:relu")
    ]  # fmt: skip


@pytest.mark.torch
@pytest.mark.keras
def test_cli_compares_the_factories_themselves(twin: Callable[[str], Path]) -> None:
    """``modelmap compare fixtures/twins.py:encoder_torch fixtures/twins.py:encoder_keras``: the
    factory route (each model built and converted by the command)."""
    pytest.importorskip("tensorflow")
    r = cli("compare", "fixtures/twins.py:encoder_torch", "fixtures/twins.py:encoder_keras")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "same architecture"
    r = cli("compare", str(twin("encoder_torch_gelu")), str(twin("encoder_keras")), "--json")
    assert r.returncode == 1, r.stderr
    assert [ch["a"] for ch in json.loads(r.stdout)["changed"]] == ["layers.0.act", "layers.1.act"]
