"""Lowerings that compute the same thing, rewritten to one form before models are compared.

Frameworks and exporters write one computation in several ways: a bias add after a MatMul
or a Gemm, ``ReduceMean`` over the spatial axes or ``GlobalAveragePool``, a Flatten that
only drops unit dimensions, attention as a dozen ops or one layer. :func:`lower` rewrites a
*draft graph* of comparison units (one node per layer, or per activation split off a
layer; built by :mod:`modelmap.core.compare`) so that each such computation has one form:

1. **Linear = MatMul + Add.** A MatMul unit that reads a weight is a ``linear`` unit; an
   Add of a constant vector (a bias) whose only input is a linear unit, and which is that
   unit's only reader, joins it.
2. **Attention.** A softmax whose input comes from a MatMul of two computed tensors
   (scores) and whose output feeds another such MatMul (weights times values) is the core
   of an attention; with the projections that feed it only through reshapes, scales and
   bias adds, and the projection that reads its result through reshapes, it becomes one
   ``attention`` unit. A framework's attention layer is one already. Both are signed by
   what determines the math (:func:`attention_signature`): the per-head key width, the
   summed width of the input projections, the output projection's width, whether scores
   are scaled and whether anything but a scale (a mask) sits between scores and softmax.
3. **Global pooling.** ``ReduceMean``/``ReduceMax`` over every axis after batch and
   channel (ONNX's channels-first layout, which tf2onnx also writes for Keras' pooling
   layers) is ``GlobalAveragePool``/``GlobalMaxPool``. A reduction over other axes (the
   channels, or axes 1 and 2, which in channels-first are channels and height) is not.
4. **Normalisation written out.** A norm layer without an ONNX normalisation op (tf2onnx
   writes Keras' LayerNormalization as mean, variance and reciprocal square root) whose
   means are all over the last axis is ``LayerNormalization`` (with a centring Sub) or
   ``RMSNormalization`` (without).
5. **Reshapes that only add or drop extents of 1** (a Flatten of ``(1, 512, 1, 1)`` to
   ``(1, 512)``) are dropped.

Nothing here hides a difference in what is computed: max and average pooling, different
activations, heads or widths keep different signatures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx

from .kinds import LayerKind

K = LayerKind
#: kinds a walk from an attention's core to its projections may pass through
PLUMBING = frozenset({K.RESHAPE, K.ELEMENTWISE, K.MERGE})
#: reductions that are global pools when they cover every axis but batch and channel
GLOBAL_POOLS = {"ReduceMean": "GlobalAveragePool", "ReduceMax": "GlobalMaxPool"}
_WEIGHT_OPS = frozenset({"MatMul", "Gemm"})
_MEAN_OPS = frozenset({"ReduceMean", "GlobalAveragePool"})


@dataclass(frozen=True)
class Draft:
    """A comparison unit while it is being normalised (a node of the draft graph).

    ``layer`` is the name it shows as; ``members`` the analysis layers it stands for;
    ``path`` the module path they share; ``ops`` their ONNX ops (:class:`~.analysis.Op`);
    ``shape`` the output shape.
    """

    layer: str
    members: tuple[str, ...]
    path: tuple[str, ...]
    kind: LayerKind
    signature: str
    fused: bool
    ops: tuple[Any, ...]
    shape: tuple | None


def shape_key(shape: Sequence[Any] | None) -> str:
    """The layout-free form of an output shape: batch and unit extents dropped, the rest sorted.

    >>> shape_key((1, 64, 32, 32)) == shape_key(("batch", 32, 32, 64))
    True
    >>> shape_key((1, 512, 1, 1)) == shape_key((1, 512))
    True
    >>> shape_key(None)
    '?'
    """
    if shape is None:
        return "?"
    dims = [d if isinstance(d, int) else "?" for d in list(shape)[1:] if d != 1]
    known = sorted((d for d in dims if isinstance(d, int)), reverse=True)
    return "(" + ",".join(str(d) for d in known) + ",?" * (len(dims) - len(known)) + ")"


# --------------------------------------------------------------------------- the passes


def lower(g: nx.DiGraph, consts: Mapping[str, Any]) -> None:
    """Apply every rewrite of the module docstring to the draft graph ``g`` (node attribute
    ``d``: a :class:`Draft`), in place. ``consts`` maps the names of small constants (axes,
    scales) to their values as a flat list."""
    _linear_bias(g)
    if nx.is_directed_acyclic_graph(g):  # a module reused in a loop can make it cyclic
        _attention(g, consts)
    for n in list(g.nodes):
        d = g.nodes[n]["d"]
        if d.kind is K.REDUCE:
            g.nodes[n]["d"] = _global_pool(d, consts)
        elif d.kind is K.NORM:
            g.nodes[n]["d"] = _written_norm(d)
        elif d.kind is K.ATTENTION:
            g.nodes[n]["d"] = replace(d, signature=attention_signature(d.ops, consts, d.signature))
    _unit_reshapes(g)


def weight_ops(ops: Sequence[Any]) -> list[Any]:
    """The MatMul and Gemm ops among ``ops`` whose second input is a weight: an initializer,
    or made by one of ``ops`` from initializers only (a weight transposed on the fly)."""
    made = {t.name: o for o in ops for t in o.outputs}

    def weight(t: Any) -> bool:
        src = made.get(t.name)
        return t.initializer or (src is not None and bool(src.inputs) and all(i.initializer for i in src.inputs))

    return [o for o in ops if o.op_type in _WEIGHT_OPS and len(o.inputs) > 1 and weight(o.inputs[1])]


def _is_bias_add(d: Draft) -> bool:
    """An Add of a constant vector over the last axis (not of a table, like position embeddings)."""
    if d.kind is not K.MERGE or len(d.ops) != 1 or d.ops[0].op_type != "Add":
        return False
    const = [t for t in d.ops[0].inputs if t.initializer]
    return len(const) == 1 and const[0].shape is not None and all(x == 1 for x in const[0].shape[:-1])


def _linear_bias(g: nx.DiGraph) -> None:
    """Rule 1: weight-reading MatMul units are linear; their bias Add joins them."""
    for n in list(g.nodes):
        if n not in g:
            continue
        d = g.nodes[n]["d"]
        if d.kind is K.MATMUL and not d.fused and weight_ops(d.ops):
            g.nodes[n]["d"] = d = replace(d, kind=K.LINEAR, signature=f"linear {shape_key(d.shape)}")
        if d.kind is not K.LINEAR or d.fused:
            continue
        succ = list(g.successors(n))
        if len(succ) == 1 and list(g.predecessors(succ[0])) == [n] and _is_bias_add(g.nodes[succ[0]]["d"]):
            add = g.nodes[succ[0]]["d"]
            _merge(g, [n, succ[0]], n, replace(d, members=d.members + add.members, ops=d.ops + add.ops, shape=add.shape))


def _merge(g: nx.DiGraph, nodes: Iterable[Any], keep: Any, draft: Draft) -> None:
    """Replace ``nodes`` by the one node ``keep`` carrying ``draft``; outside edges stay."""
    group = set(nodes)
    preds = {p for n in group for p in g.predecessors(n)} - group
    succs = {s for n in group for s in g.successors(n)} - group
    g.remove_nodes_from(group - {keep})
    g.remove_edges_from([(p, keep) for p in list(g.predecessors(keep))] + [(keep, s) for s in list(g.successors(keep))])
    g.add_edges_from((p, keep) for p in preds)
    g.add_edges_from((keep, s) for s in succs)
    g.nodes[keep]["d"] = draft


def _global_pool(d: Draft, consts: Mapping[str, Any]) -> Draft:
    """Rule 3."""
    if len(d.ops) != 1 or d.ops[0].op_type not in GLOBAL_POOLS:
        return d
    op = d.ops[0]
    rank = len(op.inputs[0].shape) if op.inputs[0].shape is not None else 0
    axes = op.attrs.get("axes")
    if axes is None and len(op.inputs) > 1:
        axes = consts.get(op.inputs[1].name)
    if rank < 3 or axes is None:
        return d
    axes = {int(a) % rank for a in axes}
    if axes != {*range(2, rank)}:
        return d
    name = GLOBAL_POOLS[op.op_type]
    return replace(d, kind=K.POOL, signature=f"pool:{name} k- s- {shape_key(d.shape)}")


def _written_norm(d: Draft) -> Draft:
    """Rule 4."""
    types = {o.op_type for o in d.ops}
    if any(t.endswith("Normalization") for t in types):
        return d
    means = [o for o in d.ops if o.op_type in _MEAN_OPS]
    if not means or not all(_over_last_axis(o) for o in means):
        return d
    name = "LayerNormalization" if "Sub" in types else "RMSNormalization"
    return replace(d, signature=f"norm:{name}")


def _over_last_axis(op: Any) -> bool:
    shape = op.inputs[0].shape
    if shape is None:
        return False
    if op.op_type == "GlobalAveragePool":
        return len(shape) == 3  # (N, C, L): the mean over L, the last axis
    axes = op.attrs.get("axes")
    return axes is not None and [int(a) % len(shape) for a in axes] == [len(shape) - 1]


def _without_units(shape: Sequence[Any] | None) -> list[Any] | None:
    return None if shape is None else [d for d in shape if d != 1]


def _unit_reshapes(g: nx.DiGraph) -> None:
    """Rule 5: bypass reshape units that only add or drop extents of 1."""
    for n in list(g.nodes):
        d = g.nodes[n]["d"]
        preds = list(g.predecessors(n))
        if d.kind is not K.RESHAPE or len(preds) != 1 or d.shape is None:
            continue
        if _without_units(g.nodes[preds[0]]["d"].shape) == _without_units(d.shape):
            succs = list(g.successors(n))
            g.remove_node(n)
            g.add_edges_from((preds[0], s) for s in succs)


# --------------------------------------------------------------------------- attention


def _single_pred(g: nx.DiGraph, n: Any) -> Any | None:
    preds = list(g.predecessors(n))
    return preds[0] if len(preds) == 1 else None


def _is_plumbing(d: Draft) -> bool:
    return d.kind in PLUMBING and not d.fused


def _is_product(d: Draft) -> bool:
    """A MatMul of two computed tensors (scores, or weights times values)."""
    return d.kind is K.MATMUL and not weight_ops(d.ops)


def _core(g: nx.DiGraph, s: Any) -> tuple[list[Any], Any] | None:
    """The units from the scores' MatMul to the values' MatMul around softmax ``s``, and the latter."""
    chain = [s]
    p = _single_pred(g, s)
    while p is not None and _is_plumbing(g.nodes[p]["d"]) and len(list(g.successors(p))) == 1:
        chain.append(p)
        p = _single_pred(g, p)
    if p is None or not _is_product(g.nodes[p]["d"]) or len(list(g.successors(p))) != 1:
        return None
    chain.append(p)
    x = s
    while True:
        succ = list(g.successors(x))
        if len(succ) != 1:
            return None
        x = succ[0]
        d = g.nodes[x]["d"]
        if _is_product(d):
            return chain, x
        if d.kind is not K.RESHAPE:
            return None
        chain.append(x)


def _projections_in(g: nx.DiGraph, start: Iterable[Any], region: set[Any]) -> None:
    """Add to ``region`` the plumbing behind ``start`` and the linear units it begins at."""
    stack = list(start)
    while stack:
        n = stack.pop()
        for p in g.predecessors(n):
            d = g.nodes[p]["d"]
            if p in region:
                continue
            if d.kind is K.LINEAR and not d.fused:
                region.add(p)
            elif _is_plumbing(d) and len(list(g.predecessors(p))) <= 1:
                region.add(p)
                stack.append(p)


def _projection_out(g: nx.DiGraph, last: Any, region: set[Any]) -> Any:
    """Extend ``region`` through reshapes after ``last`` to a linear unit; the region's output unit."""
    trail, x = [], last
    while True:
        succ = list(g.successors(x))
        if len(succ) != 1 or len(list(g.predecessors(succ[0]))) != 1:
            return last
        x = succ[0]
        d = g.nodes[x]["d"]
        if d.kind is K.LINEAR and not d.fused:
            region.update(trail + [x])
            return x
        if d.kind is not K.RESHAPE:
            return last
        trail.append(x)


def _attention(g: nx.DiGraph, consts: Mapping[str, Any]) -> None:
    """Rule 2: collapse each attention written out as units into one unit."""
    for s in [n for n in g.nodes if g.nodes[n]["d"].signature == "act:softmax" and not g.nodes[n]["d"].fused]:
        if s not in g:
            continue
        found = _core(g, s)
        if found is None:
            continue
        chain, product = found
        region = set(chain) | {product}
        _projections_in(g, region, region)
        out = _projection_out(g, product, region)
        if any(t not in region for n in region - {out} for t in g.successors(n)):
            continue  # something outside reads an inner tensor: not one attention
        order = [n for n in nx.topological_sort(g) if n in region]
        drafts = [g.nodes[n]["d"] for n in order]
        members = tuple(m for d in drafts for m in d.members)
        path = _common_path([d.path for d in drafts])
        ops = tuple(o for d in drafts for o in d.ops)
        shape = g.nodes[out]["d"].shape
        name = path[-1] if path else drafts[0].layer
        sig = attention_signature(ops, consts)
        if not sig:
            continue
        _merge(g, order, out, Draft(name, members, path, K.ATTENTION, sig, False, ops, shape))


def _common_path(paths: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    n = len(first)
    for p in paths[1:]:
        n = min(n, len(p))
        n = next((i for i in range(n) if p[i] != first[i]), n)
    return first[:n]


def attention_signature(ops: Sequence[Any], consts: Mapping[str, Any], fallback: str = "") -> str:
    """The signature of an attention from its ops: ``attention dk16 qkv192 o64 scaled``.

    ``dk`` is the width the scores' MatMul contracts (the per-head key width); ``qkv`` the
    summed output width of the projections read before the softmax, ``o`` that of the
    projection read after it (0 without one); ``scaled`` when a Mul or Div by a scalar
    constant other than 1 (``consts``: small constants by name) is among the ops,
    ``masked`` when an Add, Sub or Where (a mask, or a position bias) lies between the
    scores and the softmax. ``fallback`` when there is not exactly one softmax. The output
    shape is left out, as for other units that keep their input's shape (the widths say
    what it is; exporters flatten batch and sequence inside ``nn.MultiheadAttention``).
    """
    softmax = [o for o in ops if o.op_type == "Softmax"]
    if len(softmax) != 1:
        return fallback
    made = {t.name: o for o in ops for t in o.outputs}
    between, x = [], made.get(softmax[0].inputs[0].name)
    while x is not None and x.op_type not in ("MatMul", "Einsum"):
        between.append(x.op_type)
        x = next((made[t.name] for t in x.inputs if t.name in made), None)
    if x is None:
        return fallback
    qshape = x.inputs[0].shape
    dk = qshape[-1] if qshape and isinstance(qshape[-1], int) else "?"
    order = {id(o): i for i, o in enumerate(ops)}
    weights = weight_ops(ops)
    after = [o for o in weights if order[id(o)] > order[id(softmax[0])]]
    qkv = sum(_width(o) for o in weights if o not in after)
    out = sum(_width(o) for o in after)
    flags = " scaled" if any(_is_scale(o, consts) for o in ops) else ""
    flags += " masked" if any(t in ("Add", "Sub", "Where") for t in between) else ""
    return f"attention dk{dk} qkv{qkv} o{out}{flags}"


def _width(op: Any) -> int:
    w = op.inputs[1].shape or (0,)
    if op.op_type == "Gemm" and op.attrs.get("transB"):
        return int(w[0])
    return int(w[-1])


def _is_scale(op: Any, consts: Mapping[str, Any]) -> bool:
    """A Mul or Div by a scalar constant whose value is not known to be 1."""
    if op.op_type not in ("Mul", "Div") or len(op.inputs) != 2:
        return False
    const = [t for t in op.inputs if t.initializer]
    if len(const) != 1 or const[0].shape is None or any(d != 1 for d in const[0].shape):
        return False
    return consts.get(const[0].name) != [1.0]


__all__ = ["Draft", "attention_signature", "lower", "shape_key", "weight_ops"]
