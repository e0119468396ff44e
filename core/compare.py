"""Structural comparison of two analysed models, at layer level.

:func:`compare` answers "is this the same architecture?" ignoring layer names and the
framework a model came from, and when it is not, says which layers were added, removed
or changed and which skip connections one model has and the other lacks.

How a model is normalised
-------------------------
Each model becomes a DAG of *units*, each with a signature, through these rules. They
are chosen so that a Keras model and its PyTorch twin compare equal, and so that nothing
that changes what the network computes is hidden.

1. **Facts come from the ONNX ops**, which look the same for every framework: op types,
   ``kernel_shape``/``strides``/``dilations``/``group`` attributes (ONNX convolutions are
   always channels-first), output channels from the kernel's first dimension. Framework
   class names and layer names are never compared.
2. **Layouts are ignored.** Output shapes are compared without the batch dimension and
   unit extents, as a multiset of extents (sorted), so NHWC ``(32, 32, 64)`` equals NCHW
   ``(64, 32, 32)`` and ``(512, 1, 1)`` equals ``(512)``. Pure layout ops (``Transpose``
   layers, which tf2onnx inserts around channels-first ops) are dropped, which drops a real
   ``Permute`` layer too.
3. **Fused activations are split off.** A convolution, linear or merge layer whose ops
   include an activation (Keras ``Dense(10, activation="softmax")``,
   ``Conv2D(..., activation="relu")``) becomes two units, the layer and an activation, so
   it equals ``Linear`` + ``Softmax`` in PyTorch. Activation units are named by the ONNX
   op (``relu``, ``softmax``), so Keras ``ReLU()``, ``Activation("relu")`` and PyTorch
   ``nn.ReLU``/``F.relu`` are equal.
4. **Inference no-ops are dropped:** Dropout, Identity and Cast layers, layers without
   ops, constants and shape computations; their inputs are wired to their consumers.
5. **Reshapes are one kind.** ``Flatten`` and ``Reshape`` (PyTorch ``Flatten`` becomes
   ONNX ``Flatten``, Keras' becomes ``Reshape``) both give ``reshape`` plus the output
   shape. Channels-last flattening orders features differently; that is layout too.
6. **Parameter counts are not compared** (Keras counts BatchNorm's moving statistics,
   PyTorch does not); the hyper-parameters and shapes that determine them are.
7. **Graph outputs are not units**: the layer producing them is.
8. **Units that keep their input's shape** (activations, norms, merges, attention) are
   signed without it, so a changed channel count names the layer that changed it, not
   every BatchNorm and Add downstream.
9. **Lowerings of one computation are one unit** (:mod:`modelmap.core.lowering`):
   Linear = MatMul + bias Add, attention written out = a framework's attention layer,
   ``ReduceMean`` over the spatial axes = ``GlobalAveragePool``, a normalisation written
   out = its ONNX op, and reshapes that only add or drop unit extents are dropped.

Two models are the *same* when their unit DAGs are isomorphic with equal signatures
(networkx VF2, after a Weisfeiler-Lehman hash as a quick reject). The differences come
from aligning the two unit sequences, each laid out in a canonical topological order that
does not depend on the order in which sibling layers were created
(:func:`~modelmap.core.alignment.canonical_order`), with an edit-distance alignment
(:func:`align`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx

from . import ops as opt
from .alignment import CHANGE_COST, DP_LIMIT, align, canonical_order
from .kinds import ChangeKind, LayerKind, SkipKind
from .lowering import Draft, lower, shape_key

K = LayerKind
#: layer kinds that carry no computation at inference time (rule 4)
DROPPED_KINDS = frozenset({K.DROPOUT, K.IDENTITY, K.CONSTANT, K.SHAPE, K.OUTPUT})
#: kinds whose fused activation becomes a unit of its own (rule 3)
FUSING_KINDS = frozenset({K.CONV, K.LINEAR, K.MERGE, K.MATMUL})
#: kinds counted by ``weight_depth``
WEIGHT_KINDS = frozenset({K.CONV, K.LINEAR, K.EMBEDDING, K.ATTENTION, K.RECURRENT})
#: kinds whose signature names their main op (and a pool's window, a merge's arity;
#: merges and norms keep their input's shape, so their signature leaves it out)
_OP_NAMED_KINDS = frozenset({K.NORM, K.POOL, K.MERGE, K.REDUCE, K.RESIZE})


@dataclass(frozen=True)
class Unit:
    """One normalised unit: a layer, the activation split off a layer (``fused``), or
    several layers lowered into one (an attention written out: ``members``)."""

    index: int
    layer: str
    kind: LayerKind
    signature: str
    inputs: tuple[int, ...] = ()
    fused: bool = False
    members: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer, "kind": str(self.kind), "signature": self.signature, "fused": self.fused,
            "members": list(self.members or (self.layer,)),
        }  # fmt: skip


@dataclass(frozen=True)
class Profile:
    """A model normalised for comparison (see the module docstring)."""

    framework: str
    units: tuple[Unit, ...]
    skips: tuple[tuple[SkipKind, int, int], ...]  # (kind, merge unit, fork unit)
    skip_names: tuple[tuple[str, str, str], ...]  # (kind, merge layer, fork layer)
    depth: int  # units on the longest path
    weight_depth: int  # weight layers on the path with most of them

    @property
    def signatures(self) -> tuple[str, ...]:
        return tuple(u.signature for u in self.units)

    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for u in self.units:
            g.add_node(u.index, signature=u.signature)
        for u in self.units:
            for i in u.inputs:
                g.add_edge(i, u.index)
        return g

    def summary_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for kind, _, _ in self.skips:
            counts[kind.value] = counts.get(kind.value, 0) + 1
        return {
            "framework": self.framework,
            "units": len(self.units),
            "layers": len({u.layer for u in self.units}),
            "depth": self.depth,
            "weight_depth": self.weight_depth,
            "skips": len(self.skips),
            "skip_kinds": counts,
        }


@dataclass(frozen=True)
class Change:
    """One difference in the aligned sequences: ``added`` (in B only), ``removed`` (in A
    only) or ``changed`` (same kind, different hyper-parameters or shape)."""

    op: ChangeKind
    a: Unit | None
    b: Unit | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": str(self.op),
            "a": self.a.layer if self.a else None,
            "b": self.b.layer if self.b else None,
            "a_signature": self.a.signature if self.a else None,
            "b_signature": self.b.signature if self.b else None,
            "fused": bool((self.a and self.a.fused) or (self.b and self.b.fused)),
            "a_members": list(self.a.members or (self.a.layer,)) if self.a else [],
            "b_members": list(self.b.members or (self.b.layer,)) if self.b else [],
        }

    def text(self) -> str:
        def show(u: Unit) -> str:
            return f"{u.layer}{' (fused)' if u.fused else ''} [{u.signature}]"

        if self.op is ChangeKind.ADDED:
            return f"+ {show(self.b)}" if self.b else "+"
        if self.op is ChangeKind.REMOVED:
            return f"- {show(self.a)}" if self.a else "-"
        return f"~ {show(self.a)} -> {show(self.b)}" if self.a and self.b else "~"


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`; ``same`` is the answer, the rest explains it."""

    same: bool
    a: Profile
    b: Profile
    changes: tuple[Change, ...]
    skips_only_in_a: tuple[tuple[str, str, str], ...]
    skips_only_in_b: tuple[tuple[str, str, str], ...]
    connections_only_in_a: tuple[tuple[str, str], ...] = ()
    connections_only_in_b: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def added(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.op is ChangeKind.ADDED)

    @property
    def removed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.op is ChangeKind.REMOVED)

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.op is ChangeKind.CHANGED)

    def b_marks(self) -> dict[str, str]:
        """Layer of B -> ``added`` or ``changed``: the colouring of ``draw --diff``.

        A layer whose own unit is unchanged but whose split-off activation differs counts
        as changed; a merge that closes a skip connection A lacks counts as added.
        """
        marks: dict[str, str] = {}
        for c in self.changes:
            if c.b is None:
                continue
            for layer in c.b.members or (c.b.layer,):
                if c.op is ChangeKind.ADDED and not c.b.fused:
                    marks[layer] = ChangeKind.ADDED.value
                else:
                    marks.setdefault(layer, ChangeKind.CHANGED.value)
        for _, merge, _ in self.skips_only_in_b:
            marks.setdefault(merge, ChangeKind.CHANGED.value)
        return marks

    def to_dict(self) -> dict[str, Any]:
        def skip(s: tuple[str, str, str]) -> dict[str, str]:
            return {"kind": s[0], "merge": s[1], "fork": s[2]}

        return {
            "same": self.same,
            "a": self.a.summary_dict(),
            "b": self.b.summary_dict(),
            "added": [c.to_dict() for c in self.added],
            "removed": [c.to_dict() for c in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "skips_only_in_a": [skip(s) for s in self.skips_only_in_a],
            "skips_only_in_b": [skip(s) for s in self.skips_only_in_b],
            "connections_only_in_a": [list(e) for e in self.connections_only_in_a],
            "connections_only_in_b": [list(e) for e in self.connections_only_in_b],
            "notes": list(self.notes),
        }

    def summary(self, name_a: str = "A", name_b: str = "B", limit: int = 40) -> str:
        """A readable report."""
        pa, pb = self.a.summary_dict(), self.b.summary_dict()
        lines = [f"{'same' if self.same else 'different'} architecture"]
        for label, p in ((name_a, pa), (name_b, pb)):
            kinds = ", ".join(f"{n} {k}" for k, n in p["skip_kinds"].items())
            lines.append(
                f"  {label}: {p['framework']}, {p['units']} units, depth {p['depth']}, "
                f"{p['weight_depth']} weight layers deep, {p['skips']} skip connections" + (f" ({kinds})" if kinds else "")
            )
        if self.same:
            return "\n".join(lines)
        if pa["depth"] != pb["depth"] or pa["weight_depth"] != pb["weight_depth"]:
            lines.append(
                f"depth: {pa['depth']} vs {pb['depth']} units on the longest path; "
                f"{pa['weight_depth']} vs {pb['weight_depth']} weight layers"
            )
        if self.changes:
            lines.append(
                f"layers: {len(self.added)} added, {len(self.removed)} removed, {len(self.changed)} changed "
                f"(from {name_a} to {name_b})"
            )
            for c in self.changes[:limit]:
                lines.append("  " + c.text())
            if len(self.changes) > limit:
                lines.append(f"  ... and {len(self.changes) - limit} more (see --json)")
        for label, skips in ((name_a, self.skips_only_in_a), (name_b, self.skips_only_in_b)):
            if skips:
                lines.append(f"skip connections only in {label}: {len(skips)}")
                for kind, merge, fork in skips[:limit]:
                    lines.append(f"  {kind:<10} {fork} -> {merge}")
                if len(skips) > limit:
                    lines.append(f"  ... and {len(skips) - limit} more")
        for label, conns in ((name_a, self.connections_only_in_a), (name_b, self.connections_only_in_b)):
            if conns:
                lines.append(f"connections only in {label}: {len(conns)}")
                for u, v in conns[:limit]:
                    lines.append(f"  {u} -> {v}")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- normalising


def _ints(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, (list, tuple)):
        return "x".join(str(int(x)) for x in v)
    return str(v)


def _small_consts(analysis: Any) -> dict[str, list[float]]:
    """The values of constants of at most 8 elements (axes, scales) by tensor name:
    initializers and Constant ops."""
    from onnx import numpy_helper

    out: dict[str, list[float]] = {}
    graph = analysis.model.graph
    tensors = [(t.name, t) for t in graph.initializer]
    tensors += [(n.output[0], a.t) for n in graph.node if opt.is_constant_op(n.op_type) and n.output for a in n.attribute if a.name == "value"]
    for name, t in tensors:
        size = 1
        for d in t.dims:
            size *= d
        if size <= 8 and not t.external_data:
            try:
                out[name] = [v.item() for v in numpy_helper.to_array(t).reshape(-1)]
            except (ValueError, TypeError):  # strings, or data not here
                continue
    return out


def _layer_signatures(layer: Any, ops: Sequence[Any]) -> tuple[LayerKind, str, str | None]:
    """(kind, signature, fused activation signature or None) of one layer (rules 1-3, 5, 8)."""
    kind = LayerKind(layer.kind)
    shape = shape_key(layer.output_shape)
    types = [o.op_type for o in ops]
    acts = [t for t in types if opt.op_kind(t) is K.ACTIVATION]
    fused = f"act:{acts[-1].lower()}" if kind in FUSING_KINDS and acts else None
    if kind is K.INPUT:
        return kind, f"input {shape}", None
    if kind is K.CONV:
        conv = next((o for o in ops if opt.op_kind(o.op_type) is K.CONV), None)
        if conv is not None:
            return kind, _conv_signature(conv, shape), fused
    if kind is K.LINEAR:
        return kind, f"linear {shape}", fused
    if kind is K.ACTIVATION:
        name = acts[-1].lower() if acts else "+".join(sorted(types)) or layer.type.lower()
        return kind, f"act:{name}", None
    if kind in _OP_NAMED_KINDS:
        main = [o for o in ops if opt.op_kind(o.op_type) is kind]
        op = main[0].op_type if main else "+".join(sorted(set(types)))
        if kind is K.MERGE:
            return kind, f"merge:{op} n{len(layer.inputs)}", fused
        if kind is K.NORM:
            return kind, f"norm:{op}", fused
        extra = ""
        if kind is K.POOL and main:
            extra = f" k{_ints(main[0].attrs.get('kernel_shape'))} s{_ints(main[0].attrs.get('strides'))}"
        return kind, f"{kind.value}:{op}{extra} {shape}", fused
    if kind is K.RESHAPE:
        return kind, f"reshape {shape}", None
    return kind, f"{kind.value}:{'+'.join(sorted(set(types)))} {shape}", fused


def _conv_signature(conv: Any, shape: str) -> str:
    """A convolution's signature: window, stride, dilation, groups, output channels, shape."""
    at = conv.attrs
    w = conv.inputs[1].shape if len(conv.inputs) > 1 else None
    group = int(at.get("group", 1) or 1)
    if w and len(w) >= 3 and all(isinstance(d, int) for d in w):
        out: Any = opt.conv_channels(conv.op_type, tuple(w), group)[0]
        k = at.get("kernel_shape") or list(w[2:])
    else:
        out, k = "?", at.get("kernel_shape")
    return (
        f"{'convT' if opt.is_transposed_conv(conv.op_type) else 'conv'} k{_ints(k)} s{_ints(at.get('strides'))} "
        f"d{_ints(at.get('dilations'))} g{group} c{out} {shape}"
    )


def _drafts(analysis: Any) -> nx.DiGraph:
    """The draft graph: a node per kept layer (``d``: a :class:`~.lowering.Draft`), plus a node
    per split-off activation, wired as the layers are with dropped layers bypassed (rules 3, 4)."""
    keep: dict[str, Draft] = {}
    fused: dict[str, str] = {}
    for layer in analysis.layers:
        kind = LayerKind(layer.kind)
        ops = analysis.ops(layer.name)
        if kind in DROPPED_KINDS or (kind is not K.INPUT and not ops):
            continue
        if ops and all(opt.is_layout_op(o.op_type) for o in ops) and not layer.params:
            continue
        kind, sig, act = _layer_signatures(layer, ops)
        keep[layer.name] = Draft(layer.name, (layer.name,), tuple(layer.path), kind, sig, False, tuple(ops), layer.output_shape)
        if act:
            fused[layer.name] = act
    g = nx.DiGraph()
    g.add_nodes_from(layer.name for layer in analysis.layers)
    g.add_edges_from((src, layer.name) for layer in analysis.layers for src in layer.inputs if src in g and src != layer.name)
    for name in [n for n in list(g.nodes) if n not in keep]:
        preds, succs = list(g.predecessors(name)), list(g.successors(name))
        g.remove_node(name)
        g.add_edges_from((p, s) for p in preds for s in succs if p != s)
    for name, d in keep.items():
        g.nodes[name]["d"] = d
    for name, act in fused.items():
        d = keep[name]
        aid = name + "\x00act"
        succs = list(g.successors(name))
        g.remove_edges_from((name, s) for s in succs)
        g.add_node(aid, d=replace(d, kind=K.ACTIVATION, signature=act, fused=True, ops=()))
        g.add_edge(name, aid)
        g.add_edges_from((aid, s) for s in succs)
    return g


def profile(analysis: Any) -> Profile:
    """Normalise one :class:`~modelmap.core.analysis.Analysis` for comparison."""
    g = _drafts(analysis)
    lower(g, _small_consts(analysis))
    info = {n: g.nodes[n]["d"] for n in g.nodes}
    try:
        order = canonical_order(g, {n: (d.kind.value, d.signature) for n, d in info.items()})
    except nx.NetworkXUnfeasible:  # a cycle (reused modules): fall back to execution order
        order = list(g.nodes)
    index = {n: i for i, n in enumerate(order)}
    units = tuple(
        Unit(
            index=index[n], layer=info[n].layer, kind=info[n].kind, signature=info[n].signature,
            inputs=tuple(sorted(index[p] for p in g.predecessors(n))), fused=info[n].fused, members=info[n].members,
        )
        for n in order
    )  # fmt: skip

    # skips, by unit: a merge is the unit holding its layer; a fork the last unit of its layer
    head: dict[str, int] = {}
    tail: dict[str, int] = {}
    for u in units:
        for m in u.members:
            head.setdefault(m, u.index)
            tail[m] = u.index
    skips = []
    names = []
    for s in getattr(analysis, "skips", ()):
        kind = SkipKind(s.kind)
        names.append((kind.value, s.merge, s.fork))
        skips.append((kind, head.get(s.merge, -1), tail.get(s.fork, -1)))

    depth, wdepth = _depths(units)
    return Profile(getattr(analysis, "framework", ""), units, tuple(skips), tuple(names), depth, wdepth)


def _depths(units: Sequence[Unit]) -> tuple[int, int]:
    """Units on the longest path, and the most weight layers on any path (units are topologically sorted)."""
    longest: list[int] = []
    weights: list[int] = []
    for u in units:
        lo = max((longest[i] for i in u.inputs if i < len(longest)), default=0)
        wo = max((weights[i] for i in u.inputs if i < len(weights)), default=0)
        longest.append(lo + 1)
        weights.append(wo + (u.kind in WEIGHT_KINDS and not u.fused))
    return max(longest, default=0), max(weights, default=0)


# --------------------------------------------------------------------------- comparing


def _isomorphic(a: Profile, b: Profile) -> bool:
    if sorted(a.signatures) != sorted(b.signatures):
        return False
    ga, gb = a.graph(), b.graph()
    if ga.number_of_edges() != gb.number_of_edges():
        return False
    with warnings.catch_warnings():  # networkx 3.5 notes that directed hashes changed; both sides hash alike
        warnings.simplefilter("ignore")
        if nx.weisfeiler_lehman_graph_hash(ga, node_attr="signature") != nx.weisfeiler_lehman_graph_hash(
            gb, node_attr="signature"
        ):
            return False
    if a.signatures == b.signatures and all(x.inputs == y.inputs for x, y in zip(a.units, b.units)):
        return True
    return nx.is_isomorphic(ga, gb, node_match=lambda x, y: x["signature"] == y["signature"])


def _explained(units: Sequence[Unit], src: int, dst: int, unmatched: set[int]) -> bool:
    """Whether ``src`` reaches ``dst`` through unmatched units only (added or removed ones)."""
    succ: dict[int, list[int]] = {}
    for u in units:
        for i in u.inputs:
            succ.setdefault(i, []).append(u.index)
    stack, seen = [src], {src}
    while stack:
        x = stack.pop()
        for y in succ.get(x, ()):
            if y == dst:
                return True
            if y in unmatched and y not in seen:
                seen.add(y)
                stack.append(y)
    return False


def _match_skips(
    a: Profile, b: Profile, a_to_b: Mapping[int, int], unmatched_a: set[int], unmatched_b: set[int]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The skip connections of A and of B that the other model lacks.

    Skips match through the alignment: same kind, aligned merges and aligned forks. A skip
    whose fork moved only because the other model added (or lacks) the layers in between
    (the projection after an added residual block now forks after that block) matches too.
    """
    b_to_a = {j: i for i, j in a_to_b.items()}
    left_b = list(range(len(b.skips)))
    only_a = []
    for (k, m, f), named in zip(a.skips, a.skip_names):
        hit = next((i for i in left_b if b.skips[i] == (k, a_to_b.get(m, -1), a_to_b.get(f, -1))), None)
        if hit is None:
            hit = next(
                (i for i in left_b if b.skips[i][:2] == (k, a_to_b.get(m, -1)) and (
                    (f in a_to_b and _explained(b.units, a_to_b[f], b.skips[i][2], unmatched_b))
                    or (b.skips[i][2] in b_to_a and _explained(a.units, b_to_a[b.skips[i][2]], f, unmatched_a))
                )),
                None,
            )  # fmt: skip
        if hit is None:
            only_a.append(named)
        else:
            left_b.remove(hit)
    return only_a, [b.skip_names[i] for i in left_b]


def compare_profiles(a: Profile, b: Profile) -> Comparison:
    """Compare two normalised models (see :func:`compare`)."""
    changes: list[Change] = []
    a_to_b: dict[int, int] = {}
    for i, j in align(a.units, b.units):
        if i is not None and j is not None:
            a_to_b[i] = j
            if a.units[i].signature != b.units[j].signature:
                changes.append(Change(ChangeKind.CHANGED, a.units[i], b.units[j]))
        elif i is not None:
            changes.append(Change(ChangeKind.REMOVED, a.units[i], None))
        elif j is not None:
            changes.append(Change(ChangeKind.ADDED, None, b.units[j]))

    b_to_a = {j: i for i, j in a_to_b.items()}
    unmatched_a = {u.index for u in a.units} - set(a_to_b)
    unmatched_b = {u.index for u in b.units} - set(b_to_a)
    only_a, only_b = _match_skips(a, b, a_to_b, unmatched_a, unmatched_b)

    # connections between aligned units that only one model has, unless the other model
    # routes them through units it alone has (an added Add between a conv and its ReLU)
    a_edges = {(i, u.index) for u in a.units for i in u.inputs}
    b_edges = {(i, u.index) for u in b.units for i in u.inputs}
    conn_a = [
        (a.units[i].layer, a.units[k].layer)
        for i, k in sorted(a_edges, key=lambda e: (e[1], e[0]))
        if i in a_to_b and k in a_to_b and (a_to_b[i], a_to_b[k]) not in b_edges
        and not _explained(b.units, a_to_b[i], a_to_b[k], unmatched_b)
    ]
    conn_b = [
        (b.units[i].layer, b.units[k].layer)
        for i, k in sorted(b_edges, key=lambda e: (e[1], e[0]))
        if i in b_to_a and k in b_to_a and (b_to_a[i], b_to_a[k]) not in a_edges
        and not _explained(a.units, b_to_a[i], b_to_a[k], unmatched_a)
    ]

    same = _isomorphic(a, b) and sorted(k for k, _, _ in a.skips) == sorted(k for k, _, _ in b.skips)
    notes = []
    if same and (changes or conn_a or conn_b or only_a or only_b):
        notes.append("the graphs are isomorphic; the differences listed come from the order in which parallel branches were listed")
        changes, only_a, only_b, conn_a, conn_b = [], [], [], [], []
    if not same and not (changes or conn_a or conn_b or only_a or only_b):
        notes.append("the same layers in the same order, connected differently")
    return Comparison(
        same=same,
        a=a,
        b=b,
        changes=tuple(changes),
        skips_only_in_a=tuple(only_a),
        skips_only_in_b=tuple(only_b),
        connections_only_in_a=tuple(conn_a),
        connections_only_in_b=tuple(conn_b),
        notes=tuple(notes),
    )


def compare(a: Any, b: Any) -> Comparison:
    """Compare two :class:`~modelmap.core.analysis.Analysis` objects structurally.

    Parameters
    ----------
    a, b
        Analyses of the two models (any frameworks).

    Returns
    -------
    Comparison
        ``same`` is True when the normalised layer graphs (module docstring) are
        isomorphic; otherwise ``changes`` lists units added (in ``b`` only), removed (in
        ``a`` only) and changed, ``skips_only_in_a``/``_b`` the skip connections one
        model has and the other lacks, as ``(kind, merge layer, fork layer)``.
    """
    return compare_profiles(profile(a), profile(b))


__all__ = ["CHANGE_COST", "DP_LIMIT", "align", "canonical_order", "Change", "Comparison", "Profile", "Unit", "compare", "compare_profiles", "profile", "shape_key"]
