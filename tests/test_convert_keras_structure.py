"""Keras structure first: a conversion without weights gives the graph a conversion with weights gives.

Without weights (``ConvertOptions(weights=False)``) the variables are frozen as one-number
stand-ins and large values never reach the ONNX model (``converters/_keras_standin.py``).
These tests convert real Keras models both ways and compare the graphs: node for node,
with each initializer named by its type, shape and (small ones) values, since tf2onnx's
own counters (``Transpose__123``) and the name it keeps when it merges equal constants
are not stable between two conversions.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from fixtures import keras_models as km  # noqa: E402
from modelmap._errors import ConversionError  # noqa: E402
from modelmap._memo import strip_float_weights  # noqa: E402
from modelmap.converters import ConvertOptions, convert  # noqa: E402
from modelmap.converters._keras_standin import KEEP_ELEMENTS, StandIns, check_structure  # noqa: E402

_COUNTER = re.compile(r"__\d+")


def _graph(proto: onnx.ModelProto) -> tuple[list[str], list[str]]:
    """Nodes (sorted) with initializer inputs replaced by (type, shape, small values)."""
    inits = {}
    for t in proto.graph.initializer:
        small = t.raw_data or t.float_data or t.int64_data or t.int32_data
        values = onnx.numpy_helper.to_array(t).tobytes().hex() if small else None
        inits[t.name] = str((t.data_type, tuple(t.dims), values))

    def name(n: str) -> str:
        return inits.get(n) or _COUNTER.sub("#", n)

    nodes = sorted(
        str((name(n.name), n.op_type, [name(i) for i in n.input], [name(o) for o in n.output],
             [onnx.helper.get_attribute_value(a) for a in n.attribute if a.name != "value"]))
        for n in proto.graph.node
    )
    return nodes, sorted(inits.values())


def _both_ways(model: Any) -> tuple[onnx.ModelProto, onnx.ModelProto]:
    with_weights = convert(model, None, ConvertOptions())
    strip_float_weights(with_weights)
    structure = convert(model, None, ConvertOptions(weights=False))
    return with_weights, structure


def _large_zero_one_and_equal_variables() -> Any:
    """Variables above the stand-in threshold: all zeros (Dense biases), all ones (a
    LayerNormalization's gamma), two equal kernels and two different ones. Grappler removes
    ``x + 0`` and ``x * 1``; tf2onnx merges equal constants of one shape."""
    width = KEEP_ELEMENTS + 904
    inputs = keras.Input((16,))
    a = keras.layers.LayerNormalization(name="norm")(keras.layers.Dense(width, name="wide")(inputs))
    b = keras.layers.Dense(width, name="twin_a")(inputs)
    c = keras.layers.Dense(width, name="twin_b")(inputs)
    model = keras.Model(inputs, keras.layers.Add(name="merge")([a, b, c]), name="zeros_ones_twins")
    twin_b = model.get_layer("twin_b")
    twin_b.kernel.assign(model.get_layer("twin_a").kernel.numpy())
    twin_b.bias.assign(np.full(width, 0.25, np.float32))
    return model


@pytest.mark.parametrize("factory", ["seed_resnet", "transformer_encoder", "inverted_residual", "densenet"])
def test_structure_only_graph_is_the_graph_with_weights(factory: str) -> None:
    keras.utils.set_random_seed(0)
    model = getattr(km, factory)()  # fresh BatchNorms: equal small statistics that tf2onnx merges
    with_weights, structure = _both_ways(model)
    assert _graph(structure) == _graph(with_weights)
    assert list(structure.graph.input) == list(with_weights.graph.input)
    assert list(structure.graph.output) == list(with_weights.graph.output)
    assert structure.metadata_props == with_weights.metadata_props


def test_stand_ins_keep_zeros_ones_and_equal_variables_as_they_are() -> None:
    keras.utils.set_random_seed(0)
    model = _large_zero_one_and_equal_variables()
    with_weights, structure = _both_ways(model)
    assert _graph(structure) == _graph(with_weights)
    kernels = [t for t in structure.graph.initializer if list(t.dims) == [16, KEEP_ELEMENTS + 904]]
    assert len(kernels) == 2  # the twins' equal kernels merged, "wide"'s apart


def test_structure_only_initializers_have_shapes_and_no_values() -> None:
    keras.utils.set_random_seed(0)
    model = km.seed_resnet()
    structure = convert(model, None, ConvertOptions(weights=False))
    big = [t for t in structure.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 64]
    assert big and all(not t.raw_data and not t.float_data for t in big)
    assert sum(int(np.prod(t.dims)) for t in big) > 0.95 * model.count_params()


def test_structure_only_conversion_leaves_tensorflow_and_tf2onnx_as_they_were() -> None:
    from tensorflow.python.framework import convert_to_constants as ctc
    from tf2onnx.graph import Graph, Node

    def state() -> tuple[Any, ...]:
        return (ctc._FunctionConverterDataInEager.__dict__["_eval"], ctc._VarHandle.__dict__["convert_variable_to_constant"],
                Graph.__dict__["make_model"], Node.__dict__["set_tensor_value"], Node.__dict__["update_proto"])

    before = state()
    model = km.small_cnn()
    values = [w.numpy().copy() for w in model.weights]
    convert(model, None, ConvertOptions(weights=False))
    assert state() == before
    assert all(np.array_equal(v, w.numpy()) for v, w in zip(values, model.weights))


def test_with_weights_the_values_are_the_model_s() -> None:
    keras.utils.set_random_seed(0)
    model = km.small_cnn()
    proto = convert(model, None, ConvertOptions())
    kernel = model.get_layer(index=0).kernel.numpy()  # 3x3x3x32, frozen with its values
    sums = sorted(float(onnx.numpy_helper.to_array(t).sum()) for t in proto.graph.initializer if list(t.dims) == [32, 3, 3, 3])
    assert sums == pytest.approx([float(kernel.sum())], rel=1e-5)


def test_stand_in_values() -> None:
    s = StandIns()
    a = np.arange(10, dtype=np.float32)
    assert s.fill(np.zeros(10, np.float32)) == 0.0
    assert s.fill(np.ones(10, np.float32)) == 1.0
    assert s.fill(a) == s.fill(a.copy()) >= 2.0
    assert s.fill(a + 1) not in (s.fill(a), 0.0, 1.0)
    view = s.stand_in(a)
    assert view.shape == a.shape and view.strides == (0,) and view[3] == s.fill(a)


def test_check_structure_checks_all_but_the_values() -> None:
    from onnx import helper

    w = onnx.numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    w.ClearField("raw_data")
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"])]
    io = ([helper.make_tensor_value_info("x", 1, [1, 3, 8, 8])], [helper.make_tensor_value_info("y", 1, [1, 4, 6, 6])])
    good = helper.make_model(helper.make_graph(nodes, "g", *io, [w]), opset_imports=[helper.make_opsetid("", 17)])
    check_structure(onnx, good)
    assert len(good.graph.input) == 1 and not good.graph.initializer[0].raw_data  # the model itself unchanged
    bad = helper.make_model(helper.make_graph([helper.make_node("Conv", ["x", "v"], ["y"])], "g", *io, [w]),
                            opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(onnx.checker.ValidationError):
        check_structure(onnx, bad)


def test_structure_only_failure_is_still_a_conversion_error() -> None:
    with pytest.raises(ConversionError, match=r"Lgamma"):
        convert(km.unsupported_op(), None, ConvertOptions(weights=False))
