"""modelmap: one annotated graph from any PyTorch, Keras or ONNX model.

>>> import modelmap as mm
>>> onnx_model = mm.to_onnx(model, "model.onnx", example_input)   # doctest: +SKIP

Importing modelmap imports neither torch nor TensorFlow; a framework is imported
only when its converter runs.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ._api import to_onnx
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
