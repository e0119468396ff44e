"""Connections between layers: the tensors that flow from one to another.

A connection is the first tensor between two layers, in graph order; shape and constant
tensors and shape-like input slots (Reshape's second input) are not connections. Layers
that left no op (a Keras ``Dropout``) are wired from the framework table's ``inbound``
names, and placed in execution order after what feeds them.
"""

from __future__ import annotations

from .. import ops as opt
from ..kinds import NodeRole
from .records import Build, split_ns

_AUX = (NodeRole.SHAPE, NodeRole.CONST)  # producers whose tensors are no connection


def connect(b: Build) -> None:
    """Every connection between layers (:attr:`Build.conn`) with its tensor and shape;
    each layer's senders, receivers and the last tensor leaving it."""
    g, layer_at, conn, wired = b.g, b.layer_at, b.conn, b.wired
    tensors = g.tensors
    for dv in g.nodes:
        ev = layer_at[dv.number]
        if ev is None:
            continue
        is_op = dv.is_op
        for (u, tname, slot), p in zip(dv.sources, dv.producers):
            if u is None:
                continue
            eu = layer_at[p]
            if eu is None or eu is ev:
                continue
            du = g.nodes[p]
            if du.role in _AUX:
                continue
            if is_op and slot >= 0 and opt.meta_slot(dv.op_type, slot):
                continue
            shape = tensors[tname].shape
            if eu.name not in ev.senders:
                conn[(eu.name, ev.name)] = (tname, shape)
                if not ev.senders:
                    wired.append(ev)
                ev.senders.append(eu.name)
                ev.in_list.append((dv.index, slot, eu.name))
                eu.receivers.append(ev)
            idx = du.index
            if eu.leaving is None or idx > eu.leaving[0]:
                eu.leaving = (idx, shape)


def rewire_opless(b: Build) -> None:
    """Each layer's inputs: as connected, or, when layers left no op, through the table's
    wiring (a layer without ops sits between its inbound layers and their consumers)."""
    records, leaf_names = b.records, b.leaf_names
    input_names = [e.name for e in b.input_entries]
    name_of_record = b.name_of_record
    name_of_record.update({r.name: leaf_names.get(split_ns(r.namespace), r.name) for r in records})
    if len(b.input_records) == len(input_names):
        for r, n in zip(b.input_records, input_names):
            name_of_record[r.name] = n
    for n in input_names:
        name_of_record.setdefault(n, n)
    for r in b.opless:
        me = leaf_names[split_ns(r.namespace)]
        b.opless_inputs[me] = [name_of_record[s] for s in r.inbound if s in name_of_record]
    if not b.opless:  # every listed connection stands, one per sender
        for e in b.wired:
            e.inputs = tuple([lu for _, _, lu in sorted(e.in_list)])
        return
    conn = b.conn
    in_lists = {e.name: e.in_list for e in b.wired}
    inbound_of = {
        name_of_record.get(r.name, r.name): {name_of_record[s] for s in r.inbound if s in name_of_record}
        for r in records
    }
    consumers_of: dict[str, list[str]] = {}  # sender -> the layers listing it, in table order
    for consumer, inb in inbound_of.items():
        for s in inb:
            consumers_of.setdefault(s, []).append(consumer)
    for me, srcs in b.opless_inputs.items():
        for s in srcs:
            conn.setdefault((s, me), ("", None))
            in_lists.setdefault(me, []).append((0, len(in_lists.get(me, [])), s))
        for consumer in consumers_of.get(me, ()):
            inb = inbound_of[consumer]
            conn.setdefault((me, consumer), ("", None))
            in_lists.setdefault(consumer, []).append((1 << 29, 0, me))
            for s in srcs:
                if s not in inb and (s, consumer) in conn:
                    del conn[(s, consumer)]
                    in_lists[consumer] = [e for e in in_lists[consumer] if e[2] != s]
    for lv, lst in in_lists.items():
        seen: list[str] = []
        for _, _, lu in sorted(lst):
            if lu not in seen and (lu, lv) in conn:
                seen.append(lu)
        b.inputs_of[lv] = tuple(seen)


def place_opless(b: Build, order: dict[str, float], pending: list[str]) -> None:
    """Give each layer without ops (``pending``, named) a place in ``order`` (name ->
    execution position): right after its inbound layers (Keras), else right after the
    layer the framework's table lists before it (PyTorch lists layers in call order)."""
    opless_inputs = b.opless_inputs
    placed = True
    while placed:  # until a pass places nothing more
        placed = False
        for me in pending:
            srcs = [s for s in opless_inputs.get(me, []) if s in order]
            if srcs and me not in order:
                order[me] = max(order[s] for s in srcs) + 1e-3
                placed = True
    placed_before: float | None = None
    waiting = set(pending)
    for r in b.records:
        me = b.name_of_record.get(r.name)
        if me is None:
            continue
        if me in order:
            placed_before = order[me]
        elif me in waiting:
            placed_before = (placed_before if placed_before is not None else -0.5) + 1e-4
            order[me] = placed_before


__all__ = ["connect", "place_opless", "rewire_opless"]
