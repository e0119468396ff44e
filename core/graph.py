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

from .ops import dtype_slot, meta_slot, value_meta_slot

INPUT, OUTPUT, DATA, SHAPE, PARAM, CONST = "input", "output", "data", "shape", "param", "const"
AUX_ROLES = frozenset({SHAPE, PARAM, CONST})
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


class ModelGraph:
    """The op graph of one ONNX model (see the module docstring).

    Attributes
    ----------
    info : dict
        Node id -> attribute dict, the storage the analyses read. Op node attributes: ``kind`` (``"op"``/``"input"``/``"output"``),
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
        #: node id -> the node's attribute dict (the same dicts networkx holds; fast access)
        self.info: dict[str, dict[str, Any]] = {}
        self._data_graph: nx.DiGraph | None = None

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
            for v, d in self.info.items():
                for u, name, slot in d["sources"]:
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
        return self.info[nid]["role"]

    def is_data(self, nid: str) -> bool:
        return self.info[nid]["role"] in (DATA, INPUT)

    def op_nodes(self, role: str | None = None) -> Iterator[str]:
        """Op ids in topological order, optionally only those with ``role``."""
        if role is None:
            yield from self.ops
        else:
            info = self.info
            yield from (n for n in self.ops if info[n]["role"] == role)

    def sources(self, nid: str) -> tuple[tuple[str | None, str, int], ...]:
        """(producer node or None for an initializer, tensor, input slot) of every tensor
        ``nid`` reads, by slot; slot ``-1`` for tensors read by its subgraphs."""
        return self.info[nid]["sources"]

    def in_edges(self, nid: str) -> list[tuple[str, dict[str, Any]]]:
        """(producer, edge data) for every tensor use of ``nid`` with a producer, by input slot."""
        out = []
        for u, name, slot in self.info[nid]["sources"]:
            if u is not None:
                t = self.tensors[name]
                out.append(
                    (u, {"tensor": name, "shape": t.shape, "dtype": t.dtype, "src_slot": t.slot, "dst_slot": slot})
                )
        return out

    def data_inputs(self, nid: str) -> list[tuple[str, str]]:
        """(producer, tensor) of the data-flow inputs of ``nid``: data tensors at data slots."""
        info = self.info
        op_type = info[nid]["op_type"]
        return [
            (u, name)
            for u, name, slot in info[nid]["sources"]
            if u is not None and info[u]["role"] in (DATA, INPUT) and not (slot >= 0 and meta_slot(op_type, slot))
        ]

    def data_graph(self) -> nx.DiGraph:
        """The data flow as a simple DiGraph over ``input`` and ``data`` nodes (cached).

        An edge ``u -> v`` means ``v`` reads a tensor of ``u`` at a data slot.
        """
        if self._data_graph is None:
            g = nx.DiGraph()
            info = self.info
            keep = list(self.inputs) + list(self.op_nodes(DATA))
            g.add_nodes_from(keep)
            edges = []
            for v in keep:
                d = info[v]
                if d["kind"] != "op":
                    continue
                op_type = d["op_type"]
                for u, _, slot in d["sources"]:
                    if (
                        u is not None
                        and info[u]["role"] in (DATA, INPUT)
                        and not (slot >= 0 and meta_slot(op_type, slot))
                    ):
                        edges.append((u, v))
            g.add_edges_from(edges)
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
    (['Relu_0', 'Add_1'], 'data', (1, 4))
    """
    graph = model.graph
    if len(graph.node) == 0:
        raise InvalidGraphError("the ONNX graph is empty: it has no nodes")
    inferred = _infer(model) if infer_shapes else model
    g = ModelGraph(inferred)
    graph = inferred.graph

    # tensors known before any node runs: initializers and graph inputs
    init_names: set[str] = set()
    for t in graph.initializer:
        name = t.name
        dims = tuple(t.dims)
        data_type = t.data_type
        init_names.add(name)
        numel = 1
        for d in dims:
            numel *= d
        dtype = _dtype(data_type)
        g.initializers[name] = ParamInfo(name, dims, numel, dtype, data_type in _FLOAT_TYPES and numel > 1)
        g.tensors[name] = TensorInfo(name, dims, dtype, initializer=True)
    for sp in graph.sparse_initializer:
        init_names.add(sp.values.name)
        dims = tuple(sp.dims)
        numel = 1
        for d in dims:
            numel *= d
        g.initializers[sp.values.name] = ParamInfo(
            sp.values.name, dims, numel, _dtype(sp.values.data_type), sp.values.data_type in _FLOAT_TYPES and numel > 1
        )
        g.tensors[sp.values.name] = TensorInfo(sp.values.name, dims, _dtype(sp.values.data_type), initializer=True)

    value_types: dict[str, onnx.TypeProto] = {}
    for vi in list(graph.value_info) + list(graph.input) + list(graph.output):
        if vi.HasField("type"):
            value_types[vi.name] = vi.type

    used_ids: set[str] = set()
    node_rows: list[tuple[str, dict[str, Any]]] = []
    for vi in graph.input:
        if vi.name in init_names:  # IR < 4: initializers listed as inputs
            continue
        if vi.name in g.tensors:
            raise InvalidGraphError(f"graph input {vi.name!r} is declared twice")
        nid = _unique(f"input:{vi.name}", used_ids)
        shape, dtype = _type_info(value_types.get(vi.name))
        node_rows.append(
            (
                nid,
                {
                    "kind": INPUT,
                    "role": INPUT,
                    "op_type": "",
                    "domain": "",
                    "name": vi.name,
                    "namespace": (),
                    "classes": (),
                    "index": -1,
                    "inputs": (),
                    "outputs": (vi.name,),
                    "params": (),
                    "reads_params": False,
                    "attrs": {},
                    "subgraphs": {},
                    "sources": (),
                },
            )
        )
        g.inputs.append(nid)
        g.tensors[vi.name] = TensorInfo(vi.name, shape, dtype, producer=nid, slot=0)

    # op nodes: ids, produced tensors (the protobuf is read once per node: it is slow to read)
    nodes = list(graph.node)
    raw = [(n.name, n.op_type, tuple(n.input), tuple(n.output), len(n.attribute) > 0) for n in nodes]
    ids: list[str] = []
    for i, (name, op_type, _, outputs, _) in enumerate(raw):
        nid = _unique(name or f"{op_type}_{i}", used_ids)
        ids.append(nid)
        for slot, out in enumerate(outputs):
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
                raise InvalidGraphError(f"tensor {out!r} is produced twice: by node {nid!r} ({op_type}) and by {what}")
            shape, dtype = _type_info(value_types.get(out))
            g.tensors[out] = TensorInfo(out, shape, dtype, producer=nid, slot=slot)

    # what each node reads: explicit inputs, then tensors its subgraphs capture
    reads: list[list[tuple[str, int]]] = []
    known = g.tensors
    for i, (_, op_type, inputs, _, has_attrs) in enumerate(raw):
        r = []
        for slot, name in enumerate(inputs):
            if not name:
                continue
            if name not in known:
                hint = " (a missing initializer?)" if slot > 0 else ""
                raise InvalidGraphError(
                    f"node {ids[i]!r} ({op_type}) reads tensor {name!r}, which no node, graph input or "
                    f"initializer provides{hint}"
                )
            r.append((name, slot))
        if has_attrs:
            for name in sorted(_captured(nodes[i])):
                if name in known:
                    r.append((name, -1))
        reads.append(r)

    order = _topological_order(nodes, ids, reads, g)
    inits = g.initializers
    tensors = g.tensors
    for pos, i in enumerate(order):
        node = nodes[i]
        nid = ids[i]
        name, op_type, inputs, outputs, has_attrs = raw[i]
        segs, classes = md.node_namespace(node) if len(node.metadata_props) else ((), ())
        attrs, subgraphs = _attributes(node) if has_attrs else ({}, {})
        sources = []
        for tname, slot in reads[i]:
            t = tensors[tname]
            t.consumers.append((nid, slot))
            sources.append((t.producer, tname, slot))
        node_rows.append(
            (
                nid,
                {
                    "kind": "op",
                    "op_type": op_type,
                    "domain": node.domain,
                    "name": name,
                    "index": pos,
                    "namespace": segs,
                    "classes": classes,
                    "inputs": inputs,
                    "outputs": outputs,
                    "params": tuple(
                        n
                        for n, slot in reads[i]
                        if n in inits and inits[n].is_param and not (slot >= 0 and meta_slot(op_type, slot))
                    ),
                    "attrs": attrs,
                    "subgraphs": subgraphs,
                    "role": CONST,
                    "reads_params": False,
                    "sources": tuple(sources),
                },
            )
        )
        g.ops.append(nid)

    for vi in graph.output:
        t = g.tensors.get(vi.name)
        if t is None:
            raise InvalidGraphError(f"graph output {vi.name!r} is produced by no node, graph input or initializer")
        nid = _unique(f"output:{vi.name}", used_ids)
        shape, dtype = _type_info(value_types.get(vi.name))
        if t.shape is None:
            t.shape = shape
        node_rows.append(
            (
                nid,
                {
                    "kind": OUTPUT,
                    "role": OUTPUT,
                    "op_type": "",
                    "domain": "",
                    "name": vi.name,
                    "namespace": (),
                    "classes": (),
                    "index": 1 << 30,
                    "inputs": (vi.name,),
                    "outputs": (),
                    "params": (),
                    "reads_params": False,
                    "attrs": {},
                    "subgraphs": {},
                    "sources": ((t.producer, vi.name, 0),),
                },
            )
        )
        g.outputs.append(nid)
        t.consumers.append((nid, 0))

    g.info = dict(node_rows)
    _assign_roles(g, [reads[i] for i in order])
    return g


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    for kwargs in ({"strict_mode": False, "data_prop": True}, {"strict_mode": False}):
        try:
            return onnx.shape_inference.infer_shapes(model, **kwargs)
        except Exception:  # noqa: BLE001, S112 - shape inference is best effort; shapes stay unknown
            continue
    return model


def _unique(name: str, used: set[str]) -> str:
    if name not in used:
        used.add(name)
        return name
    k = 1
    while f"{name}__{k}" in used:
        k += 1
    used.add(f"{name}__{k}")
    return f"{name}__{k}"


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


def _attributes(node: onnx.NodeProto) -> tuple[dict[str, Any], dict[str, onnx.GraphProto]]:
    attrs: dict[str, Any] = {}
    subgraphs: dict[str, onnx.GraphProto] = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            subgraphs[a.name] = a.g
        elif a.type == onnx.AttributeProto.GRAPHS:
            for k, sg in enumerate(a.graphs):
                subgraphs[f"{a.name}[{k}]"] = sg
        elif a.type == onnx.AttributeProto.TENSOR:
            attrs[a.name] = f"<tensor {list(a.t.dims)}>"
        elif a.type in (
            onnx.AttributeProto.INT,
            onnx.AttributeProto.FLOAT,
            onnx.AttributeProto.STRING,
            onnx.AttributeProto.INTS,
            onnx.AttributeProto.FLOATS,
            onnx.AttributeProto.STRINGS,
        ):
            v = helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, list):
                v = tuple(x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v)
            attrs[a.name] = v
    return attrs, subgraphs


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


def _topological_order(
    nodes: list[onnx.NodeProto], ids: list[str], reads: list[list[tuple[str, int]]], g: ModelGraph
) -> list[int]:
    """Node indices in a topological order (the file's own when it is one); a cycle is an error."""
    producer_index = {nid: i for i, nid in enumerate(ids)}
    deps: list[set[int]] = []
    in_order = True
    for i, r in enumerate(reads):
        d = set()
        for name, _ in r:
            p = g.tensors[name].producer
            j = producer_index.get(p) if p is not None else None
            if j is not None:
                d.add(j)
                if j >= i:
                    in_order = False
        deps.append(d)
    if in_order:
        return list(range(len(nodes)))
    users: list[list[int]] = [[] for _ in nodes]
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
    if len(order) < len(nodes):
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


def _assign_roles(g: ModelGraph, reads: list[list[tuple[str, int]]]) -> None:
    """Forward pass: data / param / shape / const; backward pass: data feeding only shapes."""
    role_of_tensor: dict[str, str] = {}
    for name, info in g.initializers.items():
        role_of_tensor[name] = PARAM if info.is_param else CONST
    for nid in g.inputs:
        for out in g.info[nid]["outputs"]:
            role_of_tensor[out] = INPUT
    nxn = g.info
    for nid, r in zip(g.ops, reads):
        d = nxn[nid]
        op_type = d["op_type"]
        data = param = shape = False
        for name, slot in r:
            src = role_of_tensor.get(name, CONST)
            if slot >= 0 and meta_slot(op_type, slot):
                if src in (DATA, INPUT, SHAPE) and not dtype_slot(op_type, slot):
                    shape = True
            elif src in (DATA, INPUT):
                data = True
            elif src == SHAPE:
                shape = True
            elif src == PARAM:
                param = True
        role = DATA if data else PARAM if param else SHAPE if shape else CONST
        d["role"] = role
        d["reads_params"] = param
        for out in d["outputs"]:
            if out:
                role_of_tensor[out] = role
    # backward: data ops whose every use is a shape-like slot (or a shape op) are shape ops
    output_tensors = {nxn[o]["inputs"][0] for o in g.outputs}
    for nid in reversed(g.ops):
        if nxn[nid]["role"] != DATA:
            continue
        uses = 0
        only_shape = True
        for out in nxn[nid]["outputs"]:
            if not out:
                continue
            if out in output_tensors:
                only_shape = False
                break
            for consumer, slot in g.tensors[out].consumers:
                uses += 1
                c = nxn[consumer]
                op_type = c.get("op_type", "")
                if slot >= 0 and value_meta_slot(op_type, slot):
                    continue
                if c["role"] == SHAPE and not (slot >= 0 and meta_slot(op_type, slot)):
                    continue
                only_shape = False
                break
            if not only_shape:
                break
        if only_shape and uses:
            nxn[nid]["role"] = SHAPE


__all__ = ["AUX_ROLES", "ModelGraph", "ParamInfo", "TensorInfo", "build_graph"]
