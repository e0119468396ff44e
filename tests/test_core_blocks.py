"""core.blocks: runs of structurally identical units, in module trees and in flat graphs."""

from __future__ import annotations

import numpy as np
import onnx
from modelmap.core import analyze_onnx
from modelmap.core.blocks import _tandem_runs
from onnx import TensorProto, helper, numpy_helper

from benchmarks.synthetic import resnet_like, transformer_like


def test_module_blocks_per_stage_with_a_different_first_block():
    a = analyze_onnx(resnet_like(stages=3, blocks=3))
    found = {(b.parent, b.name): b for b in a.blocks}
    b1 = found[(("layer1",), "BasicBlock")]
    assert (b1.count, b1.members) == (3, ("layer1.0", "layer1.1", "layer1.2"))
    b2 = found[(("layer2",), "BasicBlock")]  # layer2.0 has the projection shortcut: not in the run
    assert (b2.count, b2.members) == (2, ("layer2.1", "layer2.2"))
    assert b2.units[0][0] == "layer2.1.a.conv" and len(b2.units) == 2
    assert b1.signature == b2.signature  # same structure, names ignored
    assert len(b1.signature) == 12


def test_transformer_layers_repeat():
    a = analyze_onnx(transformer_like(layers=4))
    assert [(b.name, b.count, b.parent) for b in a.blocks] == [("EncoderLayer", 4, ("layers",))]


def _flat_resnet(units: int, kernel_of=lambda i: 3, names: str = "n") -> onnx.ModelProto:
    """x -> relu, then `units` x (conv, relu, conv, add, relu) without any namespace."""
    nodes, inits = [], []
    h = "h0"
    nodes.append(helper.make_node("Relu", ["x"], [h], name=f"{names}_stem"))
    for i in range(units):
        k = kernel_of(i)
        for j in (1, 2):
            inits.append(numpy_helper.from_array(np.zeros((4, 4, k, k), np.float32), f"W{i}_{j}"))
        p = k // 2
        nodes += [
            helper.make_node("Conv", [h, f"W{i}_1"], [f"c{i}"], name=f"{names}_conv{i}a", pads=[p] * 4),
            helper.make_node("Relu", [f"c{i}"], [f"r{i}"], name=f"{names}_relu{i}a"),
            helper.make_node("Conv", [f"r{i}", f"W{i}_2"], [f"d{i}"], name=f"{names}_conv{i}b", pads=[p] * 4),
            helper.make_node("Add", [f"d{i}", h], [f"a{i}"], name=f"{names}_add{i}"),
            helper.make_node("Relu", [f"a{i}"], [f"h{i + 1}"], name=f"{names}_relu{i}b"),
        ]
        h = f"h{i + 1}"
    graph = helper.make_graph(
        nodes,
        "flat",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info(h, TensorProto.FLOAT, [1, 4, 8, 8])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_flat_graph_units_start_at_the_residual_body():
    a = analyze_onnx(_flat_resnet(3))
    assert len(a.blocks) == 1
    b = a.blocks[0]
    assert (b.name, b.count, b.parent) == ("ResidualBlock", 3, ())
    assert b.members == ("n_conv0a", "n_conv1a", "n_conv2a")
    assert b.units[0] == ("n_conv0a", "n_relu0a", "n_conv0b", "n_add0", "n_relu0b")


def test_signatures_ignore_names_but_not_hyperparameters():
    a = analyze_onnx(_flat_resnet(3, names="n"))
    b = analyze_onnx(_flat_resnet(3, names="other"))
    assert a.blocks[0].signature == b.blocks[0].signature
    c = analyze_onnx(_flat_resnet(3, kernel_of=lambda i: 3 if i < 2 else 5))
    assert [(blk.count, blk.members) for blk in c.blocks] == [(2, ("n_conv0a", "n_conv1a"))]


def test_repeats_without_a_learned_layer_are_not_blocks():
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu{i}") for i in range(5)]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("t5", TensorProto.FLOAT, [4])],
    )
    a = analyze_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert a.blocks == []


def test_tandem_runs_take_the_longest_cover_and_rotate_to_a_merge():
    seq = list("xRBARBARBy")  # R, B: relu and norm after each add; A: a residual unit
    merge = [c == "A" for c in seq]
    assert _tandem_runs(seq, merge, [False] * len(seq)) == [(3, 3, 2)]
    assert _tandem_runs(list("abcd"), [False] * 4, [False] * 4) == []
    assert _tandem_runs(list("aaaab"), [False] * 5, [False] * 5) == [(0, 1, 4)]
