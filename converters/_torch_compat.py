"""What the dynamo exporter needs beyond torch's own ONNX translations.

Mixture of experts. ``transformers`` (5.x) runs a sparse MoE layer's experts as two
grouped matrix products: the routed tokens, sorted by expert, times a
``(experts, in, out)`` weight, where ``offs`` holds each expert's cumulative row end.
While torch.export traces a float32 model it calls its own custom op
``transformers::grouped_mm_fallback`` (bfloat16 models call ``aten::_grouped_mm``),
for which torch has no ONNX translation: Mixtral, Qwen2-MoE, OLMoE and the like
failed, and the TorchScript fallback cannot trace them either. :func:`translations`
maps both ops to :func:`grouped_mm`, which works for any number of experts and
tokens: each row's expert is the number of group ends at or before it, that expert's
weight is gathered, and rows past the last end are zero (as in the fallback).

:func:`translations` is handed to ``torch.onnx.export(custom_translation_table=...)``
by :func:`modelmap.converters._torch_export.export_dynamo`. Nothing here imports
``transformers``: an op that is not registered (transformers not imported) is left out.

Attention. ``F.scaled_dot_product_attention`` on CPU is traced with the strides of
the flash kernel's output, so ``out.transpose(1, 2).reshape(b, s, -1)`` (as
``transformers``' sdpa attention writes it) is recorded as a ``view``; when the
exporter then decomposes the graph for ONNX, attention becomes its math form, whose
transposed output cannot be viewed: "Cannot view a tensor with shape ... and
strides ..." (T5, Swin, any model with an attention bias). :func:`math_attention`
makes the trace pick the math form from the start, so both steps agree. The ONNX
graph is the same: attention is translated to its math form either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

#: (namespace, op, overload) of the grouped matrix products, as torch.ops names them
GROUPED_MM_OPS = (("transformers", "grouped_mm_fallback", "default"), ("aten", "_grouped_mm", "default"))
_INT64 = 7  # onnx.TensorProto.INT64


def translations() -> dict[Any, Any]:
    """The custom translation table: every registered grouped-mm overload -> :func:`grouped_mm`.

    Returns
    -------
    dict
        ``torch._ops.OpOverload`` -> translation function; empty when no such op is
        registered (``transformers`` not imported, an old torch).
    """
    import torch

    table: dict[Any, Any] = {}
    for namespace, name, overload in GROUPED_MM_OPS:
        packet = getattr(getattr(torch.ops, namespace), name, None) if _has_op(torch, namespace, name) else None
        target = getattr(packet, overload, None) if packet is not None else None
        if target is not None:
            table[target] = grouped_mm
    return table


def _has_op(torch: Any, namespace: str, name: str) -> bool:
    """True if ``torch.ops.<namespace>.<name>`` is registered (asking does not create it)."""
    return bool(torch._C._dispatch_has_kernel(f"{namespace}::{name}"))


@contextlib.contextmanager
def math_attention() -> Iterator[None]:
    """While exporting: ``scaled_dot_product_attention`` traced as its math form (see above)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel([SDPBackend.MATH]):
        yield


def grouped_mm(mat_a: Any, mat_b: Any, offs: Any = None, bias: Any = None, out_dtype: Any = None) -> Any:
    """ONNX for ``grouped_mm(mat_a (M, K), mat_b (G, K, N), offs (G,))`` -> ``(M, N)``.

    ``out[r] = mat_a[r] @ mat_b[g(r)] (+ bias[g(r)])`` where ``g(r)`` counts the
    entries of ``offs`` that are ``<= r``; rows at or past ``offs[-1]`` are zero.
    Written with onnxscript ops; the exporter traces it once per call site.

    Raises
    ------
    NotImplementedError
        Without ``offs`` (a batched, not grouped, product) or with ``out_dtype``.
    """
    from onnxscript import opset18 as op

    if offs is None or out_dtype is not None:
        raise NotImplementedError("grouped_mm without offsets or with out_dtype has no ONNX translation here")
    axis0, axis1, last = (op.Constant(value_ints=[i]) for i in (0, 1, -1))
    rows = op.Range(
        op.Constant(value_int=0), op.Squeeze(op.Shape(mat_a, start=0, end=1), axis0), op.Constant(value_int=1)
    )
    ends = op.Cast(offs, to=_INT64)
    at_or_before = op.Cast(op.GreaterOrEqual(op.Unsqueeze(rows, last), ends), to=_INT64)  # (M, G)
    group = op.ReduceSum(at_or_before, last, keepdims=0)  # (M,)
    group = op.Min(group, op.Sub(op.Shape(mat_b, start=0, end=1), op.Constant(value_ints=[1])))
    product = op.MatMul(op.Unsqueeze(mat_a, axis1), op.Gather(mat_b, group, axis=0))  # (M, 1, N)
    out = op.Squeeze(product, axis1)
    if bias is not None:
        out = op.Add(out, op.Gather(bias, group, axis=0))
    inside = op.Less(rows, op.Gather(ends, op.Constant(value_int=-1), axis=0))
    return op.Where(op.Unsqueeze(inside, last), out, op.CastLike(op.Constant(value_float=0.0), out))
