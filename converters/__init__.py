"""Front ends: model references in, annotated ``onnx.ModelProto`` out.

:func:`convert` resolves a reference (a model object, a file, a ``module:factory``)
and hands it to the first registered converter whose cheap ``match`` accepts it.
Framework converters import their framework only inside ``convert``.
Third-party converters register themselves from the ``modelmap.converters``
entry-point group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from modelmap._errors import ModelNotFoundError, UnsupportedModelError
from modelmap._registry import Registry

from ._base import ConvertOptions, Converter, prepare_environment, quiet
from .factory import call_factory, is_factory_ref
from .keras3 import KerasConverter
from .onnx_file import OnnxConverter
from .pytorch import TorchConverter

registry: Registry[Converter] = Registry("converter", entry_point_group="modelmap.converters")
for _c in (OnnxConverter(), TorchConverter(), KerasConverter()):
    registry.register(_c.name, _c, _c.extensions)


def resolve(ref: Any, example_input: Any = None, options: ConvertOptions | None = None) -> tuple[Any, Any]:
    """Turn a factory reference into ``(model, example_input)``; other refs pass through.

    The factory's imports (a framework's start-up logging) are as quiet as the
    converters' own output unless ``options.verbose``.
    """
    options = options or ConvertOptions()
    if isinstance(ref, str) and is_factory_ref(ref) and not Path(ref).exists():
        prepare_environment(options)
        with quiet(options):
            model, factory_input = call_factory(ref)
        return model, example_input if example_input is not None else factory_input
    return ref, example_input


def find_converter(ref: Any) -> Converter:
    """The registered converter that accepts ``ref``, or an UnsupportedModelError."""
    if isinstance(ref, (str, Path)):
        path = Path(ref)
        if not path.exists():
            raise ModelNotFoundError(f"no such file or folder: {path}")
    for conv in registry:
        if conv.match(ref):
            return conv
    if isinstance(ref, (str, Path)):
        path = Path(ref)
        what = "folder (not a SavedModel)" if path.is_dir() else f"file extension {path.suffix or '(none)'!r}"
        known = ", ".join(registry.extensions())
        raise UnsupportedModelError(f"{path}: unknown model {what}; known: {known}, SavedModel folders, module:factory")
    raise UnsupportedModelError(
        f"cannot convert a {type(ref).__module__}.{type(ref).__qualname__}: "
        "expected a torch.nn.Module, a keras.Model, an onnx.ModelProto, a model file or a module:factory"
    )


def convert(ref: Any, example_input: Any = None, options: ConvertOptions | None = None) -> onnx.ModelProto:
    """Convert any supported model reference to an annotated ONNX model."""
    options = options or ConvertOptions()
    prepare_environment(options)
    model, example_input = resolve(ref, example_input, options)
    return find_converter(model).convert(model, example_input, options)


__all__ = ["ConvertOptions", "Converter", "convert", "find_converter", "registry", "resolve"]
