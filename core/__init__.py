"""The model graph and its analyses (see DESIGN.md, steps 3-4).

:func:`analyze_onnx` builds the op graph (:mod:`.graph`) of an annotated ONNX model and
runs the analyses (:mod:`.layers`, :mod:`.params`, :mod:`.skips`, :mod:`.blocks`); the
result is an :class:`~.analysis.Analysis`, whose layer graph at a depth :mod:`.units`
computes. :mod:`.kinds` holds the vocabulary (layer, skip, node and edge kinds); :mod:`.ops`
is the one table of ops and framework classes.
"""

from . import analysis
from .analysis import Analysis, Block, Layer, ModuleNode, Op, Rejection, Skip, Tensor
from .graph import ModelGraph, build_graph
from .kinds import EdgeKind, LayerKind, NodeRole, SkipKind
from .pipeline import analyze_onnx
from .units import Link, Unit, UnitGraph

__all__ = sorted([*analysis.__all__, "EdgeKind", "NodeRole", "ModelGraph", "analyze_onnx", "build_graph"])
