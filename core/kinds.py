"""The project's vocabulary: kinds of layers, skip connections, graph nodes, edges and changes.

Every kind is a ``str`` enum, so it serialises as its value (``"conv"``, ``"identity"``)
and prints as it; code compares members, never raw strings. This module imports nothing
from the project, so every layer (converters, core, exporters) can use it.

>>> LayerKind("conv") is LayerKind.CONV
True
>>> str(SkipKind.PROJECTION)
'projection'
>>> EdgeKind.of(None), EdgeKind.of(SkipKind.GATE)
(<EdgeKind.DATA: 'data'>, <EdgeKind.GATE: 'gate'>)
"""

from __future__ import annotations

import enum


class _Kind(str, enum.Enum):
    def __str__(self) -> str:  # "conv", not "LayerKind.CONV"
        return self.value


class LayerKind(_Kind):
    """What a layer does, normalised across frameworks (see :mod:`modelmap.core.ops`)."""

    INPUT = "input"
    OUTPUT = "output"
    CONV = "conv"
    LINEAR = "linear"
    NORM = "norm"
    ACTIVATION = "activation"
    POOL = "pool"
    MERGE = "merge"
    EMBEDDING = "embedding"
    ATTENTION = "attention"
    RECURRENT = "recurrent"
    RESHAPE = "reshape"
    IDENTITY = "identity"
    DROPOUT = "dropout"
    RESIZE = "resize"
    ELEMENTWISE = "elementwise"
    REDUCE = "reduce"
    MATMUL = "matmul"
    SHAPE = "shape"
    CONSTANT = "constant"
    CONTROL = "control"
    MODULE = "module"
    OTHER = "other"


class SkipKind(_Kind):
    """The kinds of DESIGN.md's skip-connection table."""

    IDENTITY = "identity"
    PROJECTION = "projection"
    CONCAT = "concat"
    GATE = "gate"

    @property
    def words(self) -> str:
        """How the kind is named in prose (labels, legends, ONNX doc strings)."""
        return _SKIP_WORDS[self]


_SKIP_WORDS = {
    SkipKind.IDENTITY: "identity shortcut",
    SkipKind.PROJECTION: "projection shortcut",
    SkipKind.CONCAT: "concat skip",
    SkipKind.GATE: "gate",
}


class NodeRole(_Kind):
    """What a node of the op graph is for; only ``DATA`` nodes take part in skip/block analysis."""

    INPUT = "input"  # a graph input
    OUTPUT = "output"  # a graph output
    DATA = "data"  # an op on the data path
    SHAPE = "shape"  # an op computing shapes or indices
    PARAM = "param"  # an op transforming parameters only (a weight transpose)
    CONST = "const"  # an op computing constants


#: Roles of nodes that are not on the data path.
AUX_ROLES = frozenset({NodeRole.SHAPE, NodeRole.PARAM, NodeRole.CONST})


class EdgeKind(_Kind):
    """What an arrow in a figure carries: plain data flow, or the shortcut of a skip of some kind."""

    DATA = "data"
    IDENTITY = "identity"
    PROJECTION = "projection"
    CONCAT = "concat"
    GATE = "gate"

    @classmethod
    def of(cls, skip: SkipKind | None) -> EdgeKind:
        """The edge kind of a skip's shortcut (``None``: a plain data edge)."""
        return cls.DATA if skip is None else cls(skip.value)

    @property
    def skip(self) -> SkipKind | None:
        """The skip kind this edge draws, ``None`` for plain data flow."""
        return None if self is EdgeKind.DATA else SkipKind(self.value)

    @property
    def is_skip(self) -> bool:
        return self is not EdgeKind.DATA


class ChangeKind(_Kind):
    """How a unit differs between two compared models (:mod:`modelmap.core.compare`)."""

    ADDED = "added"  # in the second model only
    REMOVED = "removed"  # in the first model only
    CHANGED = "changed"  # in both, with other hyper-parameters or shape


__all__ = ["AUX_ROLES", "ChangeKind", "EdgeKind", "LayerKind", "NodeRole", "SkipKind"]
