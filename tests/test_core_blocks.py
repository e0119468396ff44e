"""core.blocks: runs of structurally identical units, in module trees and in flat graphs."""

from __future__ import annotations

import numpy as np
import onnx
from modelmap.core import analyze_onnx
from modelmap.core.blocks import _tandem_runs, find_blocks
from modelmap.core.graph import build_graph
from modelmap.core.layers import group_layers
from modelmap.core.skips import find_skips
from onnx import TensorProto, helper, numpy_helper

from modelmap import _metadata as md

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


def _flat_blocks(model: onnx.ModelProto) -> list:
    """find_blocks on the flat layers, before core/inferred.py gives them modules."""
    g = build_graph(model)
    grouping = group_layers(g, md.model_layers(model), md.model_framework(model))
    skips, _ = find_skips(g, grouping.op_layer, {layer.name: layer.kind for layer in grouping.layers})
    return find_blocks(grouping.layers, grouping.tree, skips)


def test_flat_graph_units_start_at_the_residual_body():
    blocks = _flat_blocks(_flat_resnet(3))
    assert len(blocks) == 1
    b = blocks[0]
    assert (b.name, b.count, b.parent) == ("ResidualBlock", 3, ())
    assert b.members == ("n_conv0a", "n_conv1a", "n_conv2a")
    assert b.units[0] == ("n_conv0a", "n_relu0a", "n_conv0b", "n_add0", "n_relu0b")
    # the analysis makes each unit a module (core/inferred.py), and finds the run over those
    a = analyze_onnx(_flat_resnet(3))
    assert [(b.name, b.count, b.parent, b.members) for b in a.blocks] == [
        ("ResidualBlock", 3, ("stage1",), ("block1", "block2", "block3"))]
    assert a.blocks[0].units[0] == ("n_conv0a", "n_relu0a", "n_conv0b", "n_add0", "n_relu0b")


def test_signatures_ignore_names_but_not_hyperparameters():
    a = _flat_blocks(_flat_resnet(3, names="n"))
    b = _flat_blocks(_flat_resnet(3, names="other"))
    assert a[0].signature == b[0].signature
    c = _flat_blocks(_flat_resnet(3, kernel_of=lambda i: 3 if i < 2 else 5))
    assert [(blk.count, blk.members) for blk in c] == [(2, ("n_conv0a", "n_conv1a"))]


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


# ----------------------------------------------------------------------------- real-architecture patterns


def _stack(
    n: int,
    *,
    shared: bool = False,
    first_bias: bool = False,
    inner_mask: bool = False,
    dynamic: bool = False,
    shifted: bool = False,
) -> onnx.ModelProto:
    """x -> ``enc`` (class Stack: a projection ``enc.proj``, then ``n`` residual blocks
    ``h + mlp.fc2(relu(fc1(h)))``) -> head.

    ``shared``: one module ``enc.block`` applied n times with the same weights (ALBERT);
    ``first_bias``: block 0 also looks up a bias table (``enc.blocks.0.bias``, reading no
    hidden state) that every block adds after fc1 (T5's relative attention bias);
    ``inner_mask``: ``enc`` makes a mask from the graph input ``m`` that every block
    multiplies in (DeBERTa's get_attention_mask); ``dynamic``: every block adds the sum of
    its positive activations, a size known only at run time (mixture-of-experts routing);
    ``shifted``: every second block rolls its input first (Swin's shifted windows).
    """
    from benchmarks.synthetic import _Builder, _model

    b = _Builder(with_data=True)
    made: set[str] = set()

    def weight(name: str, dims: tuple[int, ...]) -> str:
        if name not in made:
            made.add(name)
            b.weight(name, dims)
        return name

    def linear(x: str, ns: tuple[str, ...], cls: tuple[str, ...], name: str) -> str:
        y = b.op("MatMul", [x, weight(f"{name}.weight", (4, 4))], ns + (name,), cls + ("Linear",))
        return b.op("Add", [y, weight(f"{name}.bias", (4,))], ns + (name,), cls + ("Linear",))

    mask = bias = None
    if inner_mask:
        mask = b.op("Unsqueeze", ["m", b.const("axis0", [0])], ("enc",), ("Stack",))
        mask = b.op("Cast", [mask], ("enc",), ("Stack",), to=TensorProto.FLOAT)
    h = linear(b.op("Relu", ["x"], ("stem",), ("ReLU",)), ("enc",), ("Stack",), "enc.proj")
    for i in range(n):
        name = "enc.block" if shared else f"enc.blocks.{i}"
        ns, cls = ("enc", name), ("Stack", "Block")
        y = linear(b.op("Neg", [h], ns, cls) if shifted and i % 2 else h, ns, cls, f"{name}.fc1")
        if first_bias:
            if i == 0:
                bias = b.op("Gather", [weight("table", (8, 4)), b.const("pos", 3)], ns + (f"{name}.bias",), cls + ("Embedding",))
            y = b.op("Add", [y, bias], ns, cls)
        if mask is not None:
            y = b.op("Mul", [y, mask], ns, cls)
        if dynamic:
            y1 = b.op("Reshape", [y, b.const(f"flat{i}", [-1])], ns, cls)
            positive = b.op("Greater", [y1, b.const(f"zero{i}", [0.0], np.float32)], ns, cls)
            picked = b.op("Compress", [y1, positive], ns, cls)
            y = b.op("Add", [y, b.op("ReduceSum", [picked], ns, cls, keepdims=0)], ns, cls)
        y = b.op("Relu", [y], ns, cls)
        h = b.op("Add", [h, linear(y, ns + (f"{name}.mlp",), cls + ("Mlp",), f"{name}.mlp.fc2")], ns, cls)
    out = linear(h, (), (), "head")
    b.nodes[-1].output[0] = "y"
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])]
    if inner_mask:
        inputs.append(helper.make_tensor_value_info("m", TensorProto.INT64, [4]))
    del out
    return _model(b, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], "stack")


def _run(model: onnx.ModelProto) -> None:
    """The test graph is a valid model that onnxruntime runs."""
    import onnxruntime as ort

    onnx.checker.check_model(model, full_check=True)
    feed = {"x": np.ones((1, 4), np.float32), "m": np.ones(4, np.int64)}
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})


def test_a_module_applied_three_times_is_one_shared_block():
    model = _stack(3, shared=True)
    _run(model)
    a = analyze_onnx(model)
    assert [(b.name, b.count, b.parent, b.shared) for b in a.blocks] == [("Block", 3, ("enc",), True)]
    b = a.blocks[0]
    assert b.members == ("enc.block", "enc.block#2", "enc.block#3")
    assert [u[0] for u in b.units] == ["enc.block.fc1", "enc.block.fc1#2", "enc.block.fc1#3"]
    assert len({len(u) for u in b.units}) == 1  # position for position
    assert b.to_dict()["shared"] is True and "first_extra" not in b.to_dict()
    # the same blocks with their own weights: a plain run, and the same structure
    plain = analyze_onnx(_stack(3))
    assert [(p.count, p.shared) for p in plain.blocks] == [(3, False)]
    assert "shared" not in plain.blocks[0].to_dict()
    assert "x3, shared weights in enc" in a.summary()


def test_a_module_applied_to_two_inputs_side_by_side_is_not_a_run():
    """A siamese encoder: ``enc`` runs on x1 and on x2, then the two are added; its
    second call does not read the first, so the calls are not a run."""
    from benchmarks.synthetic import _Builder, _model

    b = _Builder(with_data=True)
    b.weight("enc.fc.weight", (4, 4))
    outs = []
    for x in ("x1", "x2"):
        h = b.op("MatMul", [x, "enc.fc.weight"], ("enc", "enc.fc"), ("Encoder", "Linear"))
        outs.append(b.op("Relu", [h], ("enc",), ("Encoder",)))
    b.op("Add", outs, (), ())
    b.nodes[-1].output[0] = "y"
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x1", "x2", "y")]
    a = analyze_onnx(_model(b, io[:2], io[2:], "siamese"))
    assert {layer.name for layer in a.layers} >= {"enc.fc", "enc.fc#2"}
    assert a.blocks == []


def test_a_first_block_with_an_extra_input_does_not_hide_the_run():
    model = _stack(4, first_bias=True)
    _run(model)
    a = analyze_onnx(model)
    assert [(b.name, b.count, b.parent) for b in a.blocks] == [("Block", 4, ("enc",))]
    b = a.blocks[0]
    assert b.members == ("enc.blocks.0", "enc.blocks.1", "enc.blocks.2", "enc.blocks.3")
    assert b.first_extra == ("enc.blocks.0.bias",)
    assert b.to_dict()["first_extra"] == ["enc.blocks.0.bias"]
    assert len(b.units[0]) == len(b.units[1]) + 1
    # two blocks: the run is the first and the second
    assert [(x.count, x.first_extra) for x in analyze_onnx(_stack(2, first_bias=True)).blocks] == [
        (2, ("enc.blocks.0.bias",))
    ]


def test_a_mask_made_inside_the_stack_does_not_join_its_blocks():
    model = _stack(3, inner_mask=True)
    _run(model)
    a = analyze_onnx(model)
    assert [(b.name, b.count, b.members[0]) for b in a.blocks] == [("Block", 3, "enc.blocks.0")]


def test_sizes_known_only_at_run_time_do_not_make_blocks_differ():
    model = _stack(3, dynamic=True)
    _run(model)
    a = analyze_onnx(model)
    by_name = {layer.name: layer for layer in a.layers}
    dims = {by_name[f"enc.blocks.{i}/compress"].output_shape for i in range(3)}
    assert len(dims) == 3  # a new symbolic size in every block
    assert [(b.name, b.count) for b in a.blocks] == [("Block", 3)]


def test_alternating_blocks_of_one_class_repeat_in_pairs_named_after_it():
    a = analyze_onnx(_stack(6, shifted=True))
    assert [(b.name, b.count, b.members) for b in a.blocks] == [
        ("Block", 3, ("enc.blocks.0", "enc.blocks.2", "enc.blocks.4"))
    ]


def test_folded_drawing_says_shared_weights_and_draws_a_different_first_block_apart():
    from modelmap.exporters._options import DrawOptions
    from modelmap.exporters._view import build_view, cluster_label, node_label

    view = build_view(analyze_onnx(_stack(3, shared=True)), DrawOptions(fold=True))
    assert [cluster_label(c) for c in view.clusters() if c.repeat > 1] == ["\u00d7 3, shared weights  Block"]
    assert not any(n.name.endswith("#2") for n in view.nodes)
    collapsed = build_view(analyze_onnx(_stack(3, shared=True)), DrawOptions(depth=1, fold=True))
    enc = next(n for n in collapsed.nodes if n.name == "enc")
    assert node_label(enc, DrawOptions()).endswith("\u00d7 3, shared weights")
    # at depth 3 the calls share the collapsed mlp box: the others fold into the first
    part = build_view(analyze_onnx(_stack(3, shared=True)), DrawOptions(depth=3, fold=True))
    assert [cluster_label(c) for c in part.clusters() if c.repeat > 1] == ["\u00d7 3, shared weights  Block"]
    ids = {n.name: n.id for n in part.nodes}
    assert "enc.block.fc1#2" not in ids and {"enc.block.fc1", "enc.block.mlp", "head"} <= set(ids)
    assert not [e for e in part.edges if (e.src, e.dst) == (ids["enc.block.mlp"], ids["enc.block.fc1"])]
    assert [e for e in part.edges if e.dst == ids["head"]]  # the last call's output leaves the first

    view = build_view(analyze_onnx(_stack(4, first_bias=True)), DrawOptions(fold=True))
    folded = [c for c in view.clusters() if c.repeat > 1]
    assert [cluster_label(c) for c in folded] == ["\u00d7 3, without bias  Block  (enc.blocks.1 \u2026 enc.blocks.3)"]
    names = {n.name for n in view.nodes}
    assert {"enc.blocks.0.bias", "enc.blocks.0.fc1", "enc.blocks.1.fc1"} <= names
    assert not names & {"enc.blocks.2.fc1", "enc.blocks.3.fc1"}
    assert any("without bias" in note for note in view.notes)


def test_the_table_of_a_shared_stack_lists_the_module_once_with_every_call_counted():
    from modelmap.exporters.table import arch_table

    a = analyze_onnx(_stack(3, shared=True))
    deep = arch_table(a, depth=a.max_depth)
    assert [r.count for r in deep.rows] == [1] * len(deep.rows)  # no run of layers made up
    assert {r.name for r in deep.rows} >= {"enc.block.fc1", "enc.block.fc1#3"}
    row = next(r for r in arch_table(a, depth=2).rows if r.name == "enc.block")
    assert row.params == 2 * (16 + 4)  # fc1 and fc2, counted once
    one = next(r for r in arch_table(analyze_onnx(_stack(3)), depth=2, fold=False).rows if r.name == "enc.blocks.0")
    assert one.macs and row.macs == 3 * one.macs  # every call computes
