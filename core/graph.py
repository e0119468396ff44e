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

from collections.abc import Iterator
from typing import Any

import networkx as nx
import onnx

from modelmap._errors import InvalidGraphError

from .dataflow import DataFlow
from .kinds import NodeRole
from .ops import meta_slot
from .node import Node
from .proto import read_nodes
from .proto import infer_shapes as _infer_shapes
from .roles import assign_roles
from .tensors import FLOAT_TYPES, UNKNOWN_TYPE, ParamInfo, Source, TensorInfo, dtype_name, initializers, value_types
from .validate import check_not_empty, produced_twice, topological_order, unknown_tensor

_FLOW = (NodeRole.DATA, NodeRole.INPUT)  # the roles of nodes on the data flow


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

    def role(self, nid: str) -> NodeRole:
        return self.by_id[nid].role

    def is_data(self, nid: str) -> bool:
        return self.by_id[nid].role in _FLOW

    def op_nodes(self, role: NodeRole | None = None) -> Iterator[str]:
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
            if p >= 0 and self.nodes[p].role in _FLOW and not (slot >= 0 and meta_slot(op_type, slot))
        ]

    def data_flow(self) -> DataFlow:
        """The data flow over ``input`` and ``data`` nodes, by node number (cached).

        A node's predecessors are the nodes whose tensors it reads at data slots (see
        :mod:`~modelmap.core.dataflow`).
        """
        if self._data_flow is None:
            nodes = self.nodes
            on_flow = [n.role in _FLOW for n in nodes]
            preds: list[list[int]] = []
            for node in nodes:
                ps: list[int] = []
                if node.role is NodeRole.DATA:
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
    >>> g.ops, str(g.node(g.ops[1])["role"]), g.tensors["r"].shape
    (['Relu_0', 'Add_1'], 'data', (1, 4))

    Notes
    -----
    The protobuf is read once, node by node, into plain records (reading it is slow).
    Every tensor a node reads is then resolved once, by name, to a :class:`_Source` that
    knows the position of the op making it, so that the topological order, the roles and
    the nodes' ``producers`` come from lists indexed by position rather than from more
    lookups by name (which cost more the larger the graph: big dicts miss the caches).
    """
    graph = model.graph
    check_not_empty(model.graph)
    inferred = _infer_shapes(model) if infer_shapes else model
    g = ModelGraph(inferred)
    graph = inferred.graph
    known: dict[str, Source] = {}  # tensor name -> where it comes from
    used_ids: set[str] = set()
    types = value_types(graph)
    _add_initializers(g, graph, known)
    _add_inputs(g, graph, types, used_ids, known)
    ops, captured = read_nodes(graph)
    ids = _add_op_tensors(g, ops, types, used_ids, known)
    reads = _resolve_reads(ops, captured, ids, known)
    order = topological_order(ids, reads)
    feeds_output = {known[vi.name].op for vi in graph.output if vi.name in known}
    roles, reads_params = assign_roles(ops, reads, order, feeds_output)
    number = _add_ops(g, ops, ids, reads, order, roles, reads_params)
    _add_outputs(g, graph, types, used_ids, known, number)
    g.by_id = {n.id: n for n in g.nodes}
    return g


def _add_initializers(g: ModelGraph, graph: onnx.GraphProto, known: dict[str, Source]) -> None:
    """Initializers: known before any node runs; floating-point ones of two or more values are parameters."""
    for name, dims, data_type in initializers(graph):
        numel = 1
        for d in dims:
            numel *= d
        dtype = dtype_name(data_type)
        info = ParamInfo(name, dims, numel, dtype, data_type in FLOAT_TYPES and numel > 1)
        g.initializers[name] = info
        t = TensorInfo(name, dims, dtype, initializer=True)
        g.tensors[name] = t
        known[name] = Source(t, -1, -1, NodeRole.PARAM if info.is_param else NodeRole.CONST)


def _add_inputs(
    g: ModelGraph, graph: onnx.GraphProto, types: dict, used_ids: set[str], known: dict[str, Source]
) -> None:
    """A node per graph input (initializers listed as inputs, IR < 4, are not inputs)."""
    nodes = g.nodes
    for vi in graph.input:
        if vi.name in g.initializers:
            continue
        if vi.name in g.tensors:
            raise InvalidGraphError(f"graph input {vi.name!r} is declared twice")
        nid = unique_name(f"input:{vi.name}", used_ids)
        shape, dtype = types.get(vi.name, UNKNOWN_TYPE)
        nodes.append(Node.io(nid, len(nodes), NodeRole.INPUT, vi.name, -1, (), (vi.name,), (), ()))
        g.inputs.append(nid)
        t = TensorInfo(vi.name, shape, dtype, producer=nid, slot=0)
        g.tensors[vi.name] = t
        known[vi.name] = Source(t, -1, len(nodes) - 1, NodeRole.INPUT)


def _add_op_tensors(
    g: ModelGraph, ops: list[Node], types: dict, used_ids: set[str], known: dict[str, Source]
) -> list[str]:
    """The ops' node ids, by file position; the tensors they make are recorded."""
    ids: list[str] = []
    tensors = g.tensors
    for i, op in enumerate(ops):
        nid = unique_name(op.name or f"{op.op_type}_{i}", used_ids)
        ids.append(nid)
        for slot, out in enumerate(op.outputs):
            if not out:
                continue
            if out in tensors:
                raise produced_twice(out, nid, op.op_type, tensors[out], g.inputs)
            shape, dtype = types.get(out, UNKNOWN_TYPE)
            t = TensorInfo(out, shape, dtype, producer=nid, slot=slot)
            tensors[out] = t
            known[out] = Source(t, i, -1, None)
    return ids


def _resolve_reads(
    ops: list[Node], captured: list[list[str]], ids: list[str], known: dict[str, Source]
) -> list[list[tuple[Source, int]]]:
    """What each op reads, by file position: its explicit inputs, then the tensors its
    subgraphs capture (``captured``, read at slot -1)."""
    reads: list[list[tuple[Source, int]]] = []
    for i, op in enumerate(ops):
        r = []
        for slot, name in enumerate(op.inputs):
            if not name:
                continue
            src = known.get(name)
            if src is None:
                raise unknown_tensor(ids[i], op.op_type, name, slot)
            r.append((src, slot))
        for name in captured[i]:
            if name in known:
                r.append((known[name], -1))
        reads.append(r)
    return reads


def _add_ops(
    g: ModelGraph,
    ops: list[Node],
    ids: list[str],
    reads: list[list[tuple[Source, int]]],
    order: list[int],
    roles: list[NodeRole],
    reads_params: list[bool],
) -> list[int]:
    """A node per op, in topological ``order``; returns file position -> node number."""
    nodes = g.nodes
    number = [0] * len(ops)
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
            if src.role is NodeRole.PARAM and not (slot >= 0 and meta_slot(op_type, slot)):
                params.append(t.name)
        op.id = nid
        op.number = len(nodes)
        op.index = pos
        op.params = tuple(params)
        op.role = roles[i]
        op.reads_params = reads_params[i]
        op.sources = tuple(sources)
        op.producers = tuple(producers)
        nodes.append(op)
        g.ops.append(nid)
    return number


def _add_outputs(
    g: ModelGraph, graph: onnx.GraphProto, types: dict, used_ids: set[str], known: dict[str, Source], number: list[int]
) -> None:
    """A node per graph output, reading the tensor it names."""
    nodes = g.nodes
    for vi in graph.output:
        t = g.tensors.get(vi.name)
        if t is None:
            raise InvalidGraphError(f"graph output {vi.name!r} is produced by no node, graph input or initializer")
        nid = unique_name(f"output:{vi.name}", used_ids)
        shape, _ = types.get(vi.name, UNKNOWN_TYPE)
        if t.shape is None:
            t.shape = shape
        src = known[vi.name]
        producer = number[src.op] if src.op >= 0 else src.number
        nodes.append(
            Node.io(
                nid, len(nodes), NodeRole.OUTPUT, vi.name, 1 << 30, (vi.name,), (), ((t.producer, vi.name, 0),), (producer,)
            )
        )
        g.outputs.append(nid)
        t.consumers.append((nid, 0))


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


__all__ = ["ModelGraph", "Node", "ParamInfo", "TensorInfo", "build_graph", "unique_name"]
