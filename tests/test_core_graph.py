"""core.graph: building the op graph, roles (data/shape/param/const), invalid graphs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from modelmap.core.graph import build_graph
from onnx import TensorProto, helper, numpy_helper

from modelmap import InvalidGraphError
from modelmap import _metadata as md

HEADER = '<ir_version: 8, opset_import: ["" : 17]>\n'


def make(text: str, namespaces: dict[str, tuple[str, str]] | None = None) -> onnx.ModelProto:
    """Parse a model; declared-but-unset tensors (``<float[2,2] W>``) become random initializers.

    ``namespaces`` maps a node's first output to ``("a/b", "A/B")`` (namespace, classes).
    """
    m = onnx.parser.parse_model(HEADER + text)
    produced = {o for n in m.graph.node for o in n.output} | {i.name for i in m.graph.input}
    keep = []
    rng = np.random.default_rng(0)
    for vi in m.graph.value_info:
        if vi.name in produced:
            keep.append(vi)
            continue
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        arr = rng.standard_normal(dims).astype(dtype) if np.issubdtype(dtype, np.floating) else np.zeros(dims, dtype)
        m.graph.initializer.append(numpy_helper.from_array(arr, vi.name))
    del m.graph.value_info[:]
    m.graph.value_info.extend(keep)
    for node in m.graph.node:
        node.name = ""  # the parser sometimes names nodes after a tensor; ids become Op_index
        if namespaces and node.output[0] in namespaces:
            ns, cls = namespaces[node.output[0]]
            md.annotate_node(node, ns.split("/"), cls.split("/"))
    return m


def node_of(g, output: str) -> str:
    return g.tensors[output].producer


def role(g, output: str) -> str:
    return g.role(node_of(g, output))


# --------------------------------------------------------------------------- building
def test_nodes_edges_and_slots():
    m = make(
        """g (float[1,3,8,8] x) => (float[1,4,8,8] y) <float[4,3,3,3] W, float[4] B> {
            c = Conv <pads = [1, 1, 1, 1]> (x, W, B)
            y = Relu(c)
        }"""
    )
    g = build_graph(m)
    assert g.ops == ["Conv_0", "Relu_1"]
    assert g.inputs == ["input:x"] and g.outputs == ["output:y"]
    conv = g.node("Conv_0")
    assert conv["op_type"] == "Conv" and conv["params"] == ("W", "B")
    assert conv["attrs"]["pads"] == (1, 1, 1, 1)
    # one edge per tensor use, with tensor, shape (from shape inference), dtype and slots
    (u, v, d) = next(iter(g.nx.in_edges("Relu_1", data=True)))
    assert (u, v) == ("Conv_0", "Relu_1")
    assert d == {"tensor": "c", "shape": (1, 4, 8, 8), "dtype": "float", "src_slot": 0, "dst_slot": 0}
    assert g.nx.has_edge("Relu_1", "output:y") and g.nx.has_edge("input:x", "Conv_0")
    assert g.tensors["c"].consumers == [("Relu_1", 0)]
    assert g.initializers["W"].numel == 108 and g.initializers["W"].is_param


def test_networkx_view_shares_node_attributes():
    m = make("g (float[1,4] x) => (float[1,4] y) { y = Relu(x) }")
    g = build_graph(m)
    assert g.nx.nodes["Relu_0"] is g.node("Relu_0")
    assert set(g.nx.nodes) == {"input:x", "Relu_0", "output:y"}


def test_symbolic_dims_survive_and_shape_inference_failure_is_tolerated():
    m = make("g (float[N,4] x) => (float[N,4] y) { r = Relu(x)  y = Abs(r) }")
    g = build_graph(m)
    assert g.tensors["r"].shape == ("N", 4)
    m2 = make("g (float[1,4] x) => (float[1,4] y) { r = Relu(x)  y = Abs(r) }")
    m2.opset_import[0].version = 999  # shape inference gives up on an unknown opset
    g2 = build_graph(m2)
    assert g2.ops == ["Relu_0", "Abs_1"]


def test_unsorted_acyclic_graph_is_accepted_in_topological_order():
    m = make("g (float[1,4] x) => (float[1,4] y) { y = Abs(r)  r = Relu(x) }")
    g = build_graph(m)
    assert [g.node(n)["op_type"] for n in g.ops] == ["Relu", "Abs"]


def test_old_ir_initializers_listed_as_inputs_are_not_inputs():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])
    w_vi = helper.make_tensor_value_info("W", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])
    w = numpy_helper.from_array(np.eye(2, dtype=np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x, w_vi], [y], [w])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 3
    g = build_graph(m)
    assert g.inputs == ["input:x"]
    assert g.node(g.ops[0])["params"] == ("W",)


# --------------------------------------------------------------------------- roles
def test_shape_computation_is_marked_and_kept_out_of_data_flow():
    m = make(
        """g (float[2,3,4] x) => (float[2,12] y) <int64[1] zero = {0}, int64[1] minus1 = {-1}> {
            s = Shape(x)
            n = Gather <axis = 0> (s, zero)
            shp = Concat <axis = 0> (n, minus1)
            y = Reshape(x, shp)
        }"""
    )
    g = build_graph(m)
    assert [role(g, t) for t in ("s", "n", "shp", "y")] == ["shape", "shape", "shape", "data"]
    dg = g.data_graph()
    assert set(dg.nodes) == {"input:x", node_of(g, "y")}
    assert list(dg.edges) == [("input:x", node_of(g, "y"))]


def test_constants_params_and_type_only_slots():
    m = make(
        """g (int64[1,4] ids, float[1,4,8] h) => (float[1,4,8] y, float[1,4,8] z)
           <float[10,8] table, int64[1] one = {1}, float zero = {0.0}> {
            k = Constant <value = float {2.0}> ()
            k2 = Mul(k, k)
            s = Shape(ids)
            n = Gather <axis = 0> (s, one)
            pos = Range(zero, n, k2)
            pi = Cast <to = 7> (pos)
            pe = Gather(table, pi)
            y = Add(h, pe)
            b = CastLike(k2, h)
            z = Mul(h, b)
        }"""
    )
    g = build_graph(m)
    assert role(g, "k") == "const" and role(g, "k2") == "const"
    assert role(g, "n") == "shape" and role(g, "pos") == "shape"
    assert role(g, "pe") == "param"  # a parameter looked up at shape-derived positions
    assert role(g, "b") == "const"  # CastLike reads h only for its type
    assert role(g, "y") == "data" and role(g, "z") == "data"


def test_data_op_feeding_only_a_shape_input_is_a_shape_op():
    g = build_graph(
        make(
            """g (float[2,6] x) => (float[3,4] y, float[2,6] z) {
                a = Abs(x)
                s = Cast <to = 7> (a)
                y = Reshape(x, s)
                b = Neg(x)
                t = Cast <to = 7> (b)
                u = Reshape(x, t)
                z = Add(b, x)
            }"""
        )
    )
    assert role(g, "a") == "shape" and role(g, "s") == "shape"
    assert role(g, "b") == "data"  # also read as data by the Add
    assert role(g, "t") == "shape"


def test_control_flow_subgraphs_are_kept_and_captures_are_edges():
    then_out = helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [1, 4])
    else_out = helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [1, 4])
    then_g = helper.make_graph([helper.make_node("Relu", ["h"], ["t_out"])], "then", [], [then_out])
    else_g = helper.make_graph([helper.make_node("Neg", ["h"], ["e_out"])], "else", [], [else_out])
    nodes = [
        helper.make_node("Abs", ["x"], ["h"]),
        helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    g = build_graph(m)
    if_node = node_of(g, "y")
    assert set(g.node(if_node)["subgraphs"]) == {"then_branch", "else_branch"}
    assert g.node(if_node)["subgraphs"]["then_branch"].node[0].op_type == "Relu"
    assert (node_of(g, "h"), "h", -1) in g.sources(if_node)
    assert g.role(if_node) == "data"
    assert g.data_graph().has_edge(node_of(g, "h"), if_node)


# --------------------------------------------------------------------------- invalid graphs
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "g (float[1,4] x) => (float[1,4] y) { a = Relu(y)  y = Abs(a) }",
            "the ONNX graph has a cycle: Relu_0 -> Abs_1 -> Relu_0",
        ),
        (
            "g (float[1,4] x) => (float[1,4] y) { y = Add(x, nowhere) }",
            (
                "node 'Add_0' (Add) reads tensor 'nowhere', which no node, graph input or initializer provides "
                "(a missing initializer?)"
            ),
        ),
        (
            "g (float[1,4] x) => (float[1,4] y) { y = Relu(x)  y = Abs(x) }",
            "tensor 'y' is produced twice: by node 'Abs_1' (Abs) and by node 'Relu_0'",
        ),
    ],
)
def test_invalid_graphs_raise_one_clear_line(text, message):
    m = onnx.parser.parse_model(HEADER + text)
    with pytest.raises(InvalidGraphError) as info:
        build_graph(m)
    assert str(info.value) == message
    assert "\n" not in str(info.value)


def test_missing_initializer_and_missing_output_and_empty_graph():
    m = make("g (float[1,2] x) => (float[1,2] y) <float[2,2] W> { y = MatMul(x, W) }")
    del m.graph.initializer[:]
    with pytest.raises(InvalidGraphError, match=r"reads tensor 'W', .* \(a missing initializer\?\)"):
        build_graph(m)
    m = make("g (float[1,2] x) => (float[1,2] y) { z = Relu(x) }")
    with pytest.raises(InvalidGraphError, match="graph output 'y' is produced by no node"):
        build_graph(m)
    empty = helper.make_model(helper.make_graph([], "g", [], []))
    with pytest.raises(InvalidGraphError, match="the ONNX graph is empty: it has no nodes"):
        build_graph(empty)
