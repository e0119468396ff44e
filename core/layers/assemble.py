"""The last steps of layer grouping: parameter counts, and the layer records in execution order."""

from __future__ import annotations

from modelmap._metadata import SEP, LayerRecord

from .. import ops as opt
from ..analysis import Layer
from ..kinds import LayerKind
from ..params import node_params, record_params
from .describe import fill_unknown, framework_shape, set_op_shapes
from .records import Build, Entry, split_ns
from .wiring import place_opless

_IO = (LayerKind.INPUT, LayerKind.OUTPUT)


def count_params(b: Build) -> tuple[dict[str, int], int, dict[str, int], dict[str, LayerRecord]]:
    """(layer name -> parameters, total, container namespace -> parameters it keeps, layer
    name -> its record): from the framework's table when there is one, else from the
    initializers the layers read (see :mod:`~modelmap.core.params`)."""
    layer_record: dict[str, LayerRecord] = {}
    for grp in b.groups:
        if grp.record is not None and grp.call == 1:
            layer_record[grp.name] = grp.record
    for r in b.opless:
        layer_record[b.leaf_names[split_ns(r.namespace)]] = r
    if b.records:
        container_layers: dict[str, list[str]] = {}
        for grp in b.groups:
            if grp.fn and any(n.params for n in grp.ops):
                container_layers.setdefault(SEP.join(grp.ns), []).append(grp.name)
        per_layer, total, kept = record_params(b.records, layer_record, container_layers)
    else:
        per_layer, total = node_params(b.g, {grp.name: grp.ops for grp in b.groups})
        kept = {}
    return per_layer, total, kept, layer_record


def finish_layers(b: Build, per_layer: dict[str, int]) -> list[Layer]:
    """The layers in execution order: inputs, op layers and layers without ops, outputs."""
    set_op_shapes(b)
    entries = _ordered_entries(b)
    if b.opless:
        inputs_of = b.inputs_of
        shapes = {e.name: e.shape for e in entries}
        for e in entries:  # a layer without ops keeps its input's shape (Dropout)
            if not e.ops and e.kind not in _IO:
                srcs = inputs_of.get(e.name, ())
                if srcs:
                    e.shape = fill_unknown(e.shape, shapes.get(srcs[0]))
                    shapes[e.name] = e.shape
        outputs_of: dict[str, list[str]] = {}
        for lv, srcs in inputs_of.items():
            for lu in srcs:
                outputs_of.setdefault(lu, []).append(lv)
        rank = {e.name: e.rank for e in entries}
        outputs = {name: sorted(set(outs), key=lambda n: rank.get(n, 1 << 30)) for name, outs in outputs_of.items()}
    layers: list[Layer] = []
    for e in entries:
        if b.opless:
            inputs = b.inputs_of.get(e.name, ())
            outs = outputs.get(e.name, ())
        else:
            inputs = e.inputs
            outs = [x.name for x in sorted(e.receivers, key=lambda x: x.rank)]
        layers.append(
            Layer(
                name=e.name,
                path=e.path,
                type=e.type,
                kind=e.kind,
                params=int(per_layer.get(e.name, 0)),
                inputs=inputs,
                outputs=tuple(outs),
                output_shape=e.shape,
                ops=e.ops,
                attrs=e.attrs,
            )
        )
    return layers


def _ordered_entries(b: Build) -> list[Entry]:
    """Every entry, layers without ops placed among the others, sorted and ranked."""
    entries = b.input_entries + b.op_entries
    if b.opless:
        pending = [b.leaf_names[split_ns(r.namespace)] for r in b.opless]
        order_of = {e.name: e.order for e in entries}
        place_opless(b, order_of, pending)
        for r, me in zip(b.opless, pending):
            kind = opt.class_kind(r.cls, b.framework) or LayerKind.OTHER
            entries.append(Entry(me, split_ns(r.namespace), order_of[me], r.cls, kind, shape=framework_shape(r, None)))
    entries += b.output_entries
    entries.sort(key=lambda e: e.order)
    for k, e in enumerate(entries):
        e.rank = k
    return entries


__all__ = ["count_params", "finish_layers"]
