"""Weight statistics as data: per layer, per weight tensor.

The statistics come from the ONNX graph's weights (initializers, and ``Constant`` nodes
holding floating-point tensors), each grouped under the layer whose ops read it first,
so that a PyTorch, a Keras and an ONNX model are all treated alike. Nothing here draws
or writes; :mod:`modelmap.exporters.weights_report` and
:mod:`modelmap.exporters.tensorboard` do.

What counts as a weight
    A floating-point tensor with at least two elements that a node of some layer reads
    and that is not the input of a shape or index computation (Reshape's shape, Resize's
    scales, ...). Integer tensors are shape constants; float scalars are constants such
    as ``0.5`` in ``x * 0.5``. BatchNorm running mean and variance are included (role
    ``mean``/``var``): they are what the graph computes with.

Layout
    The arrays yielded by :func:`iter_weights` are in ONNX's layout, which is the same for
    every framework: convolution kernels ``(out, in / group, *kernel)``; matrices
    ``(out, in)`` (a ``MatMul`` weight, stored ``(in, out)``, and a ``Gemm`` weight with
    ``transB=0`` are transposed so that a Keras ``Dense`` and a PyTorch ``Linear`` look the
    same).

Big tensors
    Mean, std, min, max and the near-zero fraction are exact. Histograms are computed on a
    seeded uniform sample of :attr:`WeightOptions.max_hist_values` values when a tensor is
    bigger; :attr:`TensorStats.sampled` says so.

>>> import numpy as np
>>> s = tensor_stats("fc/W", np.array([[0.0, 1.0], [-1.0, 0.0]], dtype=np.float32), layer="fc", role="weight")
>>> (s.count, s.mean, s.min, s.max, s.near_zero)
(4, 0.0, -1.0, 1.0, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from modelmap._errors import InputError

from .ops import ROLES, is_constant_op, meta_slot, stores_weight_transposed

FLOAT_TYPES = frozenset({1, 10, 11, 16})  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass(frozen=True)
class WeightOptions:
    """How statistics are computed.

    ``near_zero``
        A weight counts as near zero when ``|w| <= near_zero`` (default ``1e-3``).
    ``bins``
        Histogram bins per tensor.
    ``max_hist_values``
        Tensors with more values are histogrammed from a seeded uniform sample of this size.
    """

    near_zero: float = 1e-3
    bins: int = 30
    max_hist_values: int = 1_000_000

    def __post_init__(self) -> None:
        if not (isinstance(self.near_zero, (int, float)) and self.near_zero >= 0 and math.isfinite(self.near_zero)):
            raise InputError(f"near_zero must be a finite number >= 0, not {self.near_zero!r}")
        if not isinstance(self.bins, int) or isinstance(self.bins, bool) or self.bins < 1:
            raise InputError(f"bins must be a positive integer, not {self.bins!r}")
        if not isinstance(self.max_hist_values, int) or self.max_hist_values < 2:
            raise InputError(f"max_hist_values must be an integer >= 2, not {self.max_hist_values!r}")


@dataclass(frozen=True)
class Histogram:
    """``counts[i]`` values fell in ``[edges[i], edges[i + 1])`` (the last bin is closed)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class TensorStats:
    """Statistics of one weight tensor.

    ``name`` is the ONNX tensor name, ``role`` what the reading op does with it
    (``weight``, ``bias``, ``scale``, ``mean``, ``var``, ...), ``shape`` the shape in
    ONNX's layout (see the module docstring). ``near_zero`` is the fraction of values
    with ``|w| <= WeightOptions.near_zero``; ``nonfinite`` counts NaN and infinities,
    which the other statistics leave out. ``sampled`` is True when ``histogram`` was
    computed on a sample of ``histogram_values`` values rather than all ``count``.
    """

    name: str
    layer: str
    role: str
    shape: tuple[int, ...]
    dtype: str
    count: int
    mean: float
    std: float
    min: float
    max: float
    near_zero: float
    histogram: Histogram
    histogram_values: int
    sampled: bool = False
    nonfinite: int = 0
    shared_with: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["histogram"] = {"edges": list(self.histogram.edges), "counts": list(self.histogram.counts)}
        d["shared_with"] = list(self.shared_with)
        return d


@dataclass(frozen=True)
class LayerStats:
    """The weights of one layer and their statistics over all its tensors together."""

    layer: str
    type: str
    kind: str
    tensors: tuple[TensorStats, ...]
    count: int
    mean: float
    std: float
    min: float
    max: float
    near_zero: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "type": self.type,
            "kind": self.kind,
            "count": self.count,
            "mean": self.mean,
            "std": self.std,
            "min": self.min,
            "max": self.max,
            "near_zero": self.near_zero,
            "tensors": [t.to_dict() for t in self.tensors],
        }


@dataclass(frozen=True)
class WeightStats:
    """Every layer with weights, in execution order, plus the options used."""

    layers: tuple[LayerStats, ...]
    options: WeightOptions = field(default_factory=WeightOptions)

    @property
    def tensors(self) -> tuple[TensorStats, ...]:
        return tuple(t for layer in self.layers for t in layer.tensors)

    @property
    def count(self) -> int:
        """Number of weight values, each tensor counted once however many layers read it."""
        unique = {t.name: t.count for t in self.tensors}
        return sum(unique.values())

    def layer(self, name: str) -> LayerStats:
        for layer in self.layers:
            if layer.layer == name:
                return layer
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "near_zero_threshold": self.options.near_zero,
            "bins": self.options.bins,
            "max_hist_values": self.options.max_hist_values,
            "count": self.count,
            "layers": [layer.to_dict() for layer in self.layers],
        }


@dataclass(frozen=True, eq=False)
class WeightTensor:
    """One weight tensor as an array (ONNX layout, matrices as ``(out, in)``), where it is read."""

    name: str
    layer: str
    role: str
    array: np.ndarray
    dtype: str
    shared_with: tuple[str, ...] = ()


# --------------------------------------------------------------------------- collection


def _tensor_array(t: Any) -> np.ndarray:
    from onnx import numpy_helper

    try:
        return numpy_helper.to_array(t)
    except Exception as e:  # external data that is missing, a corrupt raw_data
        raise InputError(f"cannot read weight tensor {t.name!r}: {e}") from None


def _const_tensors(graph: Any) -> dict[str, Any]:
    """Name -> TensorProto of every initializer and ``Constant`` node value in ``graph``."""
    out = {t.name: t for t in graph.initializer}
    for node in graph.node:
        if is_constant_op(node.op_type) and node.output:
            for a in node.attribute:
                if a.name == "value" and a.t is not None:
                    out[node.output[0]] = a.t
    return out


def _role(op: str, slot: int) -> str | None:
    if meta_slot(op, slot):
        return None
    roles = ROLES.get(op)
    if roles is None or slot >= len(roles):
        return "param"
    return roles[slot]


def layer_nodes(analysis: Any) -> Iterator[tuple[str, str, tuple[str, ...], Mapping[str, Any]]]:
    """(layer, op type, input tensor names, attributes) of every op of every layer.

    Reads :meth:`Analysis.ops <modelmap.core.analysis.Analysis.ops>` when ``analysis`` has
    it, else the ONNX nodes of ``analysis.model`` named in each layer's ``ops``.
    """
    ops_of = getattr(analysis, "ops", None)
    if callable(ops_of):
        for layer in analysis.layers:
            for op in ops_of(layer.name):
                yield layer.name, op.op_type, op.input_names, op.attrs
        return
    from onnx import helper

    by_name = {n.name: n for n in analysis.model.graph.node}
    for layer in analysis.layers:
        for op in layer.ops:
            node = by_name.get(op)
            if node is not None:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute if a.type != a.GRAPH}
                yield layer.name, node.op_type, tuple(node.input), attrs


def iter_weights(analysis: Any) -> Iterator[WeightTensor]:
    """Every weight tensor of ``analysis.model`` under each layer reading it, in execution order.

    ``analysis`` is an :class:`~modelmap.core.analysis.Analysis`, or anything with ``.model``
    (an ``onnx.ModelProto``) and ``.layers`` (records with ``name`` and ``ops``, the ONNX
    node names of each layer).

    A tensor read by several layers (tied weights; tf2onnx also merges equal constants,
    such as the ones and zeros of untrained BatchNorm layers) is yielded once per layer,
    the same array each time, with the other layers in ``shared_with``. A tensor read at
    several slots of one layer gets the roles joined (``scale/var``). Ops outside every
    layer are ignored.
    """
    consts = _const_tensors(analysis.model.graph)
    found: dict[tuple[str, str], list[str]] = {}  # (layer, tensor) -> roles, in reading order
    transposed: dict[str, bool] = {}
    readers: dict[str, list[str]] = {}
    for layer, op_type, inputs, attrs in layer_nodes(analysis):
        if is_constant_op(op_type):
            continue
        for slot, name in enumerate(inputs):
            t = consts.get(name)
            if t is None or t.data_type not in FLOAT_TYPES:
                continue
            if (math.prod(t.dims) if t.dims else 1) < 2:
                continue
            role = _role(op_type, slot)
            if role is None:
                continue
            readers.setdefault(name, [])
            if layer not in readers[name]:
                readers[name].append(layer)
            roles = found.setdefault((layer, name), [])
            if role not in roles:
                roles.append(role)
            if name not in transposed:
                transposed[name] = (
                    len(t.dims) == 2 and role == "weight" and slot == 1 and stores_weight_transposed(op_type, attrs)
                )
    arrays: dict[str, np.ndarray] = {}
    for (layer, name), roles in found.items():
        arr = arrays.get(name)
        if arr is None:
            arr = _tensor_array(consts[name])
            if transposed[name]:
                arr = arr.T
            arr.setflags(write=False)
            arrays[name] = arr
        yield WeightTensor(
            name=name,
            layer=layer,
            role="/".join(roles),
            array=arr,
            dtype=str(arr.dtype),
            shared_with=tuple(r for r in readers[name] if r != layer),
        )


# --------------------------------------------------------------------------- statistics


def _sample(values: np.ndarray, k: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return values[rng.integers(0, values.size, size=k)]


def tensor_stats(
    name: str,
    array: np.ndarray,
    *,
    layer: str = "",
    role: str = "weight",
    options: WeightOptions | None = None,
    shared_with: tuple[str, ...] = (),
) -> TensorStats:
    """Statistics of one array (see :class:`TensorStats`); NaN/inf are counted, then left out."""
    options = options or WeightOptions()
    flat = np.asarray(array).reshape(-1)
    dtype = str(np.asarray(array).dtype)
    if flat.dtype != np.float64:
        flat = flat.astype(np.float32, copy=False)
    finite_mask = np.isfinite(flat)
    nonfinite = int(flat.size - np.count_nonzero(finite_mask))
    values = flat[finite_mask] if nonfinite else flat
    n = int(values.size)
    if n == 0:
        hist = Histogram(edges=(0.0, 0.0), counts=(0,))
        return TensorStats(
            name, layer, role, tuple(int(d) for d in np.shape(array)), dtype, int(flat.size),
            math.nan, math.nan, math.nan, math.nan, math.nan, hist, 0, False, nonfinite, shared_with,
        )  # fmt: skip
    v64 = values.astype(np.float64, copy=False)
    mean = float(v64.mean())
    std = float(v64.std())
    lo = float(values.min())
    hi = float(values.max())
    near = float(np.count_nonzero(np.abs(values) <= options.near_zero) / n)
    sampled = n > options.max_hist_values
    hv = _sample(values, options.max_hist_values) if sampled else values
    if lo == hi:  # one value: a spike in the middle of a range of width max(|v|, 1)
        half = max(abs(lo), 1.0) / 2
        counts, edges = np.histogram(hv, bins=options.bins, range=(lo - half, hi + half))
    else:
        counts, edges = np.histogram(hv, bins=options.bins, range=(lo, hi))
    hist = Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))
    return TensorStats(
        name=name,
        layer=layer,
        role=role,
        shape=tuple(int(d) for d in np.shape(array)),
        dtype=dtype,
        count=int(flat.size),
        mean=mean,
        std=std,
        min=lo,
        max=hi,
        near_zero=near,
        histogram=hist,
        histogram_values=int(hv.size),
        sampled=sampled,
        nonfinite=nonfinite,
        shared_with=shared_with,
    )


def stats_for(w: WeightTensor, options: WeightOptions, cache: dict[str, TensorStats] | None = None) -> TensorStats:
    """:func:`tensor_stats` of ``w``, computed once per tensor when a ``cache`` is shared."""
    base = cache.get(w.name) if cache is not None else None
    if base is None:
        base = tensor_stats(w.name, w.array, options=options)
        if cache is not None:
            cache[w.name] = base
    return replace(base, layer=w.layer, role=w.role, shared_with=w.shared_with)


def _combine(tensors: list[TensorStats]) -> tuple[int, float, float, float, float, float]:
    """Pooled count, mean, std, min, max, near-zero fraction of several tensors."""
    good = [t for t in tensors if t.count - t.nonfinite > 0]
    count = sum(t.count for t in tensors)
    n = sum(t.count - t.nonfinite for t in good)
    if n == 0:
        return count, math.nan, math.nan, math.nan, math.nan, math.nan
    mean = sum(t.mean * (t.count - t.nonfinite) for t in good) / n
    second = sum((t.std**2 + t.mean**2) * (t.count - t.nonfinite) for t in good) / n
    std = math.sqrt(max(second - mean**2, 0.0))
    near = sum(t.near_zero * (t.count - t.nonfinite) for t in good) / n
    return count, mean, std, min(t.min for t in good), max(t.max for t in good), near


def layer_stats(layer: str, tensors: list[TensorStats], *, type: str = "", kind: str = "") -> LayerStats:
    """Pool the statistics of one layer's tensors."""
    count, mean, std, lo, hi, near = _combine(tensors)
    return LayerStats(layer, type, kind, tuple(tensors), count, mean, std, lo, hi, near)


def weight_stats(analysis: Any, options: WeightOptions | None = None) -> WeightStats:
    """The weight statistics of every layer of ``analysis`` that has weights.

    Parameters
    ----------
    analysis
        An :class:`~modelmap.core.analysis.Analysis` (anything with ``model`` and
        ``layers`` whose records carry ``name``, ``type``, ``kind`` and ``ops``).
    options
        :class:`WeightOptions`; the defaults when None.

    Returns
    -------
    WeightStats
        Layers in execution order, each with its tensors in the order they are read.
    """
    options = options or WeightOptions()
    by_layer: dict[str, list[TensorStats]] = {}
    cache: dict[str, TensorStats] = {}
    for w in iter_weights(analysis):
        by_layer.setdefault(w.layer, []).append(stats_for(w, options, cache))
    return collect_layers(analysis, by_layer, options)


def collect_layers(analysis: Any, by_layer: dict[str, list[TensorStats]], options: WeightOptions) -> WeightStats:
    """Per-tensor statistics grouped by layer name -> :class:`WeightStats` in execution order."""
    layers = []
    for layer in analysis.layers:
        tensors = by_layer.get(layer.name)
        if tensors:
            layers.append(layer_stats(layer.name, tensors, type=layer.type, kind=str(layer.kind)))
    return WeightStats(tuple(layers), options)


__all__ = [
    "Histogram",
    "LayerStats",
    "TensorStats",
    "WeightOptions",
    "WeightStats",
    "WeightTensor",
    "collect_layers",
    "iter_weights",
    "layer_nodes",
    "layer_stats",
    "stats_for",
    "tensor_stats",
    "weight_stats",
]
