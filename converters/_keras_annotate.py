"""Map tf2onnx's ONNX nodes back onto Keras layers, then give names their display form.

tf2onnx names an ONNX node after the TensorFlow op it came from, so a node made
inside a tokenised trace (see :mod:`._keras_layers`) is named like
``mmL0000_1/mmL0004_1/FusedBatchNormV3``; its namespace is the path of the deepest
layer token in that name. Nodes tf2onnx invents while rewriting (``Transpose__14``
for a layout change, the ``MatMul``/``Reshape`` expansion of an ``Einsum``) carry no
scope at all and are placed by :func:`infer_missing`: a node reading a weight whose
initializer name carries a layer token belongs to that layer; any other goes where
its neighbours are (:mod:`._neighbours`: its consumers, else its producers, else the
model itself).

Finally :func:`rename_to_display` rewrites node, tensor and initializer names
from tokens to the layers' real names (``conv2d/BiasAdd``), dropping the root
model's token, so Netron shows what ``model.summary()`` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import onnx

from modelmap import _metadata as md

from ._keras_layers import LayerTable
from ._neighbours import Namespace, place_by_neighbours

Resolver = Callable[[str], "Namespace | None"]


def namespace_of_name(name: str, table: LayerTable) -> Namespace | None:
    """The namespace a tokenised op or tensor name points at.

    Returns
    -------
    tuple or None
        The deepest layer token's path; ``()`` when only the root model's token
        appears (an op of the model itself, e.g. a ``keras.ops`` call in a
        subclassed ``call``); ``None`` when the name carries no token.
    """
    pattern = table.token_pattern()
    found: Namespace | None = None
    for segment in name.split("/"):
        m = pattern.match(segment)
        if not m:
            continue
        token = m.group("token")
        if token == table.root_token:
            found = found or ()
        elif token in table.infos:
            found = table.infos[token].path
    return found


def infer_missing(graph: onnx.GraphProto, found: list[Namespace | None], resolve: Resolver) -> list[Namespace]:
    """Place the nodes whose names carry no layer token (rules in the module docstring).

    Parameters
    ----------
    graph:
        The main graph; its nodes are in topological order (tf2onnx sorts them).
    found:
        One entry per node: its namespace from its name, or None.
    resolve:
        Name to namespace (None when the name tells nothing), for weight names.

    Returns
    -------
    list
        A namespace for every node.
    """
    initializers = {init.name for init in graph.initializer}
    by_weights = [ns if ns is not None else _from_weights(node, initializers, resolve) for ns, node in zip(found, graph.node)]
    return place_by_neighbours(graph, by_weights)


def _from_weights(node: onnx.NodeProto, initializers: set[str], resolve: Resolver) -> Namespace | None:
    for name in node.input:
        if name in initializers:
            ns = resolve(name)
            if ns:
                return ns
    return None


def annotate(model: onnx.ModelProto, resolve: Resolver, classes_of: Callable[[Namespace], tuple[str, ...]]) -> list[Namespace]:
    """Set ``namespace`` and ``class_hierarchy`` on every node.

    Parameters
    ----------
    model:
        tf2onnx's model, names not yet rewritten.
    resolve:
        Name to namespace, e.g. ``lambda n: namespace_of_name(n, table)``.
    classes_of:
        Namespace to class names, one per segment.

    Returns
    -------
    list
        The namespace of each node of the main graph, in order.
    """
    graph = model.graph
    found = [resolve(node.name) for node in graph.node]
    namespaces = infer_missing(graph, found, resolve)
    for node, ns in zip(graph.node, namespaces):
        md.annotate_node(node, ns, classes_of(ns))
    for sub in _subgraphs(graph):
        for node in sub.node:
            ns = resolve(node.name) or ()
            md.annotate_node(node, ns, classes_of(ns))
    return namespaces


def _subgraphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield attr.g
                yield from _subgraphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield g
                    yield from _subgraphs(g)


def display_namer(table: LayerTable, fallback: str) -> Callable[[str], str]:
    """A function from tokenised names to display names, unique and stable.

    Each token segment becomes the layer's own name (scopes already nest, so
    ``mmL0000_1/mmL0003_1/mmL0005_1/MatMul`` becomes ``inner/dense_3/MatMul``);
    the root model's token is dropped. Two different originals that would get
    the same display name (a shared layer called twice) are told apart with a
    ``__N`` suffix; the same original always maps to the same result.
    """
    pattern = table.token_pattern()
    mapping: dict[str, str] = {}
    taken: set[str] = set()

    def convert(name: str) -> str:
        if not name:
            return name
        if name in mapping:
            return mapping[name]
        segments = []
        for segment in name.split("/"):
            m = pattern.match(segment)
            if not m:
                segments.append(segment)
            elif m.group("token") != table.root_token and m.group("token") in table.infos:
                segments.append(table.infos[m.group("token")].layer.name + (m.group("port") or ""))
            elif m.group("port"):
                segments.append(fallback + m.group("port"))
        new = "/".join(s for s in segments if s) or fallback
        if new != name:
            base, k = new, 1
            while new in taken:
                new, k = f"{base}__{k}", k + 1
        taken.add(new)
        mapping[name] = new
        return new

    return convert


def rename_to_display(model: onnx.ModelProto, table: LayerTable) -> None:
    """Rewrite every node, tensor and initializer name of ``model`` to display form.

    Must run after :func:`annotate` has read the tokens, and while the table's
    layers still have their real names.
    """
    convert = display_namer(table, fallback=table.root.name)
    # names that carry no token keep their spelling; reserve them first
    graphs = [model.graph, *_subgraphs(model.graph)]
    for g in graphs:
        for name in _names(g):
            if namespace_of_name(name, table) is None:
                convert(name)
    for g in graphs:
        _rename_graph(g, convert)


def _names(g: onnx.GraphProto) -> Iterator[str]:
    for node in g.node:
        yield node.name
        yield from node.input
        yield from node.output
    for coll in (g.input, g.output, g.value_info):
        for v in coll:
            yield v.name
    for init in g.initializer:
        yield init.name


def _rename_graph(g: onnx.GraphProto, convert: Callable[[str], str]) -> None:
    for node in g.node:
        node.name = convert(node.name)
        for i, name in enumerate(node.input):
            if name:
                node.input[i] = convert(name)
        for i, name in enumerate(node.output):
            if name:
                node.output[i] = convert(name)
    for coll in (g.input, g.output, g.value_info):
        for v in coll:
            v.name = convert(v.name)
    for init in g.initializer:
        init.name = convert(init.name)
