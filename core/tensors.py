"""Tensors while and after a graph is built: their records, their ONNX types, and initializers.

:class:`TensorInfo` says who makes a tensor and who reads it; :class:`ParamInfo` describes
an initializer; :class:`Source` is a tensor while :func:`~.graph.build_graph` resolves
what each node reads. The readers decode ONNX types once per distinct ``TypeProto``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import onnx

from .kinds import NodeRole

FLOAT_TYPES = frozenset(
    {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
    }
)


@dataclass(slots=True)
class TensorInfo:
    """A tensor: who makes it (``producer`` node id and output ``slot``) and who reads it."""

    name: str
    shape: tuple | None = None
    dtype: str = ""
    producer: str | None = None
    slot: int = 0
    consumers: list[tuple[str, int]] = field(default_factory=list)
    initializer: bool = False


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """An initializer: its shape, element count, dtype, and whether it counts as a parameter.

    A parameter is a floating-point initializer with more than one element; scalars are
    constants.
    """

    name: str
    shape: tuple[int, ...]
    numel: int
    dtype: str
    is_param: bool


@dataclass(slots=True)
class Source:
    """A tensor while the graph is built: its record, the file position of the op that
    makes it (``-1`` for initializers and graph inputs), the node number of the graph
    input that is it (else ``-1``), and, for initializers and graph inputs, its role."""

    tensor: TensorInfo
    op: int
    number: int
    role: NodeRole | None


UNKNOWN_TYPE: tuple[None, str] = (None, "")


def initializers(graph: onnx.GraphProto) -> Iterator[tuple[str, tuple[int, ...], int]]:
    """(name, dims, data type) of every initializer, dense ones first, then sparse ones."""
    for t in graph.initializer:
        yield t.name, tuple(t.dims), t.data_type
    for sp in graph.sparse_initializer:
        yield sp.values.name, tuple(sp.dims), sp.values.data_type


_DATA_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def without_values(graph: onnx.GraphProto) -> list[str]:
    """Names of the initializers that have a shape and no values: a structure-only model.

    Converters leave weight values out when no command needs them (a drawing, an
    analysis), and a model on PyTorch's meta device has none; such an initializer keeps
    its ``dims`` and ``data_type`` and holds neither data nor an external-data reference.

    >>> t = onnx.helper.make_tensor("W", onnx.TensorProto.FLOAT, [2, 3], [0.0] * 6)
    >>> g = onnx.helper.make_graph([], "g", [], [], [t, onnx.TensorProto(name="V", dims=[4], data_type=1)])
    >>> without_values(g)
    ['V']
    """
    out = []
    for t in graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL or t.HasField("raw_data"):
            continue
        if any(len(getattr(t, f)) for f in _DATA_FIELDS) or 0 in t.dims:
            continue
        out.append(t.name)
    return out


def value_types(graph: onnx.GraphProto) -> dict[str, tuple[tuple | None, str]]:
    """Tensor name -> (shape, dtype) from ``value_info``, inputs and outputs (later wins).

    Most tensors of a network share a handful of types, so each distinct ``TypeProto``
    (by its serialised bytes) is decoded once.
    """
    decoded: dict[bytes, tuple[tuple | None, str]] = {}
    out: dict[str, tuple[tuple | None, str]] = {}
    for infos in (graph.value_info, graph.input, graph.output):
        for vi in infos:
            if not vi.HasField("type"):
                continue
            tp = vi.type
            key = tp.SerializeToString()
            info = decoded.get(key)
            if info is None:
                info = decoded[key] = _type_info(tp)
            out[vi.name] = info
    return out


_DTYPES: dict[int, str] = {}


def dtype_name(elem_type: int) -> str:
    """The lowercase name of an ONNX element type (``float``), ``""`` when unknown."""
    name = _DTYPES.get(elem_type)
    if name is None:
        try:
            name = onnx.TensorProto.DataType.Name(elem_type).lower()
        except ValueError:
            name = ""
        _DTYPES[elem_type] = name
    return name


def _type_info(tp: onnx.TypeProto | None) -> tuple[tuple | None, str]:
    if tp is None or not tp.HasField("tensor_type"):
        return None, ""
    tt = tp.tensor_type
    dtype = dtype_name(tt.elem_type) if tt.elem_type else ""
    if not tt.HasField("shape"):
        return None, dtype
    dims: list[int | str | None] = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        dims.append(d.dim_value if which == "dim_value" else d.dim_param if which == "dim_param" else None)
    return tuple(dims), dtype


__all__ = ["FLOAT_TYPES", "UNKNOWN_TYPE", "ParamInfo", "Source", "TensorInfo", "dtype_name", "initializers", "value_types", "without_values"]
