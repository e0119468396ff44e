"""What one forward pass costs: multiply-accumulates (MACs), activation and weight bytes.

:func:`compute_costs` is a pure function over an :class:`~.analysis.Analysis` (its op
graph and layers). It counts, at the example input's shapes:

- **MACs** of the ops that multiply and accumulate, one formula per op kind in
  :data:`FORMULAS` (which op types use which formula is :data:`~.ops.MAC_FORMULAS`):
  Conv, ConvTranspose, Gemm, MatMul (attention's ``Q K^T`` and ``A V`` are MatMuls),
  Einsum, LSTM/GRU/RNN and ONNX's Attention. Elementwise, normalisation, activation,
  pooling and reshaping ops cost no MACs; biases are not counted (as
  ``torch.utils.flop_counter`` and fvcore do not). Only ops on the data flow count: a
  computation on weights or shapes alone is not part of the forward pass.
- **Output bytes** of a layer (or of a module collapsed at some depth): the bytes of the
  tensors it hands to other layers or to the graph's outputs. A layer that leaves no op
  (a Dropout at inference) makes no tensor: 0.
- **Parameter bytes**: the parameters (the framework's own count, :attr:`Analysis.params`)
  times their element size, as stored in the model's weight tensors (4 for float32; the
  mean over the weights when their types are mixed). The bytes of the stored tensors
  themselves would not do: exporters deduplicate equal constants (tf2onnx shares a fresh
  BatchNorm's ones and zeros) and PyTorch keeps buffers that are not parameters.

Symbolic dimensions: converters export PyTorch and Keras models at the example input's
shapes, so their graphs have none. An ONNX file's symbolic input dimensions (``batch``)
take the sizes given with ``--input-shape`` (the ONNX converter fixes them); any left
are taken as 1 and shapes inferred again (:attr:`Costs.bound` lists them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .graph import ModelGraph
from .kinds import NodeRole
from .node import Node
from .ops import DTYPE_BYTES, MAC_FORMULAS
from .proto import infer_shapes
from .tensors import value_types

if TYPE_CHECKING:  # pragma: no cover
    import onnx

    from .analysis import Analysis

Shapes = Mapping[str, tuple]  # tensor name -> shape: ints, None where unknown


@dataclass(frozen=True, slots=True)
class LayerCost:
    """One layer's (or module's) MACs and output bytes."""

    macs: int = 0
    output_bytes: int = 0


@dataclass(frozen=True)
class Costs:
    """The costs of one forward pass (see the module docstring).

    Attributes
    ----------
    macs : int
        Total multiply-accumulates (1 MAC = 2 FLOPs).
    param_bytes : int
        Parameters times their stored element size.
    layers : dict[str, LayerCost]
        Layer name -> its MACs and output bytes.
    ops : dict[str, int]
        Op id -> MACs, for every op with a MAC formula on the data flow.
    unknown : tuple[str, ...]
        Ops with a MAC formula whose shapes are unknown (counted as 0).
    bound : dict[str, int]
        Symbolic dimension -> the size it was given (1 when nothing said otherwise).
    """

    macs: int
    param_bytes: int
    layers: Mapping[str, LayerCost] = field(default_factory=dict)
    ops: Mapping[str, int] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()
    bound: Mapping[str, int] = field(default_factory=dict)
    _shapes: Shapes = field(default_factory=dict, repr=False)

    def group(self, g: ModelGraph, ops: Iterable[str]) -> LayerCost:
        """The cost of a group of ops (a module collapsed at some depth): MACs summed,
        output bytes of the tensors leaving the group."""
        members = set(ops)
        macs = sum(self.ops.get(op, 0) for op in members)
        return LayerCost(macs, _boundary_bytes(g, members, self._shapes))


# --------------------------------------------------------------------------- formulas
def _numel(shape: Sequence[int]) -> int:
    return math.prod(shape)


def conv_macs(x: tuple, w: tuple, y: tuple, attrs: Mapping) -> int:
    """Each output element: one MAC per weight of one filter (``C_in/groups * k...``).

    >>> conv_macs((1, 3, 8, 8), (4, 3, 3, 3), (1, 4, 8, 8), {})   # 4*8*8 outputs x 27
    6912
    """
    return _numel(y) * _numel(w[1:])


def conv_transpose_macs(x: tuple, w: tuple, y: tuple, attrs: Mapping) -> int:
    """Each *input* element is scattered over ``C_out/groups * k...`` outputs.

    >>> conv_transpose_macs((1, 4, 4, 4), (4, 2, 2, 2), (1, 2, 8, 8), {})   # 64 inputs x 8
    512
    """
    return _numel(x) * _numel(w[1:])


def gemm_macs(a: tuple, b: tuple, y: tuple, attrs: Mapping) -> int:
    """``Y[M, N] = A[M, K] B[K, N]``: ``M N K`` (``transA`` read for K).

    >>> gemm_macs((2, 5), (5, 3), (2, 3), {}), gemm_macs((5, 2), (3, 5), (2, 3), {"transA": 1})
    (30, 30)
    """
    k = a[0] if attrs.get("transA", 0) else a[1]
    return _numel(y) * k


def matmul_macs(a: tuple, b: tuple, y: tuple, attrs: Mapping) -> int:
    """Broadcast batched matmul: every output element sums over ``K``, ``A``'s last dim.

    >>> matmul_macs((2, 4, 6, 8), (2, 4, 8, 6), (2, 4, 6, 6), {})   # attention's Q K^T
    2304
    """
    return _numel(y) * a[-1]


def einsum_macs(shapes: Sequence[tuple], equation: str) -> int:
    """The product of the sizes of every index, for two or more operands; 0 for one.

    >>> einsum_macs([(2, 3, 4), (2, 4, 5)], "bij,bjk->bik")   # 2*3*4*5
    120
    >>> einsum_macs([(7, 2, 3), (7, 3)], "...ij,...j->...i")
    42
    """
    if len(shapes) < 2:
        return 0
    lhs = equation.replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for term, shape in zip(lhs, shapes):
        if "..." in term:
            head, tail = term.split("...")
            n = len(shape) - len(head) - len(tail)
            # broadcast dims, aligned from the right, get names no letter can clash with
            term = [*head, *(f"#{n - i}" for i in range(n)), *tail]
        for label, size in zip(term, shape):
            sizes[label] = max(sizes.get(label, 1), size)
    return _numel(sizes.values())


def recurrent_macs(x: tuple, w: tuple, r: tuple, attrs: Mapping) -> int:
    """LSTM/GRU/RNN: per time step and batch row, one MAC per weight of ``W`` and ``R``.

    ``W`` is ``[directions, gates * hidden, input]``, ``R`` ``[directions, gates * hidden,
    hidden]``, ``X`` ``[seq, batch, input]`` (``layout=1``: batch first). An LSTM of
    hidden size 4 over 3 steps of 5 features, batch 2: 3 * 2 * (16*5 + 16*4).

    >>> recurrent_macs((3, 2, 5), (1, 16, 5), (1, 16, 4), {})
    864
    """
    steps = x[0] * x[1]
    return steps * (_numel(w) + _numel(r))


def attention_macs(q: tuple, k: tuple, v: tuple, attrs: Mapping) -> int:
    """ONNX ``Attention``: ``Q K^T`` plus ``A V`` for every head.

    4-D inputs are ``[batch, heads, seq, head size]``; 3-D ones ``[batch, seq, heads *
    head size]`` with ``q_num_heads``/``kv_num_heads``.

    >>> attention_macs((1, 2, 6, 8), (1, 2, 10, 8), (1, 2, 10, 4), {})   # 2*6*10*(8+4)
    1440
    >>> attention_macs((1, 6, 16), (1, 10, 16), (1, 10, 8), {"q_num_heads": 2, "kv_num_heads": 2})
    1440
    """
    if len(q) == 4:
        return q[0] * q[1] * q[2] * k[2] * (q[3] + v[3])
    heads_q, heads_kv = attrs.get("q_num_heads", 1), attrs.get("kv_num_heads", 1)
    return q[0] * q[1] * k[1] * (q[2] + v[2] * heads_q // heads_kv)


#: formula name (:data:`~.ops.MAC_FORMULAS`) -> (function, input slots it reads, whether
#: it also reads the first output's shape)
FORMULAS: dict[str, tuple[Callable[..., int], tuple[int, ...], bool]] = {
    "conv": (conv_macs, (0, 1), True),
    "conv_transpose": (conv_transpose_macs, (0, 1), True),
    "gemm": (gemm_macs, (0, 1), True),
    "matmul": (matmul_macs, (0, 1), True),
    "recurrent": (recurrent_macs, (0, 1, 2), False),
    "attention": (attention_macs, (0, 1, 2), False),
}


def op_macs(node: Node, shapes: Shapes) -> int | None:
    """The MACs of one op, 0 if it has no formula, None if a shape it needs is unknown."""
    name = MAC_FORMULAS.get(node.op_type)
    if name is None or node.domain not in ("", "ai.onnx"):
        return 0
    if name == "einsum":
        operands = [shapes.get(t) for t in node.inputs]
        if any(s is None or None in s for s in operands):
            return None
        return einsum_macs(operands, str(node.attrs.get("equation", "")))
    fn, slots, with_output = FORMULAS[name]
    args = [shapes.get(node.inputs[i]) if i < len(node.inputs) else None for i in slots]
    if with_output:
        args = args[:2] + [shapes.get(node.outputs[0])]
    if any(a is None for a in args):
        return None
    if node.op_type in ("LSTM", "GRU", "RNN") and node.attrs.get("layout", 0):
        args[0] = (args[0][1], args[0][0], *args[0][2:])  # batch first -> time first
    try:
        return int(fn(*args, node.attrs))
    except TypeError:  # a dimension the formula needs is unknown (None)
        return None


# --------------------------------------------------------------------------- shapes and bytes
def _concrete(shape: tuple | None, bound: Mapping[str, int]) -> tuple | None:
    """``shape`` with bound symbols replaced by sizes and other unknown dims by None."""
    if shape is None:
        return None
    return tuple(
        d if isinstance(d, int) and d >= 0 else bound.get(d) if isinstance(d, str) else None for d in shape
    )


def _bind_inputs(g: ModelGraph, input_shapes: Sequence[Sequence[int]] | None) -> dict[str, int]:
    """Symbolic input dimension -> size: from ``input_shapes`` (one per graph input), else 1."""
    bound: dict[str, int] = {}
    for k, nid in enumerate(g.inputs):
        shape = g.tensors[g.by_id[nid].outputs[0]].shape or ()
        given = input_shapes[k] if input_shapes and k < len(input_shapes) else None
        for i, d in enumerate(shape):
            if isinstance(d, str) and d not in bound:
                bound[d] = int(given[i]) if given is not None and i < len(given) else 1
    return bound


def fix_input_dims(model: onnx.ModelProto, sizes: Mapping[str, int] | Sequence[Sequence[int]]) -> onnx.ModelProto:
    """Give the symbolic dimensions of ``model``'s graph inputs fixed sizes, in place.

    ``sizes`` maps a dimension's name to its size, or holds one shape per graph input
    (initializers excluded). Returns ``model``.
    """
    names = {t.name for t in model.graph.initializer}
    inputs = [vi for vi in model.graph.input if vi.name not in names]
    for k, vi in enumerate(inputs):
        dims = vi.type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            if isinstance(sizes, Mapping):
                size = sizes.get(d.dim_param) if d.HasField("dim_param") else None
            else:
                size = sizes[k][i] if k < len(sizes) and i < len(sizes[k]) else None
            if size is not None and not d.HasField("dim_value"):
                d.dim_value = int(size)
    return model


def _shapes(g: ModelGraph, bound: Mapping[str, int]) -> dict[str, tuple]:
    """Tensor name -> shape (unknown dims None); shapes inferred again when input dims were bound."""
    if bound:
        import onnx

        copy = onnx.ModelProto()
        copy.CopyFrom(g.model)
        del copy.graph.value_info[:]
        inferred = infer_shapes(fix_input_dims(copy, bound)).graph
        types = value_types(inferred)
        raw = {name: types.get(name, (t.shape, ""))[0] for name, t in g.tensors.items()}
    else:
        raw = {name: t.shape for name, t in g.tensors.items()}
    out = {}
    for name, shape in raw.items():
        c = _concrete(shape, bound)
        if c is not None:
            out[name] = c
    return out


def tensor_bytes(g: ModelGraph, name: str, shapes: Shapes) -> int:
    """Bytes of one tensor (0 when its shape or element type is unknown)."""
    shape = shapes.get(name)
    size = DTYPE_BYTES.get(g.tensors[name].dtype)
    if shape is None or None in shape or size is None:
        return 0
    return int(_numel(shape) * size)


def _boundary_bytes(g: ModelGraph, ops: set[str], shapes: Shapes) -> int:
    """Bytes of the tensors made by ``ops`` and read outside them (or graph outputs)."""
    total = 0
    for op in ops:
        for name in g.by_id[op].outputs:
            t = g.tensors.get(name)
            if t is not None and any(c not in ops for c, _ in t.consumers):
                total += tensor_bytes(g, name, shapes)
    return total


def param_bytes(g: ModelGraph, params: int) -> int:
    """``params`` times the mean element size of the parameter initializers (4 if none)."""
    weights = [p for p in g.initializers.values() if p.is_param]
    count = sum(p.numel for p in weights)
    if not count:
        return 4 * params
    size = sum(p.numel * DTYPE_BYTES.get(p.dtype, 4) for p in weights) / count
    return int(round(params * size))


# --------------------------------------------------------------------------- the pass
def compute_costs(analysis: Analysis, input_shapes: Sequence[Sequence[int]] | None = None) -> Costs:
    """MACs per op, per layer and in total, each layer's output bytes, parameter bytes.

    Parameters
    ----------
    analysis : Analysis
    input_shapes : sequence of shapes, optional
        Sizes for symbolic graph-input dimensions, one shape per graph input; a
        symbolic dimension not given is 1.

    Examples
    --------
    >>> import numpy as np, onnx
    >>> from modelmap.core import analyze_onnx
    >>> m = onnx.parser.parse_model('''<ir_version: 8, opset_import: ["" : 17]>
    ... g (float[N,3,8,8] x) => (float[N,4,8,8] y) {
    ...   c = Conv<pads=[1,1,1,1]>(x, W)  y = Relu(c) }''')
    >>> _ = m.graph.initializer.append(onnx.numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "W"))
    >>> costs = compute_costs(analyze_onnx(m), [(2, 3, 8, 8)])
    >>> costs.macs, costs.bound, costs.param_bytes     # 2 * 4*8*8 * 27 MACs; 108 floats
    (13824, {'N': 2}, 432)
    """
    g = analysis.graph
    bound = _bind_inputs(g, input_shapes)
    shapes = _shapes(g, bound)
    per_op: dict[str, int] = {}
    unknown: list[str] = []
    for node in g.op_records:
        if node.role != NodeRole.DATA or node.op_type not in MAC_FORMULAS:
            continue
        macs = op_macs(node, shapes)
        if macs is None:
            unknown.append(node.id)
        else:
            per_op[node.id] = macs
    layers = {}
    for layer in analysis.layers:
        ops = set(layer.ops)
        layers[layer.name] = LayerCost(
            sum(per_op.get(op, 0) for op in ops), _boundary_bytes(g, ops, shapes) if ops else 0
        )
    return Costs(
        macs=sum(per_op.values()),
        param_bytes=param_bytes(g, analysis.params),
        layers=layers,
        ops=per_op,
        unknown=tuple(unknown),
        bound=bound,
        _shapes=shapes,
    )


def with_costs(analysis: Analysis, costs: Costs, entries: list[dict]) -> list[dict]:
    """``analyze --json`` layer entries with ``macs`` and ``output_bytes`` after ``params``.

    An entry with ``members`` (a module collapsed at a depth) costs what its members'
    ops cost together.
    """
    by_name = {layer.name: layer for layer in analysis.layers}
    out = []
    for e in entries:
        members = e.get("members")
        if members is None or list(members) == [e["name"]]:
            cost = costs.layers.get(e["name"], LayerCost())
        else:
            cost = costs.group(analysis.graph, (op for m in members for op in by_name[m].ops))
        entry = {}
        for key, value in e.items():
            entry[key] = value
            if key == "params":
                entry["macs"] = cost.macs
                entry["output_bytes"] = cost.output_bytes
        out.append(entry)
    return out


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def human(n: float, unit: str = "") -> str:
    """A count in short SI form: ``1.23G``; bytes with ``unit="B"`` (``"4.5MB"``).

    >>> human(1_234_567_890), human(512), human(4_500_000, "B")
    ('1.23G', '512', '4.5MB')
    """
    for scale, prefix in _SI:
        if abs(n) >= scale:
            return f"{n / scale:.3g}{prefix}{unit}"
    return f"{int(n)}{unit}"


__all__ = [
    "FORMULAS",
    "Costs",
    "LayerCost",
    "attention_macs",
    "compute_costs",
    "conv_macs",
    "conv_transpose_macs",
    "einsum_macs",
    "fix_input_dims",
    "gemm_macs",
    "human",
    "matmul_macs",
    "op_macs",
    "param_bytes",
    "recurrent_macs",
    "tensor_bytes",
    "with_costs",
]
