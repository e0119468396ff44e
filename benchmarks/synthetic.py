"""Synthetic annotated ONNX graphs of any size, for benchmarks and tests.

Both generators return an ``onnx.ModelProto`` whose nodes carry modelmap's ``namespace``
and ``class_hierarchy`` metadata, the way the PyTorch converter writes them, and whose
expected structure is known exactly:

- :func:`resnet_like`: a stem, then ``stages`` stages of ``blocks`` BasicBlocks (conv-BN-ReLU-
  conv-BN, Add, ReLU); the first block of every stage after the first has a 1x1 conv + BN
  projection shortcut. Skips: ``stages * blocks``, of which ``stages - 1`` projections.
- :func:`transformer_like`: token + positional embedding (the positions come from
  ``Shape``/``Range``, a shape computation), then ``layers`` post-norm encoder layers
  (self-attention with query/key/value branches, a mask computed from the input's
  shape, feed-forward), each with two residual Adds. Skips: ``2 * layers``.

Weights are stored as shapes only (``with_data=False``, the default) so that a 100k-node
graph stays small; pass ``with_data=True`` for a model onnxruntime can run.

>>> m = resnet_like(stages=2, blocks=2)
>>> len(m.graph.node), expected_resnet_skips(2, 2)
(35, (4, 1))
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from modelmap import _metadata as md

OPSET = 17


class _Builder:
    def __init__(self, with_data: bool) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.with_data = with_data
        self.count = 0

    def weight(self, name: str, dims: tuple[int, ...]) -> str:
        if self.with_data:
            rng = np.random.default_rng(len(self.inits))
            self.inits.append(numpy_helper.from_array(rng.standard_normal(dims).astype(np.float32) * 0.1, name))
        else:
            t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(dims))
            self.inits.append(t)
        return name

    def const(self, name: str, values: list[int] | list[float], dtype: type = np.int64) -> str:
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        ns: tuple[str, ...],
        classes: tuple[str, ...],
        n_out: int = 1,
        **attrs: object,
    ) -> str | list[str]:
        self.count += 1
        outs = [f"t{self.count}_{k}" for k in range(n_out)]
        node = helper.make_node(op_type, inputs, outs, name=f"n{self.count}_{op_type}", **attrs)
        md.annotate_node(node, ns, classes)
        self.nodes.append(node)
        return outs[0] if n_out == 1 else outs


def _model(
    b: _Builder, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], name: str
) -> onnx.ModelProto:
    graph = helper.make_graph(b.nodes, name, inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="modelmap-synthetic")
    model.ir_version = 8
    md.set_model_info(model, "pytorch", "synthetic", None)
    return model


def resnet_like(
    stages: int = 4, blocks: int = 2, channels: int = 8, size: int = 8, with_data: bool = False
) -> onnx.ModelProto:
    """A ResNet-like graph (see the module docstring); ``7 * blocks * stages + ...`` ops."""
    b = _Builder(with_data)
    c = channels
    x = "x"

    def conv_bn(inp: str, ns: tuple[str, ...], cls: tuple[str, ...], name: str, k: int) -> str:
        w = b.weight(f"{name}.conv.weight", (c, c, k, k))
        pad = k // 2
        y = b.op("Conv", [inp, w], ns + (f"{name}.conv",), cls + ("Conv2d",), kernel_shape=[k, k], pads=[pad] * 4)
        bn = [b.weight(f"{name}.bn.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")]
        return b.op("BatchNormalization", [y, *bn], ns + (f"{name}.bn",), cls + ("BatchNorm2d",))

    w = b.weight("stem.weight", (c, 3, 3, 3))
    h = b.op("Conv", [x, w], ("stem",), ("Conv2d",), kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    h = b.op("Relu", [h], ("stem_relu",), ("ReLU",))
    for s in range(1, stages + 1):
        stage = f"layer{s}"
        for k in range(blocks):
            blk = f"{stage}.{k}"
            ns, cls = (stage, blk), ("Sequential", "BasicBlock")
            y = conv_bn(h, ns, cls, f"{blk}.a", 3)
            y = b.op("Relu", [y], ns + (f"{blk}.relu",), cls + ("ReLU",))
            y = conv_bn(y, ns, cls, f"{blk}.b", 3)
            short = h
            if k == 0 and s > 1:
                short = conv_bn(h, ns + (f"{blk}.downsample",), cls + ("Sequential",), f"{blk}.downsample.0", 1)
            y = b.op("Add", [y, short], ns, cls)
            h = b.op("Relu", [y], ns + (f"{blk}.relu",), cls + ("ReLU",))
    h = b.op("GlobalAveragePool", [h], ("avgpool",), ("AdaptiveAvgPool2d",))
    h = b.op("Flatten", [h], ("flatten",), ("Flatten",), axis=1)
    wfc = b.weight("fc.weight", (10, c))
    bfc = b.weight("fc.bias", (10,))
    b.count += 1
    node = helper.make_node("Gemm", [h, wfc, bfc], ["y"], name="fc_gemm", transB=1)
    md.annotate_node(node, ("fc",), ("Linear",))
    b.nodes.append(node)
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    return _model(b, [inp], [out], "resnet_like")


def expected_resnet_skips(stages: int, blocks: int) -> tuple[int, int]:
    """(skips, of which projections) of :func:`resnet_like`."""
    return stages * blocks, max(stages - 1, 0) if blocks else 0


def transformer_like(
    layers: int = 2, d: int = 16, heads: int = 2, seq: int = 8, vocab: int = 50, with_data: bool = False
) -> onnx.ModelProto:
    """A post-norm transformer encoder (see the module docstring); about 40 ops per layer."""
    b = _Builder(with_data)
    dh = d // heads
    split_shape = b.const("shape_split", [1, seq, heads, dh])
    merge_shape = b.const("shape_merge", [1, seq, d])
    zero = b.const("zero", [0])
    one = b.const("one", [1])
    scale = b.const("scale", [float(np.sqrt(dh))], np.float32)
    neg = b.const("neg", [-1e4], np.float32)

    tok = b.op("Gather", [b.weight("embed.weight", (vocab, d)), "ids"], ("embed",), ("Embedding",))
    # positions: Range(0, ids.shape[1]) - a shape computation feeding a parameter lookup
    shp = b.op("Shape", ["ids"], (), ())
    length = b.op("Gather", [shp, one], (), (), axis=0)
    length = b.op("Squeeze", [length, zero], (), ())
    start = b.op("Squeeze", [zero, zero], (), ())
    step = b.op("Squeeze", [one, zero], (), ())
    pos_ids = b.op("Range", [start, length, step], (), ())
    pos = b.op("Gather", [b.weight("pos.weight", (seq, d)), pos_ids], ("pos",), ("Embedding",))
    h = b.op("Add", [tok, pos], (), ())
    # an additive mask computed from the input's shape (all zeros: no padding)
    mask_shape = b.op(
        "Concat", [b.const("mask_lead", [1, 1, 1]), b.op("Unsqueeze", [length, zero], (), ())], (), (), axis=0
    )
    mask = b.op("ConstantOfShape", [mask_shape], (), (), value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))
    mask = b.op("Mul", [mask, neg], (), ())

    def linear(inp: str, ns: tuple[str, ...], cls: tuple[str, ...], name: str, fin: int, fout: int) -> str:
        y = b.op("MatMul", [inp, b.weight(f"{name}.weight", (fin, fout))], ns + (name,), cls + ("Linear",))
        return b.op("Add", [y, b.weight(f"{name}.bias", (fout,))], ns + (name,), cls + ("Linear",))

    def layer_norm(inp: str, ns: tuple[str, ...], cls: tuple[str, ...], name: str) -> str:
        return b.op(
            "LayerNormalization",
            [inp, b.weight(f"{name}.weight", (d,)), b.weight(f"{name}.bias", (d,))],
            ns + (name,),
            cls + ("LayerNorm",),
            axis=-1,
        )

    for i in range(layers):
        lay = f"layers.{i}"
        ns, cls = ("layers", lay), ("ModuleList", "EncoderLayer")
        ans, acls = ns + (f"{lay}.attn",), cls + ("SelfAttention",)
        heads_out = []
        for which in ("q", "k", "v"):
            y = linear(h, ans, acls, f"{lay}.attn.{which}", d, d)
            y = b.op("Reshape", [y, split_shape], ans, acls)
            perm = [0, 2, 3, 1] if which == "k" else [0, 2, 1, 3]
            heads_out.append(b.op("Transpose", [y], ans, acls, perm=perm))
        q, k, v = heads_out
        s = b.op("MatMul", [q, k], ans, acls)
        s = b.op("Div", [s, scale], ans, acls)
        s = b.op("Add", [s, mask], ans, acls)
        p = b.op("Softmax", [s], ans, acls, axis=-1)
        o = b.op("MatMul", [p, v], ans, acls)
        o = b.op("Transpose", [o], ans, acls, perm=[0, 2, 1, 3])
        o = b.op("Reshape", [o, merge_shape], ans, acls)
        o = linear(o, ans, acls, f"{lay}.attn.out", d, d)
        h = b.op("Add", [h, o], ns, cls)
        h = layer_norm(h, ns, cls, f"{lay}.norm1")
        f = linear(h, ns, cls, f"{lay}.ff1", d, 2 * d)
        f = b.op("Relu", [f], ns + (f"{lay}.act",), cls + ("ReLU",))
        f = linear(f, ns, cls, f"{lay}.ff2", 2 * d, d)
        h = b.op("Add", [h, f], ns, cls)
        h = layer_norm(h, ns, cls, f"{lay}.norm2")
    y = linear(h, (), (), "head", d, vocab)
    b.nodes[-1].output[0] = "logits"
    inp = helper.make_tensor_value_info("ids", TensorProto.INT64, [1, seq])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, seq, vocab])
    del y
    return _model(b, [inp], [out], "transformer_like")


def resnet_of_size(n_ops: int) -> onnx.ModelProto:
    """A :func:`resnet_like` graph with about ``n_ops`` ops (4 stages)."""
    blocks = max(1, round((n_ops - 6) / (4 * 7.1)))
    return resnet_like(stages=4, blocks=blocks)


def transformer_of_size(n_ops: int) -> onnx.ModelProto:
    """A :func:`transformer_like` graph with about ``n_ops`` ops."""
    layers = max(1, round((n_ops - 20) / 31))
    return transformer_like(layers=layers)


__all__ = ["expected_resnet_skips", "resnet_like", "resnet_of_size", "transformer_like", "transformer_of_size"]
