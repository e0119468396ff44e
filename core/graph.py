"""The op-level model graph: one node per ONNX op plus the graph's inputs and outputs.

:func:`build_graph` validates an ``onnx.ModelProto``, runs shape inference, and returns a
:class:`ModelGraph` over a networkx ``MultiDiGraph``:

- nodes are op ids (the ONNX node name, made unique), ``input:<name>`` for graph inputs
  and ``output:<name>`` for graph outputs; node attributes are described in
  :class:`ModelGraph`;
- one edge per tensor use, carrying ``tensor`` (name), ``shape``, ``dtype``,
  ``src_slot`` (producer output index) and ``dst_slot`` (consumer input index, ``-1``
  for a tensor an If/Loop/Scan body reads from the outer graph);
- initializers are not nodes: they are listed in the ``params`` of the nodes reading them.

Every node gets a ``role``:

``input`` / ``output``
    the graph's inputs and outputs;
``data``
    on the data flow: reads a graph input's values, directly or through other data ops;
``shape``
    computes from tensor *shapes* only (``Shape``/``Size``/``CastLike`` targets and what
    follows them, ``ConstantOfShape`` masks) or feeds nothing but shape-like inputs such
    as Reshape's second input;
``param``
    computes from learned parameters only (a positional-embedding lookup, ``Transpose(W)``);
``const``
    a constant (``Constant`` nodes and computations on constants).

Only ``input`` and ``data`` nodes take part in data-flow analyses (:meth:`ModelGraph.data_graph`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import onnx
from onnx import helper

from modelmap import _metadata as md
from modelmap._errors import InvalidGraphError

from .dataflow import DataFlow
from .ops import dtype_slot, meta_slot, value_meta_slot

from .kinds import AUX_ROLES, NodeRole

INPUT, OUTPUT, DATA, SHAPE, PARAM, CONST = (
    NodeRole.INPUT, NodeRole.OUTPUT, NodeRole.DATA, NodeRole.SHAPE, NodeRole.PARAM, NodeRole.CONST
)
_FLOAT_TYPES = frozenset(
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


#: attribute names of an op node's dict in :attr:`ModelGraph.info`, in order
_OP_KEYS = (
    "kind",
    "op_type",
    "domain",
    "name",
    "index",
    "namespace",
    "classes",
    "inputs",
    "outputs",
    "params",
    "attrs",
    "subgraphs",
    "role",
    "reads_params",
    "sources",
)
#: the same for graph inputs and outputs
_IO_KEYS = (
    "kind",
    "role",
    "op_type",
    "domain",
    "name",
    "namespace",
    "classes",
    "index",
    "inputs",
    "outputs",
    "params",
    "reads_params",
    "attrs",
    "subgraphs",
    "sources",
)


@dataclass(slots=True, eq=False)
class Node:
    """One node of a :class:`ModelGraph`: an op, a graph input or a graph output.

    The attributes are those :attr:`ModelGraph.info` describes, plus the node's ``id``,
    its ``number`` (position in :attr:`ModelGraph.nodes`) and ``producers``: for each of
    its ``sources``, the number of the node that makes the tensor (``-1`` for an
    initializer). Analyses read these records: an attribute of a record and a position in
    a list are much cheaper to reach than a key of a dict in a dict of a hundred
    thousand nodes.
    """

    id: str
    number: int
    kind: str
    op_type: str
    domain: str
    name: str
    index: int
    namespace: tuple[str, ...]
    classes: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: tuple[str, ...]
    attrs: dict[str, Any]
    subgraphs: dict[str, onnx.GraphProto]
    role: str
    reads_params: bool
    sources: tuple[tuple[str | None, str, int], ...]
    producers: tuple[int, ...]

    def attributes(self) -> dict[str, Any]:
        """The node's attribute dict (see :attr:`ModelGraph.info`)."""
        keys = _OP_KEYS if self.kind == "op" else _IO_KEYS
        return {k: getattr(self, k) for k in keys}


class ModelGraph:
    """The op graph of one ONNX model (see the module docstring).

    Attributes
    ----------
    nodes : list[Node]
        Every node by number: the graph inputs, then the ops in topological order, then
        the graph outputs. The storage the analyses read.
    by_id : dict[str, Node]
        Node id -> its record.
    info : dict
        Node id -> attribute dict (built on first use from :attr:`nodes`; read it, don't
        change it). Op node attributes: ``kind`` (``"op"``/``"input"``/``"output"``),
        ``op_type``, ``domain``, ``name`` (ONNX node name), ``index`` (position in
        topological order), ``namespace`` and ``classes`` (tuples from the node's
        metadata), ``role``, ``inputs``/``outputs`` (tensor names), ``params`` (names of
        parameter initializers read at data slots), ``attrs`` (ONNX attributes as Python
        values, graphs excluded), ``subgraphs`` (attribute name -> ``GraphProto``),
        ``reads_params`` (reads a parameter, or a tensor computed from parameters only such
        as ``Identity(W)`` or ``Transpose(W)``, at a data slot) and ``sources`` (see
        :meth:`sources`).
    nx : networkx.MultiDiGraph
        The same graph for networkx algorithms and readers (:attr:`nx`, built on first use).
    model : onnx.ModelProto
        The model after shape inference.
    ops : list[str]
        Op node ids in topological order.
    inputs, outputs : list[str]
        Node ids of the graph inputs and outputs.
    tensors : dict[str, TensorInfo]
    initializers : dict[str, ParamInfo]
    """

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self._nx: nx.MultiDiGraph | None = None
        self.ops: list[str] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.tensors: dict[str, TensorInfo] = {}
        self.initializers: dict[str, ParamInfo] = {}
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}
        self._info: dict[str, dict[str, Any]] | None = None
        self._data_graph: nx.DiGraph | None = None
        self._data_flow: DataFlow | None = None

    @property
    def info(self) -> dict[str, dict[str, Any]]:
        """Node id -> the node's attribute dict (built on first access, then kept; the same
        dicts networkx holds)."""
        if self._info is None:
            self._info = {n.id: n.attributes() for n in self.nodes}
        return self._info

    @property
    def op_records(self) -> list[Node]:
        """The op nodes in topological order (``op_records[i].index == i``)."""
        first = len(self.inputs)
        return self.nodes[first : first + len(self.ops)]

    @property
    def nx(self) -> nx.MultiDiGraph:
        """The graph as a networkx ``MultiDiGraph`` (built on first access, then kept).

        Node attribute dicts are the ones in :attr:`info`; one edge per tensor use.
        """
        if self._nx is None:
            g = nx.MultiDiGraph()
            g.add_nodes_from(self.info)
            for n, d in self.info.items():  # share the attribute dicts with `info`
                g._node[n] = d
            edges = []
            tensors = self.tensors
            for node in self.nodes:
                v = node.id
                for u, name, slot in node.sources:
                    if u is not None:
                        t = tensors[name]
                        edges.append(
                            (
                                u,
                                v,
                                {
                                    "tensor": name,
                                    "shape": t.shape,
                                    "dtype": t.dtype,
                                    "src_slot": t.slot,
                                    "dst_slot": slot,
                                },
                            )
                        )
            g.add_edges_from(edges)
            self._nx = g
        return self._nx

    # -- access ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.ops)

    def node(self, nid: str) -> dict[str, Any]:
        return self.info[nid]

    def role(self, nid: str) -> str:
        return self.by_id[nid].role

    def is_data(self, nid: str) -> bool:
        return self.by_id[nid].role in (DATA, INPUT)

    def op_nodes(self, role: str | None = None) -> Iterator[str]:
        """Op ids in topological order, optionally only those with ``role``."""
        if role is None:
            yield from self.ops
        else:
            yield from (n.id for n in self.op_records if n.role == role)

    def sources(self, nid: str) -> tuple[tuple[str | None, str, int], ...]:
        """(producer node or None for an initializer, tensor, input slot) of every tensor
        ``nid`` reads, by slot; slot ``-1`` for tensors read by its subgraphs."""
        return self.by_id[nid].sources

    def in_edges(self, nid: str) -> list[tuple[str, dict[str, Any]]]:
        """(producer, edge data) for every tensor use of ``nid`` with a producer, by input slot."""
        out = []
        for u, name, slot in self.by_id[nid].sources:
            if u is not None:
                t = self.tensors[name]
                out.append(
                    (u, {"tensor": name, "shape": t.shape, "dtype": t.dtype, "src_slot": t.slot, "dst_slot": slot})
                )
        return out

    def data_inputs(self, nid: str) -> list[tuple[str, str]]:
        """(producer, tensor) of the data-flow inputs of ``nid``: data tensors at data slots."""
        node = self.by_id[nid]
        op_type = node.op_type
        return [
            (u, name)
            for (u, name, slot), p in zip(node.sources, node.producers)
            if p >= 0 and self.nodes[p].role in (DATA, INPUT) and not (slot >= 0 and meta_slot(op_type, slot))
        ]

    def data_flow(self) -> DataFlow:
        """The data flow over ``input`` and ``data`` nodes, by node number (cached).

        A node's predecessors are the nodes whose tensors it reads at data slots (see
        :mod:`~modelmap.core.dataflow`).
        """
        if self._data_flow is None:
            nodes = self.nodes
            on_flow = [n.role in (DATA, INPUT) for n in nodes]
            preds: list[list[int]] = []
            for node in nodes:
                ps: list[int] = []
                if node.role == DATA:
                    op_type = node.op_type
                    for (_, _, slot), p in zip(node.sources, node.producers):
                        if p >= 0 and on_flow[p] and not (slot >= 0 and meta_slot(op_type, slot)) and p not in ps:
                            ps.append(p)
                preds.append(ps)
            members = [k for k, yes in enumerate(on_flow) if yes]
            self._data_flow = DataFlow(members, preds)
        return self._data_flow

    def data_graph(self) -> nx.DiGraph:
        """The data flow as a simple DiGraph over ``input`` and ``data`` nodes (cached).

        An edge ``u -> v`` means ``v`` reads a tensor of ``u`` at a data slot.
        """
        if self._data_graph is None:
            flow = self.data_flow()
            ids = [n.id for n in self.nodes]
            g = nx.DiGraph()
            g.add_nodes_from(ids[k] for k in flow.members)
            g.add_edges_from((ids[p], ids[k]) for k in flow.members for p in flow.preds[k])
            self._data_graph = g
        return self._data_graph

    def tensor_shape(self, name: str) -> tuple | None:
        info = self.tensors.get(name)
        return info.shape if info is not None else None


# ---------------------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------------------
def build_graph(model: onnx.ModelProto, *, infer_shapes: bool = True) -> ModelGraph:
    """Validate ``model`` and build its :class:`ModelGraph`.

    Parameters
    ----------
    model : onnx.ModelProto
        An ONNX model, annotated by a converter or not (see :mod:`modelmap._metadata`).
    infer_shapes : bool
        Run ``onnx.shape_inference`` first (a failure is tolerated: shapes stay unknown).

    Returns
    -------
    ModelGraph

    Raises
    ------
    InvalidGraphError
        The graph is empty, has a cycle, reads a tensor nobody produces (a missing
        initializer, say), or produces a tensor twice.

    Examples
    --------
    >>> m = onnx.parser.parse_model('''<ir_version: 8, opset_import: ["" : 17]>
    ... g (float[1,4] x) => (float[1,4] y) { r = Relu(x)  y = Add(r, x) }''')
    >>> g = build_graph(m)
    >>> g.ops, g.node(g.ops[1])["role"], g.tensors["r"].shape
    (['Relu_0', 'Add_1'], <NodeRole.DATA: 'data'>, (1, 4))

    Notes
    -----
    The protobuf is read once, node by node, into plain records (reading it is slow).
    Every tensor a node reads is then resolved once, by name, to a :class:`_Source` that
    knows the position of the op making it, so that the topological order, the roles and
    the nodes' ``producers`` come from lists indexed by position rather than from more
    lookups by name (which cost more the larger the graph: big dicts miss the caches).
    """
    graph = model.graph
    if len(graph.node) == 0:
        raise InvalidGraphError("the ONNX graph is empty: it has no nodes")
    inferred = _infer(model) if infer_shapes else model
    g = ModelGraph(inferred)
    graph = inferred.graph

    # tensors known before any node runs: initializers and graph inputs
    known: dict[str, _Source] = {}
    for name, dims, data_type in _initializers(graph):
        numel = 1
        for d in dims:
            numel *= d
        dtype = _dtype(data_type)
        info = ParamInfo(name, dims, numel, dtype, data_type in _FLOAT_TYPES and numel > 1)
        g.initializers[name] = info
        t = TensorInfo(name, dims, dtype, initializer=True)
        g.tensors[name] = t
        known[name] = _Source(t, -1, -1, PARAM if info.is_param else CONST)

    types = _value_types(graph)
    used_ids: set[str] = set()
    nodes = g.nodes
    for vi in graph.input:
        if vi.name in g.initializers:  # IR < 4: initializers listed as inputs
            continue
        if vi.name in g.tensors:
            raise InvalidGraphError(f"graph input {vi.name!r} is declared twice")
        nid = unique_name(f"input:{vi.name}", used_ids)
        shape, dtype = types.get(vi.name, _UNKNOWN_TYPE)
        nodes.append(_io_node(nid, len(nodes), INPUT, vi.name, -1, (), (vi.name,), (), ()))
        g.inputs.append(nid)
        t = TensorInfo(vi.name, shape, dtype, producer=nid, slot=0)
        g.tensors[vi.name] = t
        known[vi.name] = _Source(t, -1, len(nodes) - 1, INPUT)

    # op nodes: ids, produced tensors
    ops = _read_nodes(graph)
    ids: list[str] = []
    for i, op in enumerate(ops):
        nid = unique_name(op.name or f"{op.op_type}_{i}", used_ids)
        ids.append(nid)
        for slot, out in enumerate(op.outputs):
            if not out:
                continue
            if out in g.tensors:
                what = (
                    "an initializer"
                    if g.tensors[out].initializer
                    else (
                        "a graph input" if g.tensors[out].producer in g.inputs else f"node {g.tensors[out].producer!r}"
                    )
                )
                raise InvalidGraphError(
                    f"tensor {out!r} is produced twice: by node {nid!r} ({op.op_type}) and by {what}"
                )
            shape, dtype = types.get(out, _UNKNOWN_TYPE)
            t = TensorInfo(out, shape, dtype, producer=nid, slot=slot)
            g.tensors[out] = t
            known[out] = _Source(t, i, -1, None)

    # what each node reads: explicit inputs, then tensors its subgraphs capture
    reads: list[list[tuple[_Source, int]]] = []
    for i, op in enumerate(ops):
        r = []
        for slot, name in enumerate(op.inputs):
            if not name:
                continue
            src = known.get(name)
            if src is None:
                hint = " (a missing initializer?)" if slot > 0 else ""
                raise InvalidGraphError(
                    f"node {ids[i]!r} ({op.op_type}) reads tensor {name!r}, which no node, graph input or "
                    f"initializer provides{hint}"
                )
            r.append((src, slot))
        for name in op.captured:
            if name in known:
                r.append((known[name], -1))
        reads.append(r)

    order = _topological_order(ids, reads)
    roles, reads_params = _assign_roles(
        ops, reads, order, {known[vi.name].op for vi in graph.output if vi.name in known}
    )
    number = [0] * len(ops)  # file position -> node number
    for pos, i in enumerate(order):
        number[i] = len(nodes) + pos
    for pos, i in enumerate(order):
        op = ops[i]
        nid = ids[i]
        op_type = op.op_type
        sources = []
        producers = []
        params = []
        for src, slot in reads[i]:
            t = src.tensor
            t.consumers.append((nid, slot))
            sources.append((t.producer, t.name, slot))
            producers.append(number[src.op] if src.op >= 0 else src.number)
            if src.role == PARAM and not (slot >= 0 and meta_slot(op_type, slot)):
                params.append(t.name)
        nodes.append(
            Node(
                id=nid,
                number=len(nodes),
                kind="op",
                op_type=op_type,
                domain=op.domain,
                name=op.name,
                index=pos,
                namespace=op.namespace,
                classes=op.classes,
                inputs=op.inputs,
                outputs=op.outputs,
                params=tuple(params),
                attrs=op.attrs,
                subgraphs=op.subgraphs,
                role=roles[i],
                reads_params=reads_params[i],
                sources=tuple(sources),
                producers=tuple(producers),
            )
        )
        g.ops.append(nid)

    for vi in graph.output:
        t = g.tensors.get(vi.name)
        if t is None:
            raise InvalidGraphError(f"graph output {vi.name!r} is produced by no node, graph input or initializer")
        nid = unique_name(f"output:{vi.name}", used_ids)
        shape, _ = types.get(vi.name, _UNKNOWN_TYPE)
        if t.shape is None:
            t.shape = shape
        src = known[vi.name]
        producer = number[src.op] if src.op >= 0 else src.number
        nodes.append(
            _io_node(
                nid, len(nodes), OUTPUT, vi.name, 1 << 30, (vi.name,), (), ((t.producer, vi.name, 0),), (producer,)
            )
        )
        g.outputs.append(nid)
        t.consumers.append((nid, 0))

    g.by_id = {n.id: n for n in nodes}
    return g


@dataclass(slots=True)
class _Op:
    """One ONNX node as read from the protobuf."""

    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    namespace: tuple[str, ...]
    classes: tuple[str, ...]
    attrs: dict[str, Any]
    subgraphs: dict[str, onnx.GraphProto]
    captured: list[str]  # outer-scope tensors its subgraphs read, sorted


@dataclass(slots=True)
class _Source:
    """A tensor while the graph is built: its record, the file position of the op that
    makes it (``-1`` for initializers and graph inputs), the node number of the graph
    input that is it (else ``-1``), and, for initializers and graph inputs, its role."""

    tensor: TensorInfo
    op: int
    number: int
    role: str | None


_UNKNOWN_TYPE: tuple[None, str] = (None, "")


def _initializers(graph: onnx.GraphProto) -> Iterator[tuple[str, tuple[int, ...], int]]:
    """(name, dims, data type) of every initializer, dense ones first, then sparse ones."""
    for t in graph.initializer:
        yield t.name, tuple(t.dims), t.data_type
    for sp in graph.sparse_initializer:
        yield sp.values.name, tuple(sp.dims), sp.values.data_type


def _read_nodes(graph: onnx.GraphProto) -> list[_Op]:
    """Every node of ``graph`` as an :class:`_Op`, in file order.

    Each protobuf field is read once (reading is slow). The protobuf hands out a new
    string object at every read, so strings that many nodes repeat (op types, domains,
    namespace segments and class names) are shared: one object each, and one namespace
    tuple per module. This keeps the graph small and the lookups keyed by them cheap.
    """
    strings: dict[str, str] = {}
    namespaces: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    no_namespace: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    out = []
    for node in graph.node:
        ns = no_namespace
        if len(node.metadata_props):
            ns = md.node_namespace(node)
            if ns in namespaces:
                ns = namespaces[ns]
            else:
                segs, classes = ns  # the last segment names the module itself: rarely repeated
                ns = namespaces[ns] = (
                    tuple(strings.setdefault(x, x) for x in segs[:-1]) + segs[-1:],
                    tuple(strings.setdefault(x, x) for x in classes),
                )
        if len(node.attribute):
            attrs, subgraphs, captured = _attributes(node)
        else:
            attrs, subgraphs, captured = {}, {}, []
        op_type, domain = node.op_type, node.domain
        out.append(
            _Op(
                node.name,
                strings.setdefault(op_type, op_type),
                strings.setdefault(domain, domain),
                tuple(node.input),
                tuple(node.output),
                ns[0],
                ns[1],
                attrs,
                subgraphs,
                captured,
            )
        )
    return out


def _value_types(graph: onnx.GraphProto) -> dict[str, tuple[tuple | None, str]]:
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


def _io_node(
    nid: str,
    number: int,
    kind: str,
    name: str,
    index: int,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    sources: tuple,
    producers: tuple[int, ...],
) -> Node:
    """The record of a graph input or output."""
    return Node(
        id=nid,
        number=number,
        kind=kind,
        op_type="",
        domain="",
        name=name,
        index=index,
        namespace=(),
        classes=(),
        inputs=inputs,
        outputs=outputs,
        params=(),
        attrs={},
        subgraphs={},
        role=kind,
        reads_params=False,
        sources=sources,
        producers=producers,
    )


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    for kwargs in ({"strict_mode": False, "data_prop": True}, {"strict_mode": False}):
        try:
            return onnx.shape_inference.infer_shapes(model, **kwargs)
        except Exception:  # noqa: BLE001, S112 - shape inference is best effort; shapes stay unknown
            continue
    return model


def unique_name(name: str, used: set[str], sep: str = "__") -> str:
    """``name``, or ``name{sep}k`` with the smallest free k; the result is added to ``used``.

    >>> used = {"add"}
    >>> unique_name("add", used, "_"), unique_name("add", used, "_")
    ('add_1', 'add_2')
    """
    if name not in used:
        used.add(name)
        return name
    k = 1
    while f"{name}{sep}{k}" in used:
        k += 1
    used.add(f"{name}{sep}{k}")
    return f"{name}{sep}{k}"


_DTYPES: dict[int, str] = {}


def _dtype(elem_type: int) -> str:
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
    dtype = _dtype(tt.elem_type) if tt.elem_type else ""
    if not tt.HasField("shape"):
        return None, dtype
    dims: list[int | str | None] = []
    for d in tt.shape.dim:
        which = d.WhichOneof("value")
        dims.append(d.dim_value if which == "dim_value" else d.dim_param if which == "dim_param" else None)
    return tuple(dims), dtype


_PLAIN_ATTRIBUTES = frozenset(
    {
        onnx.AttributeProto.INT,
        onnx.AttributeProto.FLOAT,
        onnx.AttributeProto.STRING,
        onnx.AttributeProto.INTS,
        onnx.AttributeProto.FLOATS,
        onnx.AttributeProto.STRINGS,
    }
)


def _attributes(node: onnx.NodeProto) -> tuple[dict[str, Any], dict[str, onnx.GraphProto], list[str]]:
    """A node's attributes as Python values (graphs and tensors aside), its subgraphs by
    attribute name, and the outer-scope tensors those subgraphs read (sorted)."""
    attrs: dict[str, Any] = {}
    subgraphs: dict[str, onnx.GraphProto] = {}
    captured: set[str] = set()
    for a in node.attribute:
        kind = a.type
        if kind == onnx.AttributeProto.GRAPH:
            subgraphs[a.name] = a.g
            captured |= _graph_free_names(a.g)
        elif kind == onnx.AttributeProto.GRAPHS:
            for k, sg in enumerate(a.graphs):
                subgraphs[f"{a.name}[{k}]"] = sg
                captured |= _graph_free_names(sg)
        elif kind == onnx.AttributeProto.TENSOR:
            attrs[a.name] = f"<tensor {list(a.t.dims)}>"
        elif kind in _PLAIN_ATTRIBUTES:
            attrs[a.name] = _attribute_value(a, kind)
    return attrs, subgraphs, sorted(captured)


def _attribute_value(a: onnx.AttributeProto, kind: int) -> Any:
    """What ``helper.get_attribute_value`` gives for a plain attribute, strings decoded and
    lists as tuples (the common numeric kinds read directly: the helper is slow)."""
    if not a.ref_attr_name:
        if kind == onnx.AttributeProto.INTS:
            return tuple(a.ints)
        if kind == onnx.AttributeProto.INT:
            return a.i
        if kind == onnx.AttributeProto.FLOAT:
            return a.f
        if kind == onnx.AttributeProto.FLOATS:
            return tuple(a.floats)
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list):
        return tuple(x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v)
    return v


def _captured(node: onnx.NodeProto) -> set[str]:
    """Outer-scope tensors read by the node's subgraphs (If/Loop/Scan bodies), recursively."""
    out: set[str] = set()
    for a in node.attribute:
        graphs: Iterable[onnx.GraphProto] = ()
        if a.type == onnx.AttributeProto.GRAPH:
            graphs = (a.g,)
        elif a.type == onnx.AttributeProto.GRAPHS:
            graphs = a.graphs
        for sg in graphs:
            out |= _graph_free_names(sg)
    return out


def _graph_free_names(sg: onnx.GraphProto) -> set[str]:
    defined = {i.name for i in sg.input} | {t.name for t in sg.initializer}
    defined |= {s.values.name for s in sg.sparse_initializer}
    free: set[str] = set()
    for n in sg.node:
        for name in n.input:
            if name and name not in defined:
                free.add(name)
        for name in _captured(n):
            if name not in defined:
                free.add(name)
        defined.update(o for o in n.output if o)
    for o in sg.output:
        if o.name not in defined:
            free.add(o.name)
    return free


def _topological_order(ids: list[str], reads: list[list[tuple[_Source, int]]]) -> list[int]:
    """Node positions in a topological order (the file's own when it is one); a cycle is an error."""
    deps: list[set[int]] = []
    in_order = True
    for i, r in enumerate(reads):
        d = {src.op for src, _ in r if src.op >= 0}
        if d and max(d) >= i:
            in_order = False
        deps.append(d)
    if in_order:
        return list(range(len(ids)))
    users: list[list[int]] = [[] for _ in ids]
    indeg = [len(d) for d in deps]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    ready = deque(i for i, k in enumerate(indeg) if k == 0)
    order = []
    while ready:
        i = ready.popleft()
        order.append(i)
        for u in users[i]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(order) < len(ids):
        left = [i for i, k in enumerate(indeg) if k > 0]
        dg = nx.DiGraph()
        for i in left:
            for j in deps[i]:
                if indeg[j] > 0:
                    dg.add_edge(j, i)
        try:
            idx = [u for u, _ in nx.find_cycle(dg)]
            k = idx.index(min(idx))  # start at the node that comes first in the file
            cycle = [ids[u] for u in idx[k:] + idx[:k]]
        except nx.NetworkXNoCycle:  # pragma: no cover - Kahn left nodes, so there is a cycle
            cycle = [ids[i] for i in left[:5]]
        shown = " -> ".join(cycle[:6] + [cycle[0]]) if len(cycle) <= 6 else " -> ".join(cycle[:6]) + " -> ..."
        raise InvalidGraphError(f"the ONNX graph has a cycle: {shown}")
    return order


def _assign_roles(
    ops: list[_Op], reads: list[list[tuple[_Source, int]]], order: list[int], feeds_output: set[int]
) -> tuple[list[str], list[bool]]:
    """Each op's role and ``reads_params``, by file position.

    Forward pass (topological order): data / param / shape / const from what the op
    reads. Backward pass: a data op whose every use is a shape-like slot (or a shape op)
    is a shape op. ``feeds_output`` holds the positions of ops making a graph output.
    """
    roles = [CONST] * len(ops)
    reads_params = [False] * len(ops)
    users: list[list[tuple[int, int]]] = [[] for _ in ops]  # (consumer position, slot) per op
    for i in order:
        op_type = ops[i].op_type
        data = param = shape = False
        for src, slot in reads[i]:
            j = src.op
            if j >= 0:
                src_role = roles[j]
                users[j].append((i, slot))
            else:
                src_role = src.role
            if slot >= 0 and meta_slot(op_type, slot):
                if src_role in (DATA, INPUT, SHAPE) and not dtype_slot(op_type, slot):
                    shape = True
            elif src_role in (DATA, INPUT):
                data = True
            elif src_role == SHAPE:
                shape = True
            elif src_role == PARAM:
                param = True
        roles[i] = DATA if data else PARAM if param else SHAPE if shape else CONST
        reads_params[i] = param
    for i in reversed(order):
        if roles[i] != DATA or i in feeds_output or not users[i]:
            continue
        if all(_shape_use(ops[c].op_type, roles[c], slot) for c, slot in users[i]):
            roles[i] = SHAPE
    return roles, reads_params


def _shape_use(op_type: str, role: str, slot: int) -> bool:
    """Whether an op of ``op_type`` and ``role`` uses its input ``slot`` for a shape only."""
    if slot >= 0 and value_meta_slot(op_type, slot):
        return True
    return role == SHAPE and not (slot >= 0 and meta_slot(op_type, slot))


__all__ = ["AUX_ROLES", "ModelGraph", "ParamInfo", "TensorInfo", "build_graph"]
