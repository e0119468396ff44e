"""Checks that an ONNX graph is a data-flow graph, and the order its nodes run in.

:func:`~.graph.build_graph` calls these while it reads the graph; each failure is an
:class:`~modelmap._errors.InvalidGraphError` with one sentence naming the culprit.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import networkx as nx
import onnx
from google.protobuf.descriptor import FieldDescriptor

from modelmap._errors import InvalidGraphError

from .tensors import Source, TensorInfo


_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


def check_text(model: onnx.ModelProto) -> None:
    """Every string field of ``model`` (names, op types, metadata, doc strings, in every
    subgraph and function) holds valid UTF-8, or an InvalidGraphError names the field.

    ONNX's ``.proto`` is proto2, where a string field may hold any bytes; the protobuf
    runtime then hands out ``bytes`` instead of ``str``. Walks the set fields only, with
    a stack (no recursion, however deep the subgraphs nest); the path of a bad field is
    worked out only once one is found.
    """
    if _first_bad_text(model, False) is not None:
        where, bad = _first_bad_text(model, True) or ("", b"")
        raise InvalidGraphError(f"{where} is not valid UTF-8 text ({bad[:40]!r})")


def _first_bad_text(model: onnx.ModelProto, paths: bool) -> tuple[str, bytes] | None:
    stack: list[tuple[Any, str]] = [(model, "model")]
    while stack:
        msg, where = stack.pop()
        for fd, value in msg.ListFields():
            if fd.type == _STRING:
                for v in value if fd.is_repeated else (value,):
                    if isinstance(v, bytes):
                        return f"{where}.{fd.name}", v
            elif fd.type == _MESSAGE:
                if not fd.is_repeated:
                    stack.append((value, f"{where}.{fd.name}" if paths else where))
                elif paths:
                    stack.extend((m, f"{where}.{fd.name}[{i}]") for i, m in enumerate(value))
                else:
                    stack.extend((m, where) for m in value)
    return None


def check_not_empty(graph: onnx.GraphProto) -> None:
    if len(graph.node) == 0:
        raise InvalidGraphError("the ONNX graph is empty: it has no nodes")


def produced_twice(out: str, nid: str, op_type: str, earlier: TensorInfo, inputs: list[str]) -> InvalidGraphError:
    """The error for tensor ``out`` made by node ``nid`` when ``earlier`` already is it."""
    what = (
        "an initializer"
        if earlier.initializer
        else ("a graph input" if earlier.producer in inputs else f"node {earlier.producer!r}")
    )
    return InvalidGraphError(f"tensor {out!r} is produced twice: by node {nid!r} ({op_type}) and by {what}")


def unknown_tensor(nid: str, op_type: str, name: str, slot: int) -> InvalidGraphError:
    """The error for node ``nid`` reading, at ``slot``, tensor ``name`` that nothing provides."""
    hint = " (a missing initializer?)" if slot > 0 else ""
    return InvalidGraphError(
        f"node {nid!r} ({op_type}) reads tensor {name!r}, which no node, graph input or "
        f"initializer provides{hint}"
    )


def topological_order(ids: list[str], reads: list[list[tuple[Source, int]]]) -> list[int]:
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


__all__ = ["check_not_empty", "check_text", "produced_twice", "topological_order", "unknown_tensor"]
