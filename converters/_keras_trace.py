"""Trace a Keras model into ONNX with tf2onnx, keeping every layer visible.

tf2onnx's ``from_keras`` fails on Keras 3 Sequential models, so the model is
wrapped in a ``tf.function`` and converted with ``from_function`` and an explicit
input signature. The batch dimension is fixed (to 1 unless the user gave a
shape or an example input): static shapes let TensorFlow and tf2onnx fold the
shape arithmetic away, which keeps the graph close to the layers.

Three kinds of conversion steps erase layers; each is switched off for the
duration of one conversion and restored afterwards (:func:`layers_kept_apart`):

* Keras 3 computes an inference BatchNormalization as ``x * a + b``
  (``tf.nn.batch_normalization``); TensorFlow's grappler constant folding (run by
  tf2onnx) then pushes the multiplication into the preceding convolution's kernel
  and names the merged Conv after the BatchNorm, so the Conv2D layer disappears.
  While tracing, 4-D channels-last batch normalisation runs as the fused
  ``FusedBatchNormV3`` kernel instead (the same arithmetic), which tf2onnx turns
  into one ONNX ``BatchNormalization`` node holding the layer's four tensors.
* tf2onnx's back-to-back optimizer then fuses ``Conv`` followed by
  ``BatchNormalization``; that one handler is taken out of its table.
* tf2onnx's rewriters fuse op patterns across layers: ``MatMul`` with *any*
  following ``Add`` into a Gemm (also a residual Add of the next layer; with a
  batch of one, grappler may already have turned it into a ``BiasAdd`` of a
  squeezed tensor), and a ``ZeroPadding2D``'s ``Pad`` into the next Conv. Both
  are kept to ops of one layer (:func:`rewriter_kept_to_layers`), so skip
  connections and padding layers stay in the graph.

Without weights (``options.weights`` False) the same conversion runs with the
variables frozen as stand-ins (:mod:`._keras_standin`).

What is left alone: grappler still drops an all-zero bias (a fresh Dense or
Conv2D has one), so a layer's ONNX initializers can hold fewer numbers than
``count_params()``; the layer table is the truth for parameters.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import onnx

from modelmap._errors import ConversionError, MissingInputError, one_line

from ._base import ConvertOptions, quiet
from ._keras_layers import LayerTable, tokens_as_names
from ._keras_standin import stand_in_variables, values_left_out_of_model

#: ONNX opset used when the user names none: the first with a LayerNormalization op.
DEFAULT_OPSET = 17


def model_input_shapes(keras: Any, model: Any) -> list[tuple[tuple[int | None, ...], str]] | None:
    """``(shape, dtype)`` of each declared model input, or None when the model declares none.

    Functional and Sequential models declare ``model.inputs``; a subclassed model
    built by one call only remembers the shape it was built with.
    """
    try:
        inputs = model.inputs
    except AttributeError:
        inputs = None
    if inputs:
        return [(tuple(t.shape), str(t.dtype)) for t in inputs]
    shapes = getattr(model, "_build_shapes_dict", None) or {}
    if len(shapes) == 1:
        shape = next(iter(shapes.values()))
        if isinstance(shape, (list, tuple)) and all(d is None or isinstance(d, int) for d in shape):
            return [(tuple(shape), "float32")]
    return None


def input_names(keras: Any, model: Any, count: int) -> list[str]:
    """ONNX input names: the ``InputLayer`` names when known, else ``input``, ``input_1``, ..."""
    try:
        names = [t._keras_history.operation.name for t in model.inputs]
    except (AttributeError, TypeError):
        names = []
    if len(names) != count or len(set(names)) != count:
        names = ["input" if i == 0 else f"input_{i}" for i in range(count)]
    return names


def _flatten_example(example_input: Any, names: list[str]) -> list[Any]:
    if isinstance(example_input, dict):
        if set(example_input) == set(names):
            return [example_input[n] for n in names]
        return list(example_input.values())
    if isinstance(example_input, (list, tuple)):
        return list(example_input)
    return [example_input]


def input_signature(keras: Any, tf: Any, model: Any, example_input: Any, options: ConvertOptions) -> list[Any]:
    """One ``tf.TensorSpec`` per model input, with a fixed batch dimension.

    Parameters
    ----------
    keras, tf:
        The imported modules.
    model:
        A Keras model (built, or subclassed and buildable from the shapes given).
    example_input:
        An array, a tensor, or a list/tuple/dict of them; None to use
        ``options.input_shape`` or the model's declared input shapes.
    options:
        ``input_shape`` (full shapes, batch included) wins over the model's shapes.

    Returns
    -------
    list
        Specs named after the model's input layers.

    Raises
    ------
    MissingInputError
        When no shape is known, or a declared shape has unknown non-batch dimensions.
    """
    declared = model_input_shapes(keras, model)
    if example_input is not None:
        arrays = _flatten_example(example_input, input_names(keras, model, len(declared or ())))
        shapes = [tuple(int(d) for d in a.shape) for a in arrays]
        dtypes = [str(getattr(a.dtype, "name", a.dtype)) for a in arrays]
    elif options.input_shape:
        shapes = [tuple(s) for s in options.input_shape]
        dtypes = [d for _, d in declared] if declared else ["float32"] * len(shapes)
    elif declared:
        shapes = [_batch_of_one(model, shape) for shape, _ in declared]
        dtypes = [d for _, d in declared]
    else:
        raise MissingInputError(
            f"Keras model {model.name!r} ({type(model).__name__}) declares no input shape: "
            "build it (call it once or give it an Input), or pass an example input or --input-shape"
        )
    if declared and len(shapes) != len(declared):
        raise MissingInputError(f"Keras model {model.name!r} takes {len(declared)} input(s), {len(shapes)} shape(s) given")
    names = input_names(keras, model, len(shapes))
    return [tf.TensorSpec(shape, tf.as_dtype(dtype), name=name) for shape, dtype, name in zip(shapes, dtypes, names)]


def _batch_of_one(model: Any, shape: tuple[int | None, ...]) -> tuple[int, ...]:
    if any(d is None for d in shape[1:]):
        raise MissingInputError(
            f"Keras model {model.name!r} has an input of shape {shape} with unknown dimensions; "
            "pass --input-shape (batch included) or an example input"
        )
    return (1,) + tuple(int(d) for d in shape[1:])


def ensure_built(keras: Any, tf: Any, model: Any, signature: Sequence[Any]) -> None:
    """Build a not-yet-built (subclassed) model eagerly, outside any trace."""
    if model.built and model.weights:
        return
    zeros = [tf.zeros(spec.shape, spec.dtype) for spec in signature]
    try:
        model(_pack(model, zeros), training=False)
    except Exception as e:  # the user's model code: any error means these shapes don't fit
        raise MissingInputError(
            f"Keras model {model.name!r} could not be built with input shapes "
            f"{[tuple(s.shape) for s in signature]}: {describe_error(e)}"
        ) from None


def _pack(model: Any, args: Sequence[Any]) -> Any:
    """Arrange flat inputs the way the model was built to receive them."""
    struct = getattr(model, "_inputs_struct", None)
    if struct is not None:
        import keras

        return keras.tree.pack_sequence_as(struct, list(args))
    return args[0] if len(args) == 1 else list(args)


@contextlib.contextmanager
def fused_batch_norm(tf: Any) -> Iterator[None]:
    """Run 4-D channels-last ``ops.batch_normalization`` as ``FusedBatchNormV3``.

    Patches the TensorFlow backend's ``batch_normalization`` (looked up at call
    time by ``keras.ops``) and restores it on exit. Other inputs (2-D, 3-D,
    channels-first, mixed dtypes) take Keras' own path.
    """
    try:
        from keras.src.backend.tensorflow import nn as tf_nn
    except ImportError:  # another Keras layout: keep its own arithmetic
        yield
        return
    original = tf_nn.batch_normalization

    def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None, epsilon: float = 1e-3) -> Any:
        if not _fusable(tf, x, mean, variance, axis, offset, scale):
            return original(x, mean, variance, axis, offset=offset, scale=scale, epsilon=epsilon)
        y, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x,
            scale=scale if scale is not None else tf.ones_like(mean),
            offset=offset if offset is not None else tf.zeros_like(mean),
            mean=mean,
            variance=variance,
            epsilon=float(epsilon),
            exponential_avg_factor=1.0,
            data_format="NHWC",
            is_training=False,
        )
        return y

    tf_nn.batch_normalization = batch_normalization
    try:
        yield
    finally:
        tf_nn.batch_normalization = original


def _fusable(tf: Any, x: Any, mean: Any, variance: Any, axis: int, offset: Any, scale: Any) -> bool:
    rank = x.shape.rank
    if rank != 4 or axis not in (-1, 3):
        return False
    tensors = [t for t in (mean, variance, offset, scale) if t is not None]
    return x.dtype == tf.float32 and all(t.dtype == tf.float32 and t.shape.rank == 1 for t in tensors)


@contextlib.contextmanager
def conv_batchnorm_kept_apart() -> Iterator[None]:
    """Take the Conv+BatchNormalization fusion out of tf2onnx's back-to-back optimizer.

    The handler table is a module-level dict; it is copied and put back exactly
    (order included) on exit.
    """
    from tf2onnx.optimizer import back_to_back_optimizer as b2b

    saved = dict(b2b._func_map)
    b2b._func_map.pop(("Conv", "BatchNormalization"), None)
    try:
        yield
    finally:
        b2b._func_map.clear()
        b2b._func_map.update(saved)


def _scope(name: str) -> str:
    return name.rpartition("/")[0]


def _hidden_type(op_type: str) -> str:
    return f"ModelmapHidden{op_type}"


@contextlib.contextmanager
def rewriter_kept_to_layers(name: str, crosses_layers: Callable[[Any, Any], bool]) -> Iterator[None]:
    """Keep one of tf2onnx's graph rewriters from fusing ops of two different layers.

    tf2onnx's rewriters match op patterns regardless of name scopes. Around the
    rewriter ``tf2onnx.tfonnx.<name>``, every node for which ``crosses_layers(g, node)``
    holds gets a placeholder op type the pattern does not match, and its own type
    back right after; the rewriter is restored on exit.
    """
    from tf2onnx import tfonnx

    original = getattr(tfonnx, name)

    def rewriter(g: Any, ops: list[Any]) -> list[Any]:
        hidden = [(node, node.type) for node in ops if crosses_layers(g, node)]
        for node, op_type in hidden:
            node.type = _hidden_type(op_type)
        try:
            return original(g, ops)
        finally:
            for node, op_type in hidden:
                node.type = op_type

    setattr(tfonnx, name, rewriter)
    try:
        yield
    finally:
        setattr(tfonnx, name, original)


def _add_of_other_layers_matmul(g: Any, node: Any) -> bool:
    """An Add (or BiasAdd) fed by a MatMul of another layer: a merge, not a bias."""
    if node.type not in ("Add", "AddV2", "BiasAdd"):
        return False
    producers = (g.get_node_by_output(name) for name in node.input)
    return any(p is not None and p.type == "MatMul" and _scope(p.name) != _scope(node.name) for p in producers)


def _pad_for_other_layers_conv(g: Any, node: Any) -> bool:
    """A Pad (a ZeroPadding2D layer) feeding a Conv2D of another layer."""
    if node.type not in ("Pad", "PadV2"):
        return False
    consumers = g.find_output_consumers(node.output[0])
    return any(c.type == "Conv2D" and _scope(c.name) != _scope(node.name) for c in consumers)


@contextlib.contextmanager
def protos_synced_once() -> Iterator[None]:
    """Skip the node-proto refresh tf2onnx runs after each of its ~25 optimizer passes.

    Each refresh copies every node's attributes into its ``NodeProto`` again, the weights
    held by Const nodes included: a fifth of a ResNet's conversion time. The passes read
    their own node structures, never those protos, and ``make_model`` refreshes them once
    at the end, so the result is the same. Patched on the optimizer base class for one
    conversion and restored on exit.
    """
    from tf2onnx.optimizer.optimizer_base import GraphOptimizerBase

    original = GraphOptimizerBase.optimize

    def optimize(self: Any, graph: Any, iteration: int) -> Any:
        graph.update_proto = _no_refresh  # an instance attribute, shadowing the method
        try:
            return original(self, graph, iteration)
        finally:
            del graph.update_proto

    GraphOptimizerBase.optimize = optimize
    try:
        yield
    finally:
        GraphOptimizerBase.optimize = original


def _no_refresh(*args: Any, **kwargs: Any) -> None:
    return None


@contextlib.contextmanager
def layers_kept_apart(tf: Any) -> Iterator[None]:
    """All the measures of the module docstring, for one conversion."""
    with (
        fused_batch_norm(tf),
        conv_batchnorm_kept_apart(),
        rewriter_kept_to_layers("rewrite_gemm", _add_of_other_layers_matmul),
        rewriter_kept_to_layers("rewrite_conv2d_with_pad", _pad_for_other_layers_conv),
    ):
        yield


def trace_to_onnx(keras: Any, tf: Any, model: Any, signature: Sequence[Any], table: LayerTable, options: ConvertOptions) -> onnx.ModelProto:
    """Convert ``model`` with tf2onnx while its layers carry their tokens as names.

    Returns
    -------
    onnx.ModelProto
        tf2onnx's model, node names still tokenised.

    Raises
    ------
    ConversionError
        When tracing or tf2onnx fails; the message names the model and the cause.
    """
    import tf2onnx

    @tf.function(autograph=False)
    def forward(*args: Any) -> Any:
        return model(_pack(model, args), training=False)

    opset = options.opset or DEFAULT_OPSET
    name = model.name
    with (
        quiet(options),
        tokens_as_names(table),
        layers_kept_apart(tf),
        protos_synced_once(),
        stand_in_variables(enabled=not options.weights),
        values_left_out_of_model(enabled=not options.weights),
    ):
        try:
            proto = convert_function(tf2onnx, forward, signature, opset)
        except Exception as e:  # tracing runs the user's layers; tf2onnx raises plain Exceptions
            error = e
        else:
            captures_as_constants(proto, forward.get_concrete_function(*signature))
            return proto
    cause = table.detokenize(describe_error(error))
    raise ConversionError(f"tf2onnx could not convert Keras model {name!r}: {cause}") from error


def captures_as_constants(proto: onnx.ModelProto, concrete: Any) -> None:
    """Graph inputs that are tensors the traced function captured become initializers.

    tf2onnx lists every non-resource input of the concrete function as a graph input,
    and that includes the tensors a layer holds as constants rather than variables: a
    ``Normalization`` layer's ``mean`` and ``variance`` (EfficientNet's first layers), which
    a drawing would show as inputs of their own and onnxruntime would ask to be fed. Each
    such input read by a node becomes an initializer holding the captured value; one no
    node reads (grappler folded its value already) is dropped.
    """
    from onnx import numpy_helper

    captured = {inner.name: outer for outer, inner in concrete.graph.captures if inner.dtype.name != "resource"}
    if not any(i.name in captured for i in proto.graph.input):
        return
    read = {name for node in proto.graph.node for name in node.input}
    kept = []
    for value in proto.graph.input:
        if value.name not in captured:
            kept.append(value)
        elif value.name in read:
            proto.graph.initializer.append(numpy_helper.from_array(captured[value.name].numpy(), value.name))
    del proto.graph.input[:]
    proto.graph.input.extend(kept)


def describe_error(e: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line: ANSI colours and Keras' argument dump removed."""
    text = one_line(str(e).split("Arguments received by")[0], limit) or "(no message)"
    return f"{type(e).__name__}: {text}"


def convert_function(tf2onnx: Any, forward: Any, signature: Sequence[Any], opset: int) -> onnx.ModelProto:
    """``tf2onnx.convert.from_function``, first without its optimizer safety net.

    tf2onnx deep-copies the whole graph (weights included) before each optimizer
    pass so that it can skip a pass that fails; that is a third of the time of a
    15M-parameter model. The first attempt runs without those copies
    (``TF2ONNX_CATCH_ERRORS=FALSE``); if an optimizer pass fails, the conversion
    is repeated the way tf2onnx does it by default. Other failures (tracing the
    model, mapping its ops) are raised at once.
    """
    from tf2onnx import constants

    key = constants.ENV_TF2ONNX_CATCH_ERRORS
    try:
        with _env(key, "FALSE"):
            proto, _ = tf2onnx.convert.from_function(forward, input_signature=list(signature), opset=opset)
        return proto
    except Exception as e:  # tf2onnx's passes raise anything
        if not _raised_in_optimizer(e):
            raise
    proto, _ = tf2onnx.convert.from_function(forward, input_signature=list(signature), opset=opset)
    return proto


def _raised_in_optimizer(e: BaseException) -> bool:
    frames = traceback.extract_tb(e.__traceback__)
    return any(f"tf2onnx{os.sep}optimizer{os.sep}" in frame.filename for frame in frames)


@contextlib.contextmanager
def _env(key: str, value: str) -> Iterator[None]:
    saved = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved


def unsupported_nodes(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Nodes tf2onnx left as TensorFlow ops because it has no conversion for them."""
    bad = []
    for node in model.graph.node:
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type):
            bad.append(node)
    return bad
