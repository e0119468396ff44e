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
from .core.analysis import Analysis
from .exporters._options import DrawOptions
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
