"""modelmap: one annotated graph from any PyTorch, Keras or ONNX model.

>>> import modelmap as mm
>>> onnx_model = mm.to_onnx(model, "model.onnx", example_input)   # doctest: +SKIP
>>> a = mm.analyze(model, example_input)                           # doctest: +SKIP
>>> a.skips, a.layers, a.blocks, a.params                          # doctest: +SKIP
>>> mm.draw(a, "resnet.svg", depth=2)                              # doctest: +SKIP

Importing modelmap imports neither torch nor TensorFlow; a framework is imported
only when its converter runs.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._api import analyze, compare, draw, draw_diff, table, to_onnx, weight_stats, write_tensorboard, write_weights
from ._errors import (
    ConversionError,
    FactoryError,
    InputError,
    InvalidGraphError,
    MissingDependencyError,
    MissingInputError,
    ModelLoadError,
    ModelmapError,
    ModelNotFoundError,
    UnsupportedModelError,
)

__all__ = [
    "__version__",
    "to_onnx",
    "analyze",
    "Analysis",
    "draw",
    "compare",
    "draw_diff",
    "table",
    "weight_stats",
    "write_tensorboard",
    "write_weights",
    "DrawOptions",
    "ModelmapError",
    "InputError",
    "ModelNotFoundError",
    "ModelLoadError",
    "UnsupportedModelError",
    "FactoryError",
    "MissingInputError",
    "ConversionError",
    "InvalidGraphError",
    "MissingDependencyError",
]

#: Public names imported on first use: the core pulls in networkx (0.4 s), which a cached
#: drawing never needs.
_LAZY = {"Analysis": "modelmap.core.analysis", "DrawOptions": "modelmap.exporters._options"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'modelmap' has no attribute {name!r}")
