"""Placing the nodes an exporter made without a scope, by their neighbours (both front ends).

Exporters and their optimizers make nodes that carry no trace of the user's layers: a
``Split`` the constant folder makes of ``SplitToSequence`` + ``SequenceAt`` (PyTorch), a
layout ``Transpose`` or the ``MatMul``/``Reshape`` expansion of an ``Einsum`` (tf2onnx).
:func:`place_by_neighbours` puts each one

1. where its consumers are, the longest namespace prefix all placed consumers share: a
   layout ``Transpose`` in front of ``Flatten`` is part of the Flatten, the shape
   arithmetic of an attention ``Einsum`` part of the attention layer. The graph is walked
   backwards, so a chain of new nodes follows the node it feeds;
2. with no placed consumer (it feeds only graph outputs, say), where its producers are;
3. with neither, at the model level (the empty namespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Namespace = tuple[str, ...]


def common_prefix(namespaces: Iterable[Namespace]) -> Namespace | None:
    """The longest prefix all ``namespaces`` share; None when there are none.

    >>> common_prefix([("enc", "enc.attn", "enc.attn.q"), ("enc", "enc.attn", "enc.attn.k")])
    ('enc', 'enc.attn')
    >>> common_prefix([]) is None
    True
    """
    items = list(namespaces)
    if not items:
        return None
    first = items[0]
    depth = min(len(ns) for ns in items)
    for other in items[1:]:
        depth = next((i for i in range(depth) if other[i] != first[i]), depth)
    return first[:depth]


def place_by_neighbours(graph: Any, found: Sequence[Namespace | None]) -> list[Namespace]:
    """A namespace for every node of ``graph``: its own where known, else its neighbours'.

    Parameters
    ----------
    graph:
        An ``onnx.GraphProto`` whose nodes are in topological order (as ONNX requires).
    found:
        One entry per node: its namespace (``()`` for an op of the model itself), or None
        for a node to place (rules in the module docstring).

    Returns
    -------
    list
        One namespace per node, in the graph's order.
    """
    nodes = list(graph.node)
    result = list(found)
    readers: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in node.input:
            if name:
                readers.setdefault(name, []).append(i)
    for i in reversed(range(len(nodes))):
        if result[i] is None:
            result[i] = common_prefix(_placed(result, (j for out in nodes[i].output for j in readers.get(out, ()))))
    producer = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    for i, node in enumerate(nodes):
        if result[i] is None:
            result[i] = common_prefix(_placed(result, (producer[name] for name in node.input if name in producer))) or ()
    return [ns if ns is not None else () for ns in result]


def _placed(result: list[Namespace | None], indices: Iterable[int]) -> list[Namespace]:
    return [ns for ns in (result[j] for j in indices) if ns is not None]
