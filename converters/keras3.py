"""Keras 3 front end: Keras models and files to an annotated ONNX model via tf2onnx.

Accepted references: a built ``keras.Model`` (Sequential, functional or
subclassed; an unbuilt subclassed model is built from the example input or
``input_shape``), a ``.keras`` / ``.h5`` file, or a TensorFlow SavedModel folder.

Files are loaded with ``safe_mode=True`` and ``compile=False``: no code from a
model file runs, so a ``.keras`` or ``.h5`` file with a ``Lambda`` layer is refused.
A SavedModel is loaded with ``tf.saved_model.load`` (graphs only) and its serving
signature converted; its annotation is best effort (:mod:`._keras_savedmodel`).

The route for a live model (details in the helper modules):

1. :mod:`._keras_layers` lists every layer (the truth for names, classes,
   parameters, wiring) and gives each a token;
2. :mod:`._keras_trace` traces ``model(x)`` under the tokens with tf2onnx
   ``from_function``, BatchNorm kept apart from the Conv before it; without
   ``options.weights`` the variables are frozen as one-number stand-ins and large
   values never reach the ONNX model (:mod:`._keras_standin`: the same graph, a
   fraction of the memory and time);
3. :mod:`._keras_annotate` maps each ONNX node to its layer and rewrites names;
4. the result is checked (``onnx.checker`` full check; without weights on a copy whose
   value-less initializers are graph inputs) and returned.

TensorFlow is imported only inside :meth:`KerasConverter.convert`, with its C++
logging silenced (``TF_CPP_MIN_LOG_LEVEL=3``) unless ``options.verbose``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import onnx

from modelmap import _metadata as md
from modelmap._errors import (
    ConversionError,
    MissingDependencyError,
    ModelLoadError,
    UnsupportedModelError,
    one_line,
)
from modelmap._limits import check_zip, regular_file

from ._base import ConvertOptions, path_of, prepare_environment, quiet, require, step, type_modules
from ._keras_annotate import annotate, namespace_of_name, rename_to_display
from ._keras_layers import layer_table
from ._keras_savedmodel import convert_signature, load_signature, scope_resolver, signature_specs
from ._keras_standin import check_structure
from ._keras_trace import ensure_built, input_signature, trace_to_onnx, unsupported_nodes


def import_frameworks(options: ConvertOptions) -> tuple[Any, Any, Any]:
    """``(keras, tensorflow, tf2onnx)``, imported quietly.

    Raises
    ------
    MissingDependencyError
        When one of them is not installed.
    """
    prepare_environment(options)
    with quiet(options):
        tf = require("tensorflow", "keras")
        keras = require("keras", "keras")
        tf2onnx = require("tf2onnx", "keras")
    if not keras.__version__.startswith("3."):
        raise MissingDependencyError(f"modelmap needs Keras 3, found keras {keras.__version__}")
    return keras, tf, tf2onnx


def load_keras_file(keras: Any, path: Path, options: ConvertOptions) -> Any:
    """Load a ``.keras`` or ``.h5`` file without running code from it.

    Raises
    ------
    ModelNotFoundError
        When there is no such file.
    ModelLoadError
        One line naming the file: not a Keras file, a Lambda layer refused,
        a custom class that is not registered.
    """
    _check_container(path)
    with quiet(options):
        try:
            return keras.models.load_model(str(path), safe_mode=True, compile=False)
        except Exception as e:  # keras raises ValueError, TypeError, OSError, zipfile errors ...
            raise ModelLoadError(f"{path}: {_load_problem(e)}") from None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_container(path: Path) -> None:
    """Refuse a file that is not even the right container (zip for .keras, HDF5 for .h5), or
    not a regular file, or one over the limits of :mod:`modelmap._limits` (a zip bomb)."""
    regular_file(path, "Keras model file")
    if path.suffix.lower() == ".keras":
        if not zipfile.is_zipfile(path):
            raise ModelLoadError(f"{path}: not a .keras file (a .keras file is a zip archive)")
        check_zip(path, ".keras file")
    elif not _is_hdf5(path):
        raise ModelLoadError(f"{path}: not an HDF5 file, so not a Keras .h5 model")


def _is_hdf5(path: Path) -> bool:
    """HDF5's signature sits at offset 0, 512, 1024, 2048, ... (after an optional user block)."""
    with open(path, "rb") as f:
        offset = 0
        while True:
            f.seek(offset)
            head = f.read(len(_HDF5_SIGNATURE))
            if head == _HDF5_SIGNATURE:
                return True
            if len(head) < len(_HDF5_SIGNATURE):
                return False
            offset = 512 if offset == 0 else offset * 2


def _load_problem(e: BaseException) -> str:
    text = one_line(e, None)
    if "lambda" in text.lower() and "safe_mode" in text:
        return (
            "holds a Lambda layer (Python code); modelmap does not run code from model files. "
            "Build the model in Python and pass a module:factory instead"
        )
    missing = re.search(r"(?:Could not locate class|Unknown layer:?) '?(\w+)'?", text)
    if missing:
        return (
            f"uses the custom class {missing.group(1)!r}, which is not registered with Keras; "
            "pass the model through a module:factory that imports it instead"
        )
    return f"cannot be read as a Keras model ({type(e).__name__}: {one_line(text, 200)})"


def convert_keras_model(keras: Any, tf: Any, model: Any, example_input: Any, options: ConvertOptions) -> onnx.ModelProto:
    """Trace a live Keras model and annotate the result.

    Raises
    ------
    MissingInputError
        When no input shape is known.
    ConversionError
        When tf2onnx fails or leaves ops it cannot convert.
    """
    signature = input_signature(keras, tf, model, example_input, options)
    ensure_built(keras, tf, model, signature)
    table = layer_table(keras, model)
    with step(f"converting Keras model {model.name!r} with tf2onnx", options):
        proto = trace_to_onnx(keras, tf, model, signature, table, options)
    annotate(proto, lambda name: namespace_of_name(name, table), table.classes_of)
    _refuse_unconverted(proto, f"Keras model {model.name!r}")
    rename_to_display(proto, table)
    proto.graph.name = model.name
    return finish(proto, table.records)


def convert_saved_model(tf: Any, path: Path, options: ConvertOptions) -> onnx.ModelProto:
    """Convert a SavedModel folder's serving signature, annotated from name scopes."""
    with quiet(options):
        _loaded, signature = load_signature(tf, path)
    specs = signature_specs(tf, signature, path, options)
    with step(f"converting SavedModel {path} with tf2onnx", options):
        proto = convert_signature(tf, signature, specs, path, options)
    resolve = scope_resolver(proto)
    annotate(proto, resolve, lambda ns: ("",) * len(ns))
    _refuse_unconverted(proto, str(path))
    return finish(proto, None)


def _refuse_unconverted(proto: onnx.ModelProto, what: str) -> None:
    """Raise a ConversionError naming the TensorFlow ops tf2onnx left unconverted."""
    bad = unsupported_nodes(proto)
    if not bad:
        return
    where = []
    for node in bad:
        ns, _ = md.node_namespace(node)
        where.append(f"{node.op_type} (layer {'/'.join(ns)!r})" if ns else node.op_type)
    ops = ", ".join(dict.fromkeys(where))
    raise ConversionError(f"tf2onnx cannot convert the TensorFlow op(s) {ops} in {what}; no ONNX equivalent")


def finish(proto: onnx.ModelProto, records: list[md.LayerRecord] | None) -> onnx.ModelProto:
    """Record the metadata and run the full ONNX checker.

    Raises
    ------
    ConversionError
        When the converted model fails the checker.
    """
    import tf2onnx

    proto.producer_name = "modelmap (tf2onnx)"
    md.set_model_info(proto, "keras", f"tf2onnx {tf2onnx.__version__}", records)
    try:
        check_structure(onnx, proto)
    except Exception as e:  # onnx raises ValidationError, InferenceError
        raise ConversionError(f"tf2onnx produced an invalid ONNX model: {' '.join(str(e).split())[:300]}") from None
    return proto


class KerasConverter:
    """Keras 3 models, ``.keras``/``.h5`` files and SavedModel folders."""

    name = "keras"
    extensions = (".keras", ".h5", ".hdf5")

    def match(self, ref: Any) -> bool:
        p = path_of(ref)
        if p is not None:
            if p.is_dir():
                return (p / "saved_model.pb").exists()
            return p.suffix.lower() in self.extensions
        mods = type_modules(ref)
        return "keras" in mods or "tf_keras" in mods

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> onnx.ModelProto:
        """Convert a Keras model, file or SavedModel folder to an annotated ONNX model.

        Parameters
        ----------
        ref:
            A ``keras.Model``, a path to a ``.keras``/``.h5`` file, or a SavedModel folder.
        example_input:
            An array (or list/dict of arrays) fixing the input shapes, or None.
        options:
            ``input_shape`` (batch included), ``opset`` (default 17), ``verbose``.

        Returns
        -------
        onnx.ModelProto
            One self-contained model; every node annotated (:mod:`modelmap._metadata`).

        Raises
        ------
        ModelNotFoundError, ModelLoadError, UnsupportedModelError, MissingInputError,
        ConversionError, MissingDependencyError
        """
        path = path_of(ref)
        if path is not None and not path.is_dir():
            _check_container(path)  # before TensorFlow's import: a hostile file costs a stat and a zip directory
        keras, tf, _ = import_frameworks(options)
        if path is not None and path.is_dir():
            return convert_saved_model(tf, path, options)
        model = load_keras_file(keras, path, options) if path is not None else ref
        if not isinstance(model, keras.Model):
            raise UnsupportedModelError(
                f"cannot convert a {type(model).__name__}: expected a keras.Model (wrap a single layer in a Sequential)"
            )
        return convert_keras_model(keras, tf, model, example_input, options)
