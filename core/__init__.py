"""The model graph and its analyses (see DESIGN.md, steps 3-4).

:func:`analyze_onnx` builds the op graph (:mod:`.graph`) of an annotated ONNX model and
runs the analyses (:mod:`.layers`, :mod:`.params`, :mod:`.skips`, :mod:`.blocks`); the
result is an :class:`~.analysis.Analysis`. :mod:`.ops` is the one table of op and class
kinds.
"""

from .analysis import Analysis, Block, Layer, LayerKind, ModuleNode, Rejection, Skip, SkipKind
from .graph import ModelGraph, build_graph
from .pipeline import analyze_onnx

__all__ = [
    "Analysis",
    "Block",
    "Layer",
    "LayerKind",
    "ModelGraph",
    "ModuleNode",
    "Rejection",
    "Skip",
    "SkipKind",
    "analyze_onnx",
    "build_graph",
]
