"""What a layer is: its kind, its type, its comparable attributes and its output shape.

The framework's class names the layer when there is one (its record's, else the class
the ops' metadata gives the leaf module); otherwise its main op does. Attributes come from
the main op (:func:`~modelmap.core.ops.op_attributes`), plus the data op types in the layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelmap._metadata import LayerRecord

from .. import ops as opt
from ..analysis import Shape
from ..graph import ModelGraph, Node
from ..kinds import LayerKind, NodeRole
from .records import Build, Entry, Group


def add_op_entries(b: Build) -> None:
    """One entry per group, described; its ops point to it (:attr:`Build.op_layer`, :attr:`Build.layer_at`)."""
    b.layer_at = [None] * len(b.g.nodes)
    for grp in b.groups:
        kind, type_, attrs = _describe(b.g, grp, b.framework)
        e = Entry(grp.name, grp.path, grp.order, type_, kind, tuple([n.id for n in grp.ops]), attrs=attrs)
        b.op_entries.append(e)
        for n in grp.ops:
            b.op_layer[n.id] = grp.name
            b.layer_at[n.number] = e


def set_op_shapes(b: Build) -> None:
    """Each op layer's output shape: the last tensor leaving it, as its framework reports it."""
    for grp, e in zip(b.groups, b.op_entries):
        shape = e.leaving[1] if e.leaving is not None else _last_shape(b.g, grp.ops)
        e.shape = framework_shape(grp.record, shape)


def _describe(g: ModelGraph, grp: Group, framework: str) -> tuple[LayerKind, str, dict[str, Any]]:
    """Kind, type and comparable attributes of a layer."""
    d = grp.main
    cls = ""
    if not grp.fn:
        if grp.record is not None and grp.record.cls:
            cls = grp.record.cls
        else:
            classes = grp.ops[0].classes
            if len(classes) == len(grp.ns) and classes and classes[-1]:
                cls = classes[-1]
    kind = opt.class_kind(cls, framework) if cls else None
    if kind is None:
        kind = opt.op_kind(d.op_type, bool(d.params or d.reads_params))
    type_ = cls or d.op_type
    return kind, type_, _attrs(g, d, grp.ops)


def _attrs(g: ModelGraph, d: Node, ops_: Sequence[Node]) -> dict[str, Any]:
    """The main op's attributes (its first parameter's shape gives sizes) and the layer's data op types."""
    w = g.initializers[d.params[0]].shape if d.params else None
    out = opt.op_attributes(d.op_type, d.attrs, w)
    types: list[str] = []
    for n in ops_:
        if n.role is NodeRole.DATA and n.op_type not in types:
            types.append(n.op_type)
    out["op_types"] = tuple(types)
    return out


def _last_shape(g: ModelGraph, ops_: Sequence[Node]) -> Any:
    for n in reversed(ops_):
        for out in n.outputs:
            if out:
                return g.tensors[out].shape
    return None


def framework_shape(record: LayerRecord | None, onnx_shape: Shape | None) -> Shape | None:
    """The layer's output shape as its framework reports it, batch size from the graph.

    Keras layers are channels-last while tf2onnx computes channels-first, so a record's
    own shape wins over the ONNX tensor's; ``None`` dimensions of the record take the
    graph's value at that position when the ranks agree.

    >>> framework_shape(LayerRecord("c", "c", "Conv2D", output_shape=(None, 8, 8, 4)), (1, 4, 8, 8))
    (1, 8, 8, 4)
    >>> framework_shape(None, (1, 4))
    (1, 4)
    """
    if record is None or record.output_shape is None:
        return onnx_shape
    return fill_unknown(tuple(record.output_shape), onnx_shape)


def fill_unknown(shape: Shape | None, known: Shape | None) -> Shape | None:
    """``shape`` with its unknown dimensions taken from ``known`` (same rank), or ``known``.

    >>> fill_unknown((None, 16), (1, 16))
    (1, 16)
    >>> fill_unknown(None, (1, 16))
    (1, 16)
    """
    if shape is None:
        return known
    if known is None or len(known) != len(shape):
        return shape
    return tuple(k if d is None else d for d, k in zip(shape, known))


__all__ = ["add_op_entries", "fill_unknown", "framework_shape", "set_op_shapes"]
