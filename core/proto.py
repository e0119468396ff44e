"""Reading an ONNX graph's nodes: each protobuf field once, into plain records.

Reading a protobuf is slow, so :func:`read_nodes` reads every field once and shares the
strings many nodes repeat; attributes become Python values, subgraphs are kept aside with
the outer-scope tensors they read. :func:`infer_shapes` runs ONNX shape inference, best
effort.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import onnx
from onnx import helper

from modelmap import _metadata as md
from modelmap._errors import InvalidGraphError

from .node import Node


def read_nodes(graph: onnx.GraphProto) -> tuple[list[Node], list[list[str]]]:
    """Every node of ``graph`` as a :class:`~.node.Node` (not yet placed in a graph), in
    file order, and the outer-scope tensors each one's subgraphs read (sorted).

    Each protobuf field is read once (reading is slow). The protobuf hands out a new
    string object at every read, so strings that many nodes repeat (op types, domains,
    namespace segments and class names) are shared: one object each, and one namespace
    tuple per module. This keeps the graph small and the lookups keyed by them cheap.
    """
    strings: dict[str, str] = {}
    namespaces: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[tuple[str, ...], tuple[str, ...]]] = {}
    no_namespace: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    out = []
    captures = []
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
            Node(
                kind="op",
                op_type=strings.setdefault(op_type, op_type),
                domain=strings.setdefault(domain, domain),
                name=node.name,
                namespace=ns[0],
                classes=ns[1],
                inputs=tuple(node.input),
                outputs=tuple(node.output),
                attrs=attrs,
                subgraphs=subgraphs,
            )
        )
        captures.append(captured)
    return out, captures


def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` after ONNX shape inference, or ``model`` itself when inference fails.

    Shape inference hands the whole model to C++ and back (four copies of every weight),
    but needs only the weights' types and shapes: it runs on a :func:`skeleton` whose
    float weights have no values, and the result gets ``model``'s initializers back
    (one copy).
    """
    skel, stripped = skeleton(model)
    for kwargs in ({"strict_mode": False, "data_prop": True}, {"strict_mode": False}):
        try:
            inferred = onnx.shape_inference.infer_shapes(skel, **kwargs)
        except Exception:  # noqa: BLE001, S112 - shape inference is best effort; shapes stay unknown
            continue
        if stripped:
            del inferred.graph.initializer[:]
            inferred.graph.initializer.extend(model.graph.initializer)
        return inferred
    return model


#: float initializers with more elements than this lose their values in a :func:`skeleton`
#: (shape inference reads the values of small ones: Resize scales, say)
SKELETON_MIN_ELEMENTS = 64
_FLOATS = frozenset({onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE, onnx.TensorProto.BFLOAT16})


def skeleton(model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool]:
    """``model`` without the values of its float weights (their names, types and shapes
    kept), built without copying those values; and whether any value was left out.
    ``model`` itself when it has none to leave out.

    >>> m = onnx.parser.parse_model('''<ir_version: 8, opset_import: ["" : 17]>
    ... g (float[1,100] x) => (float[1,100] y) { y = Add(x, W) }''')
    >>> _ = m.graph.initializer.append(onnx.numpy_helper.from_array(__import__("numpy").ones((1, 100), "float32"), "W"))
    >>> skel, stripped = skeleton(m)
    >>> stripped, list(skel.graph.initializer[0].dims), skel.graph.initializer[0].ByteSize() < 20, skel.graph.node[0].op_type
    (True, [1, 100], True, 'Add')
    """

    def big(t: onnx.TensorProto) -> bool:
        if t.data_type not in _FLOATS or t.data_location == onnx.TensorProto.EXTERNAL:
            return False
        n = 1
        for d in t.dims:
            n *= d
        return n > SKELETON_MIN_ELEMENTS and t.ByteSize() > 4 * SKELETON_MIN_ELEMENTS

    if not any(big(t) for t in model.graph.initializer):
        return model, False
    skel = onnx.ModelProto()
    _copy_fields(model, skel, skip="graph")
    _copy_fields(model.graph, skel.graph, skip="initializer")
    for t in model.graph.initializer:
        if big(t):
            skel.graph.initializer.add(name=t.name, dims=t.dims, data_type=t.data_type)
        else:
            skel.graph.initializer.append(t)
    return skel, True


def _copy_fields(src: Any, dst: Any, skip: str) -> None:
    """Copy every set field of protobuf message ``src`` into ``dst`` except ``skip``."""
    for fd, value in src.ListFields():
        if fd.name == skip:
            continue
        if fd.is_repeated:
            getattr(dst, fd.name).extend(value)
        elif fd.type == fd.TYPE_MESSAGE:
            getattr(dst, fd.name).CopyFrom(value)
        else:
            setattr(dst, fd.name, value)


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
        if a.ref_attr_name:
            raise InvalidGraphError(
                f"node {node.name!r} ({node.op_type}): attribute {a.name!r} refers to "
                f"{a.ref_attr_name!r} of an enclosing function, which only an ONNX function's body may do"
            )
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


__all__ = ["infer_shapes", "read_nodes"]
