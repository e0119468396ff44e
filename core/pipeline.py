"""From an annotated ``onnx.ModelProto`` to an :class:`~.analysis.Analysis`.

The passes, in order: :func:`~.graph.build_graph` (validation, shape inference, roles),
:func:`~.layers.group_layers` (layers, connections, module tree, parameter counts),
:func:`~.skips.find_skips`, :func:`~.blocks.find_blocks`, and for a flat model
:func:`~.inferred.infer_modules` (then the blocks again, over the modules it made).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

import onnx

from modelmap import _metadata as md

from .analysis import Analysis
from .blocks import find_blocks
from .graph import build_graph
from .inferred import infer_modules
from .layers import group_layers
from .skips import find_skips


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the passes build their tables.

    They allocate millions of small containers and free few, so every generation-2
    collection rescans them all: a quarter of the time on a 100k-op graph. Reference
    counting still frees everything; the collector is re-enabled afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyze_onnx(model: onnx.ModelProto, *, infer_shapes: bool = True, depth: int | None = None) -> Analysis:
    """Run every analysis on an (annotated) ONNX model.

    ``depth`` is the depth the result's views show by default (:attr:`Analysis.depth`).

    Raises
    ------
    InvalidGraphError
        The graph is not a valid data-flow graph (see :func:`~.graph.build_graph`).
    ValueError
        ``depth`` is less than 1.
    """
    if depth is not None and depth < 1:
        raise ValueError("depth must be at least 1")
    with paused_gc():
        return _analyze(model, infer_shapes, depth)


def _analyze(model: onnx.ModelProto, infer_shapes: bool, depth: int | None) -> Analysis:
    framework = md.model_framework(model)
    g = build_graph(model, infer_shapes=infer_shapes)
    grouping = group_layers(g, md.model_layers(model), framework)
    skips, rejections = find_skips(g, grouping.op_layer, {layer.name: layer.kind for layer in grouping.layers})
    layers, tree = grouping.layers, grouping.tree
    blocks = find_blocks(layers, tree, skips)
    layers, tree = infer_modules(layers, tree, skips, blocks)
    if tree is not grouping.tree:  # a flat model given modules: its runs are of those now
        blocks = find_blocks(layers, tree, skips)
    return Analysis(
        framework=framework,
        converter=md.model_converter(model),
        model=g.model,
        graph=g,
        layers=layers,
        skips=skips,
        blocks=blocks,
        rejections=rejections,
        params=grouping.params,
        op_count=len(model.graph.node),
        tree=tree,
        connections=grouping.connections,
        depth=depth,
    )


__all__ = ["analyze_onnx"]
