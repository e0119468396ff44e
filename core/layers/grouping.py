"""Which ops make a layer (rules 1-3 of :mod:`~modelmap.core.layers`), and the steps of
:func:`group_layers` in order."""

from __future__ import annotations

from collections.abc import Sequence

from modelmap._metadata import LayerRecord

from .. import ops as opt
from ..graph import ModelGraph, Node
from ..kinds import NodeRole
from .assemble import count_params, finish_layers
from .describe import add_op_entries
from .naming import add_io_entries, name_groups
from .records import Build, Group, Grouping, split_ns
from .tree import build_tree
from .wiring import connect, rewire_opless

_PRIORITY = {k: i for i, k in enumerate(opt.KIND_PRIORITY)}  # kind -> its place in KIND_PRIORITY
_FLOW = (NodeRole.DATA, NodeRole.INPUT)


def group_layers(g: ModelGraph, records: Sequence[LayerRecord] | None = None, framework: str = "onnx") -> Grouping:
    """Group the ops of ``g`` into layers (see :mod:`modelmap.core.layers`).

    Parameters
    ----------
    g : ModelGraph
    records : list of LayerRecord, optional
        The framework's layer table (``modelmap._metadata.model_layers``).
    framework : str
        ``pytorch``, ``keras`` or ``onnx``: which class table names kinds.

    Returns
    -------
    Grouping
    """
    b = Build(g, framework, list(records or []))
    b.groups = _make_groups(b)
    _find_opless(b)
    name_groups(b)
    add_op_entries(b)
    add_io_entries(b)
    connect(b)
    rewire_opless(b)
    per_layer, total, kept, layer_record = count_params(b)
    layers = finish_layers(b, per_layer)
    tree = build_tree(g, layers, b.rec_by_ns, kept)
    return Grouping(
        layers=layers, op_layer=b.op_layer, tree=tree, connections=b.conn, params=int(total), records=layer_record
    )


def _assign_ops(b: Build) -> list[tuple[str, ...] | Node | None]:
    """Rules 1-3: op index -> the namespace of its leaf layer (a tuple), or the op that
    makes its functional layer (a Node), or None (an auxiliary op no layer reads)."""
    ops = b.g.op_records
    rec_by_ns = b.rec_by_ns
    op_ns = {n.namespace for n in ops}
    b.annotated = any(op_ns)
    nonleaf: set[tuple[str, ...]] = set()
    for ns in list(op_ns) + list(rec_by_ns):
        for k in range(1, len(ns)):
            nonleaf.add(ns[:k])

    def is_leaf(ns: tuple[str, ...]) -> bool:
        if not ns or ns in nonleaf:
            return False
        r = rec_by_ns.get(ns)
        return r.leaf if r is not None else True

    # 1-2: leaf layers and functional data ops
    group_of: list[tuple[str, ...] | Node | None] = [None] * len(ops)
    for n in ops:
        ns = n.namespace
        if ns and is_leaf(ns):
            group_of[n.index] = ns
        elif n.role is NodeRole.DATA:
            group_of[n.index] = n
    # 3: auxiliary ops outside leaves join their first reader
    for n in reversed(ops):
        if group_of[n.index] is not None:
            continue
        best = None  # index of the first reader in a layer
        for c in _readers(b.g, n):
            if c.is_op and group_of[c.index] is not None and (best is None or c.index < best):
                best = c.index
        if best is not None:
            group_of[n.index] = group_of[best]
        elif n.role is NodeRole.PARAM:
            group_of[n.index] = n
    return group_of


def _make_groups(b: Build) -> list[Group]:
    """The layers' op groups in execution order (a layer runs when its first data op does),
    each leaf module split into its calls, each with its main op."""
    by_key: dict[tuple[str, ...] | Node, list[Node]] = {}
    for n, key in zip(b.g.op_records, _assign_ops(b)):
        if key is not None:
            by_key.setdefault(key, []).append(n)
    groups: list[Group] = []
    for key, members in by_key.items():
        if isinstance(key, tuple):  # a leaf module
            for call, ops_ in enumerate(_split_calls(b.g, members), start=1):
                groups.append(Group(ops=ops_, ns=key, fn=False, record=b.rec_by_ns.get(key), call=call))
        else:
            groups.append(Group(ops=members, ns=key.namespace, fn=True))
    for grp in groups:
        data_idx = [n.index for n in grp.ops if n.role is NodeRole.DATA]
        grp.order = min(data_idx) if data_idx else min(n.index for n in grp.ops)
    groups.sort(key=lambda grp: grp.order)
    for grp in groups:
        grp.main = _main_op(grp.ops)
    return groups


def _find_opless(b: Build) -> None:
    """Rule 4: the input records, and the leaf records that left no op."""
    records = b.records
    covered = {grp.ns for grp in b.groups if not grp.fn} if records else set()
    b.input_records = [r for r in records if opt.is_input_class(r.cls)]
    b.opless = [
        r
        for r in records
        if r.leaf and not opt.is_input_class(r.cls) and split_ns(r.namespace) and split_ns(r.namespace) not in covered
    ]


def _readers(g: ModelGraph, n: Node) -> list[Node]:
    """The nodes reading any output of ``n``, output by output, in reading order."""
    by_id = g.by_id
    return [by_id[c] for out in n.outputs if out for c, _ in g.tensors[out].consumers]


def _split_calls(g: ModelGraph, members: list[Node]) -> list[list[Node]]:
    """Split a leaf layer's ops into calls: data ops connected inside the layer, or reading
    the same outside tensor, are one call. Auxiliary ops join the call of their reader."""
    data_ops = [n for n in members if n.role is NodeRole.DATA]
    if len(data_ops) <= 1:
        return [members]
    parent = {n.id: n.id for n in data_ops}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    first_reader: dict[str, str] = {}
    for n in data_ops:
        for (u, t, _), p in zip(n.sources, n.producers):
            if u is None:
                continue
            if u in parent:
                union(n.id, u)
            elif g.nodes[p].role in _FLOW:
                if t in first_reader:
                    union(n.id, first_reader[t])
                else:
                    first_reader[t] = n.id
    roots: dict[str, list[Node]] = {}
    for n in data_ops:
        roots.setdefault(find(n.id), []).append(n)
    if len(roots) == 1:
        return [members]
    comp_of = {n.id: find(n.id) for n in data_ops}
    member_set = {n.id for n in members}
    for n in reversed(members):
        if n.id in comp_of:
            continue
        target = None
        for out in n.outputs:
            if not out:
                continue
            for consumer, _ in g.tensors[out].consumers:
                if consumer in member_set and consumer in comp_of:
                    target = comp_of[consumer]
                    break
            if target:
                break
        comp_of[n.id] = target or find(data_ops[0].id)
    calls: dict[str, list[Node]] = {}
    for n in members:
        calls.setdefault(comp_of[n.id], []).append(n)
    return sorted(calls.values(), key=lambda ops_: ops_[0].index if ops_ else 0)


def _main_op(ops_: Sequence[Node]) -> Node:
    """The op that names and describes a layer: its data op of the highest-priority kind."""
    data = (
        [n for n in ops_ if n.role is NodeRole.DATA] or [n for n in ops_ if n.role is NodeRole.PARAM] or list(ops_)
    )
    best, best_rank = data[0], len(opt.KIND_PRIORITY)
    for n in data:
        r = _PRIORITY.get(opt.op_kind(n.op_type, bool(n.params or n.reads_params)), len(opt.KIND_PRIORITY))
        if r < best_rank:
            best, best_rank = n, r
    return best


__all__ = ["group_layers"]
