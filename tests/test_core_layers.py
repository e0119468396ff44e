"""core.layers and core.params: grouping ops into layers, connections, the module tree,
parameter counts, and collapsing the layer graph to a depth."""

from __future__ import annotations

import onnx
import pytest
from modelmap.core import LayerKind, analyze_onnx
from modelmap.core.ops import class_kind, op_kind
from onnx import TensorProto, helper

from modelmap import _metadata as md

from .test_core_graph import make
from .test_core_skips import BLOCK_NS, CONV, WEIGHTS

K = LayerKind

BLOCK = f"""g (float[1,4,8,8] x) => (float[1,4,8,8] y) <{WEIGHTS}> {{
    h = Relu(x)  c1 = {CONV} (h, W1)  n1 = BatchNormalization(c1, s1, b1, m1, v1)  r1 = Relu(n1)
    c2 = {CONV} (r1, W2)  a = Add(c2, h)  y = Relu(a) }}"""


@pytest.fixture(scope="module")
def block():
    return analyze_onnx(make(BLOCK, BLOCK_NS))


def test_leaf_layers_functional_ops_and_module_calls(block):
    assert [layer.name for layer in block.layers] == [
        "x",
        "stem",
        "block.conv1",
        "block.bn1",
        "block.relu",
        "block.conv2",
        "block/add",
        "block.relu#2",
        "output",
    ]
    by = block.layer_map
    assert by["block.conv1"].path == ("block", "block.conv1")
    assert by["block/add"].path == ("block", "add")  # an op of Block.forward, not of a leaf module
    assert by["block.relu#2"].path == ("block", "block.relu#2")  # the shared ReLU's second call
    assert [by[n].kind for n in ("x", "stem", "block.conv1", "block.bn1", "block/add", "output")] == [
        K.INPUT,
        K.ACTIVATION,
        K.CONV,
        K.NORM,
        K.MERGE,
        K.OUTPUT,
    ]
    assert [by[n].type for n in ("stem", "block.conv1", "block.bn1", "block/add")] == [
        "ReLU",
        "Conv2d",
        "BatchNorm2d",
        "Add",
    ]
    assert by["block.conv1"].attrs["kernel_shape"] == (3, 3) and by["block.conv1"].attrs["channels"] == 4
    assert by["block.conv1"].ops == ("Conv_1",)


def test_connections_and_output_shapes(block):
    by = block.layer_map
    assert by["block/add"].inputs == ("block.conv2", "stem")  # by input slot
    assert by["stem"].outputs == ("block.conv1", "block/add")
    assert by["x"].outputs == ("stem",) and by["output"].inputs == ("block.relu#2",)
    assert by["block.bn1"].output_shape == (1, 4, 8, 8)
    assert block.connections[("stem", "block/add")] == ("h", (1, 4, 8, 8))


def test_params_from_initializers_without_a_layer_table(block):
    by = block.layer_map
    assert by["block.conv1"].params == 4 * 4 * 3 * 3
    assert by["block.bn1"].params == 4 * 4  # scale, bias, mean, var: all initializers count
    assert by["block/add"].params == 0
    assert block.params == 2 * 144 + 16


def test_shared_initializer_counts_once_and_scalars_are_constants():
    m = make(
        """g (float[1,2] x) => (float[1,2] y) <float[2,2] W, float half = {0.5}> {
            a = MatMul(x, W)  b = MatMul(a, W)  y = Mul(b, half) }""",
        {"a": ("fc1", "Linear"), "b": ("fc2", "Linear"), "y": ("scale", "Scale")},
    )
    a = analyze_onnx(m)
    assert [(layer.name, layer.params) for layer in a.layers[1:-1]] == [("fc1", 4), ("fc2", 0), ("scale", 0)]
    assert a.params == 4


def test_unannotated_onnx_names_layers_after_their_nodes():
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="first_relu"), helper.make_node("Abs", ["a"], ["y"], name="")]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    a = analyze_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert [layer.name for layer in a.layers] == ["x", "first_relu", "abs", "output"]
    assert a.layer("abs").path == ("abs",) and a.max_depth == 1


def test_shape_ops_join_the_layer_that_reads_them():
    m = make(
        """g (float[2,3,4] x) => (float[2,12] y) <int64[1] zero = {0}, int64[1] minus1 = {-1}> {
            h = Relu(x)  s = Shape(h)  n = Gather <axis = 0> (s, zero)  shp = Concat <axis = 0> (n, minus1)
            y = Reshape(h, shp) }""",
        {"h": ("act", "ReLU")},
    )
    a = analyze_onnx(m)
    assert [layer.name for layer in a.layers] == ["x", "act", "reshape", "output"]
    assert a.layer("reshape").ops == ("Shape_1", "Gather_2", "Concat_3", "Reshape_4")
    assert a.layer("reshape").inputs == ("act",)  # one connection: the shape read is not one


def test_pytorch_layer_table_names_counts_and_layers_without_ops():
    m = make(BLOCK, BLOCK_NS)
    records = [
        md.LayerRecord("stem", "stem", "ReLU"),
        md.LayerRecord("block", "block", "Block", params=7, leaf=False),  # its own nn.Parameter
        md.LayerRecord("block.conv1", "block/block.conv1", "Conv2d", params=144),
        md.LayerRecord("block.bn1", "block/block.bn1", "BatchNorm2d", params=8),  # buffers not counted
        md.LayerRecord("block.relu", "block/block.relu", "ReLU"),
        md.LayerRecord("block.drop", "block/block.drop", "Dropout"),  # ran, left no op
        md.LayerRecord("block.conv2", "block/block.conv2", "Conv2d", params=144),
    ]
    md.set_model_info(m, "pytorch", "test", records)
    a = analyze_onnx(m)
    names = [layer.name for layer in a.layers]
    assert names[names.index("block.conv2") - 1] == "block.drop"  # placed in call order
    assert a.layer("block.drop").ops == () and a.layer("block.drop").kind == K.DROPOUT
    assert a.layer("block.bn1").params == 8
    assert a.params == 7 + 144 + 8 + 144
    assert a.tree[("block",)].params == 7 + 144 + 8 + 144  # the container keeps its own parameter
    assert a.framework == "pytorch" and a.converter == "test"


def test_keras_layer_table_wires_dropout_and_names_the_input():
    m = make(
        """g (float[1,4] keras_tensor) => (float[1,2] y) <float[4,3] W1, float[3] B1, float[3,2] W2> {
            a = MatMul(keras_tensor, W1)  b = Add(a, B1)  y = MatMul(b, W2) }""",
        {"a": ("dense", "Dense"), "b": ("dense", "Dense"), "y": ("dense_1", "Dense")},
    )
    records = [
        md.LayerRecord("input_layer", "input_layer", "InputLayer"),
        md.LayerRecord("dense", "dense", "Dense", params=15, inbound=("input_layer",)),
        md.LayerRecord("dropout", "dropout", "Dropout", inbound=("dense",)),
        md.LayerRecord("dense_1", "dense_1", "Dense", params=6, inbound=("dropout",)),
    ]
    md.set_model_info(m, "keras", "tf2onnx", records)
    a = analyze_onnx(m)
    assert [layer.name for layer in a.layers] == ["input_layer", "dense", "dropout", "dense_1", "output"]
    assert a.layer("dropout").inputs == ("dense",) and a.layer("dropout").outputs == ("dense_1",)
    assert a.layer("dense").outputs == ("dropout",)  # rewired through the layer without ops
    assert a.layer("dropout").output_shape == (1, 3)
    assert a.layer("dense").kind == K.LINEAR
    assert a.params == 21


def test_module_tree(block):
    tree = block.tree
    assert tree[()].children == (("x",), ("stem",), ("block",), ("output",))
    node = tree[("block",)]
    assert (node.name, node.cls, node.leaf) == ("block", "Block", False)
    assert node.layers == ("block.conv1", "block.bn1", "block.relu", "block.conv2", "block/add", "block.relu#2")
    assert node.params == block.params
    assert tree[("block", "block.conv1")].leaf and tree[("block", "block.conv1")].cls == "Conv2d"


def test_layer_graph_collapses_modules_at_a_depth(block):
    full = block.layer_graph()
    assert full.number_of_nodes() == len(block.layers)
    assert full.edges["block.conv2", "block/add"]["shape"] == (1, 4, 8, 8)
    g = block.layer_graph(depth=1)
    assert list(g.nodes) == ["x", "stem", "block", "output"]
    d = g.nodes["block"]
    assert (d["kind"], d["type"], d["params"]) == (K.MODULE, "Block", block.params)
    assert d["members"][0] == "block.conv1" and len(d["members"]) == 6
    assert d["output_shape"] == (1, 4, 8, 8)
    assert set(g.edges) == {("x", "stem"), ("stem", "block"), ("block", "output")}
    assert g.edges["stem", "block"]["count"] == 2  # two connections: into conv1 and into the add
    with pytest.raises(ValueError):
        block.layer_graph(depth=0)


def test_kind_table_is_keyed_by_framework():
    assert class_kind("Conv1D", "pytorch") == K.LINEAR  # transformers' GPT-2 Conv1D is a linear layer
    assert class_kind("Conv1D", "keras") == K.CONV
    assert class_kind("Dense", "onnx") == K.LINEAR and class_kind("Whatever", "keras") is None
    assert op_kind("Gather", reads_param=True) == K.EMBEDDING and op_kind("Gather") == K.RESHAPE
    assert op_kind("NoSuchOp") == K.OTHER


def test_a_model_without_a_layer_table_reports_onnx(block):
    assert block.framework == "onnx" and isinstance(block.model, onnx.ModelProto)
    assert block.op_count == 7
