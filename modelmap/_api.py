"""The library's entry points; the CLI calls these too."""

from __future__ import annotations

import os
from typing import Any

from ._errors import InputError


def to_onnx(
    model: Any,
    path: str | os.PathLike[str] | None = None,
    example_input: Any = None,
    *,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    opset: int | None = None,
    verbose: bool = False,
) -> Any:
    """Convert ``model`` to an annotated ``onnx.ModelProto``; write it to ``path`` if given.

    The file is written atomically and is self-contained (no external data), so a
    failure leaves no file behind.
    """
    from modelmap.converters import ConvertOptions, convert

    options = ConvertOptions(input_shape=input_shape, opset=opset, verbose=verbose)
    onnx_model = convert(model, example_input, options)
    if path is not None:
        save_onnx(onnx_model, path)
    return onnx_model


def save_onnx(onnx_model: Any, path: str | os.PathLike[str]) -> None:
    """Serialise to one file, atomically."""
    from ._io import atomic_write

    try:
        data = onnx_model.SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise InputError(f"cannot write {path}: {e}") from None
    atomic_write(path, data)
