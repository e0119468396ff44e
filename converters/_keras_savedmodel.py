"""TensorFlow SavedModel folders: convert the serving signature, annotate from name scopes.

A SavedModel holds TensorFlow graphs and variables, not Keras layers, so there is
no layer table to map onto. ``tf.saved_model.load`` reads graphs only (no Python
code runs). Its serving signature is wrapped in a ``tf.function`` and converted
with tf2onnx like a live model.

Annotation is best effort from the ops' name scopes:

* the call wrappers TensorFlow adds (``StatefulPartitionedCall``, ``PartitionedCall``)
  are dropped, and so is a first segment that every scoped op shares (the model's
  own scope, e.g. ``functional_1``);
* ``model.export()`` traces the model twice, so every scope segment carries a
  uniquifying suffix (``conv2d_1`` for layer ``conv2d``, ``conv2d_1_2`` for layer
  ``conv2d_1``). When every top-level segment (below the model's) ends in ``_N``,
  one suffix is stripped from every segment that has one; otherwise names are
  kept as they are;
* TensorFlow's own scopes inside a layer (``batchnorm``, ``moments``) stay in the
  path, since nothing tells them apart from layer names;
* grappler folds a BatchNorm's multiplication into the Conv before it in the
  stored graph's conversion, so such a Conv is labelled with the BatchNorm
  (a live model or a ``.keras`` file does not have this problem);
* classes are unknown (empty class segments).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import onnx

from modelmap._errors import ConversionError, MissingInputError, ModelLoadError

from ._base import ConvertOptions, quiet
from ._keras_annotate import Namespace
from ._keras_trace import DEFAULT_OPSET, convert_function, describe_error, layers_kept_apart

_WRAPPER = re.compile(r"^(Stateful)?PartitionedCall(_\d+)?$")
_SUFFIX = re.compile(r"^(?P<base>.+)_\d+$")


def load_signature(tf: Any, path: Path) -> Any:
    """The ``serving_default`` signature (or the only one) of a SavedModel folder.

    Raises
    ------
    ModelLoadError
        When the folder cannot be loaded or has no usable signature.
    """
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:  # TF raises OSError, ValueError, DecodeError, ...
        raise ModelLoadError(f"{path}: cannot load the SavedModel ({describe_error(e)})") from None
    signatures = dict(loaded.signatures)
    if "serving_default" in signatures:
        return loaded, signatures["serving_default"]
    if len(signatures) == 1:
        return loaded, next(iter(signatures.values()))
    raise ModelLoadError(
        f"{path}: the SavedModel has no serving_default signature "
        f"(signatures: {', '.join(sorted(signatures)) or 'none'})"
    )


def signature_specs(tf: Any, signature: Any, path: Path, options: ConvertOptions) -> list[Any]:
    """Fixed-shape specs for the signature's keyword inputs (batch 1 unless ``input_shape``)."""
    _, kwargs = signature.structured_input_signature
    names = sorted(kwargs)
    if options.input_shape:
        if len(options.input_shape) != len(names):
            raise MissingInputError(
                f"{path}: the signature takes {len(names)} input(s) ({', '.join(names)}), "
                f"--input-shape gave {len(options.input_shape)}"
            )
        shapes = [tuple(s) for s in options.input_shape]
    else:
        shapes = [_batch_of_one(path, name, kwargs[name].shape) for name in names]
    return [tf.TensorSpec(shape, kwargs[n].dtype, name=n) for n, shape in zip(names, shapes)]


def _batch_of_one(path: Path, name: str, shape: Any) -> tuple[int, ...]:
    dims = list(shape)
    if not dims or any(d is None for d in dims[1:]):
        raise MissingInputError(f"{path}: input {name!r} has shape {tuple(dims)}; pass --input-shape")
    return (1,) + tuple(int(d) for d in dims[1:])


def convert_signature(tf: Any, signature: Any, specs: Sequence[Any], path: Path, options: ConvertOptions) -> onnx.ModelProto:
    """tf2onnx conversion of one signature function.

    Raises
    ------
    ConversionError
        When tf2onnx fails.
    """
    import tf2onnx

    names = [s.name for s in specs]

    @tf.function(autograph=False)
    def forward(*args: Any) -> Any:
        return signature(**dict(zip(names, args)))

    with quiet(options), layers_kept_apart(tf):
        try:
            return convert_function(tf2onnx, forward, specs, options.opset or DEFAULT_OPSET)
        except Exception as e:  # tf2onnx raises plain Exceptions
            raise ConversionError(f"tf2onnx could not convert {path}: {describe_error(e)}") from e


def scope_resolver(model: onnx.ModelProto) -> Callable[[str], Namespace | None]:
    """A best-effort name-to-namespace function for a converted SavedModel (module docstring)."""
    scoped = [_scopes(node.name) for node in model.graph.node]
    scoped = [s for s in scoped if s]
    drop_first = bool(scoped) and len({s[0] for s in scoped}) == 1 and all(len(s) > 1 for s in scoped)
    top = {s[1] if drop_first else s[0] for s in scoped if len(s) > int(drop_first)}
    strip = bool(top) and all(_SUFFIX.match(seg) for seg in top)

    def resolve(name: str) -> Namespace | None:
        scopes = _scopes(name)
        if not scopes:
            return None
        if drop_first:
            scopes = scopes[1:]
        if strip:
            scopes = [_strip(seg) for seg in scopes]
        return tuple(scopes)

    return resolve


def _scopes(name: str) -> list[str]:
    """The scope segments of an op name: wrappers removed, the op's own name dropped."""
    return [seg for seg in name.split("/")[:-1] if seg and not _WRAPPER.match(seg)]


def _strip(segment: str) -> str:
    m = _SUFFIX.match(segment)
    return m.group("base") if m else segment
