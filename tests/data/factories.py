"""Factories used by the bad-input tests (no framework needed)."""

from onnx import helper, TensorProto


def tiny_onnx():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("Relu", ["x"], ["y"], name="/act/Relu")
    return helper.make_model(helper.make_graph([node], "tiny", [x], [y]))


def raises():
    raise RuntimeError("the factory's own failure")


def returns_three():
    return 1, 2, 3


def returns_a_string_thing():
    return 42


not_callable_model = tiny_onnx()
