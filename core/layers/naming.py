"""Layer names: unique, the framework's own where it has one.

A leaf module's layer is named as the framework names it (its record's name, else its
last namespace segment), or by its full path when that name is not unique; later calls
of a module are ``name#2``, ``name#3``. A functional op's layer is ``<parent>/<op>``
(``layer1.0/add``), or ``<op>`` at the root; in an ONNX file without namespaces, its node
name. Graph inputs keep their tensor's name (or the framework's input layer's); a single
graph output is ``output``.
"""

from __future__ import annotations

from modelmap._metadata import SEP, LayerRecord

from .. import ops as opt
from ..graph import unique_name
from ..kinds import LayerKind
from .records import Build, Entry, split_ns


def name_groups(b: Build) -> None:
    """Name every group, first calls of leaf modules first, and every layer without ops
    (:attr:`Build.leaf_names`); the names taken are in :attr:`Build.used`."""
    groups, used = b.groups, b.used
    base_count: dict[str, int] = {}
    for grp in groups:
        if not grp.fn and grp.call == 1:
            base = _leaf_base(grp.ns, grp.record)
            base_count[base] = base_count.get(base, 0) + 1
    for r in b.opless:
        base = _leaf_base(split_ns(r.namespace), r)
        base_count[base] = base_count.get(base, 0) + 1
    leaf_names = b.leaf_names

    def leaf_name(ns: tuple[str, ...], rec: LayerRecord | None) -> str:
        if ns in leaf_names:
            return leaf_names[ns]
        base = _leaf_base(ns, rec)
        name = base if base_count.get(base, 0) <= 1 else SEP.join(ns)
        name = unique_name(name, used, sep="#")
        leaf_names[ns] = name
        return name

    for grp in groups:
        if not grp.fn and grp.call == 1:
            grp.name = leaf_name(grp.ns, grp.record)
            grp.path = grp.ns
    for r in b.opless:
        leaf_name(split_ns(r.namespace), r)
    for grp in groups:
        if not grp.fn and grp.call > 1:
            grp.name = unique_name(f"{leaf_names[grp.ns]}#{grp.call}", used, sep="#")
            grp.path = grp.ns[:-1] + (grp.ns[-1] + f"#{grp.call}",)
    for grp in groups:
        if grp.fn:
            d = grp.main
            slug = opt.op_slug(d.op_type)
            if grp.ns:
                grp.name = unique_name(f"{grp.ns[-1]}/{slug}", used, "_")
                grp.path = grp.ns + (grp.name.rsplit("/", 1)[1],)
            else:
                base = slug if b.annotated or not d.name else d.name
                grp.name = unique_name(base, used, "_")
                grp.path = (grp.name,)


def add_io_entries(b: Build) -> None:
    """A layer per graph input (before every op) and per graph output (after them all)."""
    g, used = b.g, b.used
    rec_names = [r.name for r in b.input_records]
    input_nodes = g.nodes[: len(g.inputs)]
    output_nodes = g.nodes[len(g.inputs) + len(g.ops) :]
    for i, node in enumerate(input_nodes):
        tname = node.name
        if tname in rec_names or len(rec_names) != len(g.inputs):
            name = tname
        else:
            name = rec_names[i]
        name = unique_name(name, used, "_")
        order = -1.0 - (len(input_nodes) - i) * 1e-3
        e = Entry(name, (name,), order, "Input", LayerKind.INPUT, shape=g.tensors[tname].shape)
        _add(b, b.input_entries, node.id, node.number, e)
    end = float(len(g.ops) + 1)
    for i, node in enumerate(output_nodes):
        tname = node.name
        base = "output" if len(g.outputs) == 1 and "output" not in used else tname
        if base in used:
            base = f"output:{tname}"
        name = unique_name(base, used, "_")
        e = Entry(name, (name,), end + 1 + i, "Output", LayerKind.OUTPUT, shape=g.tensors[tname].shape)
        _add(b, b.output_entries, node.id, node.number, e)


def _add(b: Build, entries: list[Entry], nid: str, number: int, e: Entry) -> None:
    entries.append(e)
    b.op_layer[nid] = e.name
    b.layer_at[number] = e


def _leaf_base(ns: tuple[str, ...], rec: LayerRecord | None) -> str:
    return rec.name if rec is not None and rec.name else ns[-1]


__all__ = ["add_io_entries", "name_groups"]
