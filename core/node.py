"""One node of the op graph: an op, a graph input or a graph output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import onnx

from .kinds import NodeRole

_IO = (NodeRole.INPUT, NodeRole.OUTPUT)


#: attribute names of an op node's dict in :attr:`~.graph.ModelGraph.info`, in order
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


@dataclass(slots=True, eq=False, kw_only=True)
class Node:
    """One node of a :class:`~.graph.ModelGraph`: an op, a graph input or a graph output.

    The attributes are those :attr:`~.graph.ModelGraph.info` describes, plus the node's ``id``,
    its ``number`` (position in :attr:`~.graph.ModelGraph.nodes`) and ``producers``: for each of
    its ``sources``, the number of the node that makes the tensor (``-1`` for an
    initializer). Analyses read these records: an attribute of a record and a position in
    a list are much cheaper to reach than a key of a dict in a dict of a hundred
    thousand nodes. An op's record is made as its ONNX node is read (:mod:`.proto`), its
    place in the graph filled in by :func:`~.graph.build_graph`.
    """

    kind: str  # "op", or the role of a graph input or output
    op_type: str = ""
    domain: str = ""
    name: str = ""
    namespace: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    subgraphs: dict[str, onnx.GraphProto] = field(default_factory=dict)
    # known once the graph is wired (see build_graph)
    id: str = ""
    number: int = -1
    index: int = -1
    params: tuple[str, ...] = ()
    role: NodeRole = NodeRole.CONST
    reads_params: bool = False
    sources: tuple[tuple[str | None, str, int], ...] = ()
    producers: tuple[int, ...] = ()

    @property
    def is_op(self) -> bool:
        """An op, not a graph input or output."""
        return self.role not in _IO

    def attributes(self) -> dict[str, Any]:
        """The node's attribute dict (see :attr:`~.graph.ModelGraph.info`)."""
        keys = _OP_KEYS if self.is_op else _IO_KEYS
        return {k: getattr(self, k) for k in keys}

    @classmethod
    def io(
        cls,
        nid: str,
        number: int,
        role: NodeRole,
        name: str,
        index: int,
        inputs: tuple[str, ...],
        outputs: tuple[str, ...],
        sources: tuple,
        producers: tuple[int, ...],
    ) -> Node:
        """The record of a graph input or output (``role``)."""
        return cls(
            kind=role, name=name, inputs=inputs, outputs=outputs, id=nid, number=number, index=index,
            role=role, sources=sources, producers=producers,
        )


__all__ = ["Node"]
