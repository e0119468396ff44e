"""The transformers zoo (fixtures/transformers_zoo.py): dynamo route, numerics, names.

Every architecture is converted once per test run, shared with the other modules and
workers (the ``zoo`` entries of ``tests/fixture_cache.py``).
For each: the dynamo exporter handles it (no TorchScript-fallback warning), onnxruntime
gives the eager model's outputs within 1e-4, and every module whose ``forward`` ran
keeps its name in the analysis (as a layer or a module of the tree), and its skip
connections and repeated blocks are exactly the zoo's ``EXPECTED`` (read from the
modeling source). T5 and Swin (attention with a bias, see :mod:`modelmap.converters._torch_compat`)
and the mixture-of-experts models are the ones the dynamo route needed help with; a
small model pins down the grouped-mm translation on an empty group and on rows past
the last one.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")

from modelmap.converters import ConvertOptions, convert  # noqa: E402
from modelmap.core import analyze_onnx  # noqa: E402
from torch.utils import _pytree  # noqa: E402

from fixtures import transformers_zoo as zoo  # noqa: E402

pytestmark = pytest.mark.torch

NAMES = list(zoo.FACTORIES)


@dataclass
class Converted:
    """One zoo model: its input, the modules that ran and the eager outputs, its ONNX and analysis."""

    model: Any
    example: dict[str, Any]
    ran: set[str]
    eager: list[np.ndarray]
    proto: Any
    stderr: str
    analysis: Any


def modules_that_ran(model: Any, example: dict[str, Any]) -> tuple[set[str], list[np.ndarray]]:
    """Qualified names of the modules whose ``forward`` ran, and the eager outputs."""
    ran: set[str] = set()
    hooks = [m.register_forward_hook(lambda *_a, n=n: ran.add(n)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            out = model(**example)
    finally:
        for h in hooks:
            h.remove()
    return ran, [t.numpy() for t in _pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def convert_quietly(model: Any, example: Any) -> tuple[Any, str]:
    """Convert; return the proto and what the converter printed on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        proto = convert(model, example, ConvertOptions())
    return proto, err.getvalue()


def onnx_outputs(proto: Any, feed: dict[str, Any]) -> list[np.ndarray]:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert len(names) == len(feed), names
    return session.run(None, {n: v.numpy() for n, v in zip(names, feed.values())})


def assert_close(expected: list[np.ndarray], got: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert e.shape == g.shape
        assert float(np.abs(e - g).max()) <= 1e-4


@pytest.fixture(scope="module")
def converted(fixture_cache: Any) -> Any:
    """``converted(name)``: the zoo model built here, run, and its shared conversion analysed (see Converted)."""
    cache: dict[str, Converted] = {}

    def get(name: str) -> Converted:
        if name not in cache:
            c = fixture_cache.converted("zoo", name)
            ran, eager = modules_that_ran(c.model, c.example)
            stderr = fixture_cache.stderr("zoo", name)
            cache[name] = Converted(c.model, c.example, ran, eager, c.proto, stderr, analyze_onnx(c.proto))
        return cache[name]

    return get


def test_the_zoo_covers_the_architecture_families() -> None:
    assert len(NAMES) >= 25
    assert set(zoo.EXPECTED) == set(NAMES)
    for family in ("gpt2", "falcon", "albert", "t5", "whisper", "swin", "wav2vec2", "mamba", "mixtral", "qwen2_moe"):
        assert family in NAMES
    assert all(e.reason and e.block_reason for e in zoo.EXPECTED.values())


@pytest.mark.parametrize("name", NAMES)
def test_converts_on_the_dynamo_route_and_matches_onnxruntime(converted: Any, name: str) -> None:
    c = converted(name)
    assert "warning" not in c.stderr, c.stderr
    assert c.analysis.converter == "torch.onnx dynamo"
    assert_close(c.eager, onnx_outputs(c.proto, c.example))


@pytest.mark.parametrize("name", NAMES)
def test_every_module_that_ran_keeps_its_name(converted: Any, name: str) -> None:
    a = converted(name).analysis
    names = {layer.name for layer in a.layers} | {path[-1] for path in a.tree if path}
    assert sorted(converted(name).ran - names) == []


# ----------------------------------------------------------------------------- what _torch_compat fixes


class GroupedExperts(torch.nn.Module):
    """Rows sorted by expert times each expert's weight: transformers' grouped-mm fallback op."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(4, 6, 5))

    def forward(self, x: Any, offs: Any) -> Any:
        return torch.ops.transformers.grouped_mm_fallback(x, self.weight, offs) * 2


def test_grouped_mm_translation_matches_the_fallback_with_empty_groups_and_tail_rows() -> None:
    import transformers.integrations.moe  # noqa: F401  (registers the op)

    x = torch.randn(9, 6, generator=torch.Generator().manual_seed(1))
    offs = torch.tensor([2, 2, 5, 7], dtype=torch.int32)  # expert 1 gets no row; rows 7-8 are past the end
    model = GroupedExperts().eval()
    proto, stderr = convert_quietly(model, (x, offs))
    assert "warning" not in stderr
    with torch.no_grad():
        expected = model(x, offs).numpy()
    assert not expected[7:].any()
    assert_close([expected], onnx_outputs(proto, {"x": x, "offs": offs}))


# ----------------------------------------------------------------------------- skips as the source has them


@pytest.mark.parametrize("name", NAMES)
def test_skip_connections_equal_those_read_from_the_modeling_source(converted: Any, name: str) -> None:
    """Each kind's count equals the zoo's ``EXPECTED`` (identity, projection, concat, gate), whose
    reasons cite the modeling source: cross-attention residuals count, parallel-branch sums and
    partial-rotary concatenations do not."""
    found = [s.kind.value for s in converted(name).analysis.skips]
    kinds = ("identity", "projection", "concat", "gate")
    assert tuple(found.count(k) for k in kinds) == zoo.EXPECTED[name].skips, converted(name).analysis.skips


# ----------------------------------------------------------------------------- repeated blocks


@pytest.mark.parametrize("name", NAMES)
def test_repeated_blocks_are_those_the_source_implies(converted: Any, name: str) -> None:
    """Each zoo model's blocks, as (parent module, count), are exactly EXPECTED's; ALBERT's
    is one shared module, T5's first block of each stack has its extra layers named."""
    want = zoo.EXPECTED[name]
    blocks = converted(name).analysis.blocks
    assert sorted((".".join(b.parent[-1:]), b.count) for b in blocks) == sorted(want.blocks)
    assert [b.shared for b in blocks] == [want.shared] * len(blocks)
    assert [bool(b.first_extra) for b in blocks] == [want.first_differs] * len(blocks)
    if want.first_differs:
        assert {x.rsplit(".", 1)[-1] for b in blocks for x in b.first_extra} == {"relative_attention_bias"}
