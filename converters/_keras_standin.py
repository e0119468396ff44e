"""Structure first for Keras: the model's variables frozen as one-number stand-ins.

A drawing, an analysis, a table or a comparison needs the graph and the weights' shapes,
not their values (``ConvertOptions.weights`` is False). tf2onnx freezes the traced
function, writing every variable's values into a ``Const`` node, and the resulting
GraphDef is then copied about eight times (the frozen function, its GraphDef, two
imports, grappler's copies, tf2onnx's own graph, the ONNX model): for a 15M-parameter
ResNet, well over a gigabyte. While :func:`stand_in_variables` is active, every float32
variable of more than :data:`KEEP_ELEMENTS` numbers is frozen as a *compact* constant
instead: a ``TensorProto`` holding its shape and a single value that TensorFlow repeats
over the shape, so that every copy up to tf2onnx's is a few bytes. tf2onnx spreads it
into a full array again, and the caller drops the values afterwards.

The graph must come out the same, and the conversion steps read constant values in
three ways, which the stand-in values respect:

* grappler's constant folding removes ``x + 0`` and ``x * 1`` (a fresh Dense bias is all
  zeros): a variable that is all zeros stands in as zeros, all ones as ones;
* tf2onnx merges equal constants of one shape into one initializer (two fresh
  BatchNormalization layers' moving means): equal variables get the same stand-in,
  different ones different stand-ins (a number per distinct content, from 2 upwards);
* what grappler folds from variables alone (a non-fused BatchNormalization's
  ``gamma * rsqrt(variance + eps)``) is computed from the stand-ins: the same shapes, other
  values, which the caller drops as it drops the variables' own.

Small variables (:data:`KEEP_ELEMENTS` numbers or fewer, and every non-float32 one) keep
their values: they cost nothing and the structure-only ONNX keeps small float tensors.

The patch is on two classes of TensorFlow's private ``convert_to_constants`` module
(the freezing code tf2onnx calls). If that module is not laid out as expected, nothing is
patched and the variables are frozen with their values, as with weights.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Variables with at most this many numbers are frozen with their values.
KEEP_ELEMENTS = 4096


class StandIns:
    """The stand-in value of each distinct variable content seen during one conversion."""

    def __init__(self) -> None:
        self.fills: dict[bytes, float] = {}

    def fill(self, values: np.ndarray) -> float:
        """0 for all zeros, 1 for all ones, else a number >= 2 that only equal contents share."""
        if not values.any():
            return 0.0
        if bool((values == 1).all()):
            return 1.0
        digest = hashlib.blake2b(np.ascontiguousarray(values).data, digest_size=16).digest()
        return self.fills.setdefault(digest, 2.0 + len(self.fills) * 2.0**-16)

    def stand_in(self, values: np.ndarray) -> np.ndarray:
        """A read-only view of ``values``' shape that repeats one number (no memory of its own)."""
        return np.broadcast_to(np.asarray(self.fill(values), values.dtype), values.shape)


def is_stand_in(value: Any) -> bool:
    """True for the views :meth:`StandIns.stand_in` makes (a real array of 2+ numbers has a stride)."""
    return isinstance(value, np.ndarray) and value.size > 1 and not any(value.strides)


def _evaluator(original: Any, stand_ins: StandIns) -> Any:
    def _eval(self: Any, tensor: Any) -> Any:
        values = original(self, tensor)
        variable = hasattr(tensor, "handle")  # not a captured constant
        if variable and isinstance(values, np.ndarray) and values.dtype == np.float32 and values.size > KEEP_ELEMENTS:
            return stand_ins.stand_in(values)
        return values

    return _eval


def _compact_constant(original: Any, tensor_util: Any) -> Any:
    def convert_variable_to_constant(self: Any, incoming_edge: Any, tensor_data: Any) -> Any:
        values = tensor_data.numpy
        if not is_stand_in(values):
            return original(self, incoming_edge, tensor_data)
        # TensorFlow's own body (_VarHandle.convert_variable_to_constant), with the one
        # value given against the full shape: a TensorProto that repeats it
        proto = tensor_util.make_tensor_proto(np.full(1, values.flat[0], values.dtype), tensor_data.dtype, values.shape)
        node = self.converted_self().node
        node.Clear()
        node.name = self._node.name
        node.op = "Const"
        node.attr["dtype"].CopyFrom(tensor_data.dtype_attr)
        node.attr["value"].tensor.CopyFrom(proto)
        for edge in self.outgoing_edges:
            edge.destination.convertible.convert_variable_to_constant(edge, tensor_data)
        return None

    return convert_variable_to_constant


@contextlib.contextmanager
def stand_in_variables(enabled: bool = True) -> Iterator[None]:
    """Freeze large float32 variables as compact stand-ins for one conversion (module docstring)."""
    try:
        from tensorflow.python.framework import convert_to_constants as ctc
        from tensorflow.python.framework import tensor_util
    except ImportError:
        ctc = None
    data_class = getattr(ctc, "_FunctionConverterDataInEager", None)
    handle_class = getattr(ctc, "_VarHandle", None)
    if not enabled or data_class is None or handle_class is None or not hasattr(handle_class, "convert_variable_to_constant"):
        yield
        return
    saved_eval = data_class.__dict__["_eval"]
    saved_convert = handle_class.__dict__["convert_variable_to_constant"]
    data_class._eval = _evaluator(saved_eval, StandIns())
    handle_class.convert_variable_to_constant = _compact_constant(saved_convert, tensor_util)
    try:
        yield
    finally:
        data_class._eval = saved_eval
        handle_class.convert_variable_to_constant = saved_convert


@contextlib.contextmanager
def values_left_out_of_model(enabled: bool = True) -> Iterator[None]:
    """Leave large float values out of the ONNX model tf2onnx makes, for one conversion.

    tf2onnx's ``Graph.make_model`` copies every constant into the model, twice on the way;
    once its optimizers have run nothing reads the values of the main graph's constants,
    so they are dropped from its constant nodes first, by the rule the caller would apply
    afterwards (:func:`modelmap._memo.drop_float_values`). The checker then needs
    :func:`check_structure`.

    It also keeps each constant's value held once. tf2onnx keeps a node's attributes
    twice over: a table of attribute messages and the node's ``NodeProto``. Its
    ``Node.set_tensor_value`` (a Conv kernel transposed to ONNX's layout) puts a new value
    in the table and leaves the old one in the proto, and its ``Node.update_proto`` (run
    after the op handlers) copies the table's value into the proto: a kernel held twice.
    For constant nodes both now leave one value, in a fresh proto that the table points
    into (protobuf frees a message's data only with the message).
    """
    if not enabled:
        yield
        return
    from tf2onnx.graph import Graph, Node

    from modelmap._memo import drop_float_values

    original = Graph.__dict__["make_model"]
    original_set = Node.__dict__["set_tensor_value"]
    original_update = Node.__dict__["update_proto"]

    def set_tensor_value(self: Any, new_val: Any) -> None:
        original_set(self, new_val)
        _fresh_proto(self)

    def update_proto(self: Any, external_tensor_storage: Any = None) -> None:
        if not self.is_const() or external_tensor_storage is not None:
            original_update(self, external_tensor_storage)
        else:
            _fresh_proto(self)

    def make_model(self: Any, *args: Any, **kwargs: Any) -> Any:
        for node in self.get_nodes():
            value = node.attr.get("value") if node.is_const() else None
            if value is not None and value.HasField("t"):
                drop_float_values(value.t)
        return original(self, *args, **kwargs)

    Graph.make_model = make_model
    Node.set_tensor_value = set_tensor_value
    Node.update_proto = update_proto
    try:
        yield
    finally:
        Graph.make_model = original
        Node.set_tensor_value = original_set
        Node.update_proto = original_update


def _fresh_proto(node: Any) -> None:
    """A constant node's ``NodeProto`` made anew from its attribute table (what tf2onnx's
    ``update_proto`` writes into it), and the table pointed into it: each value held once."""
    old = node._op
    fresh = type(old)(name=old.name, op_type=old.op_type, domain=old.domain, input=node.input, output=node.output)
    fresh.attribute.extend(node.get_onnx_attrs().values())
    node._attr = {a.name: a for a in fresh.attribute}
    node._op = fresh


def check_structure(onnx: Any, proto: Any) -> None:
    """``onnx.checker.check_model(full_check=True)`` for a model whose large weights have no values.

    The checker refuses a tensor without data, so it runs on a copy (small: no values)
    in which each such initializer (:func:`modelmap.core.tensors.without_values`) is a
    graph input of the same name, type and shape instead: topology, operator schemas,
    types and shape inference are all checked.
    """
    from modelmap.core.tensors import without_values

    names = set(without_values(proto.graph))
    if not names:
        onnx.checker.check_model(proto, full_check=True)
        return
    empty = [t for t in proto.graph.initializer if t.name in names]
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(proto)
    kept = [t for t in skeleton.graph.initializer if t.name not in names]
    del skeleton.graph.initializer[:]
    skeleton.graph.initializer.extend(kept)
    skeleton.graph.input.extend(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in empty)
    onnx.checker.check_model(skeleton, full_check=True)
