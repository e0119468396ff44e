"""core.skips: DESIGN.md's skip-connection definition on small hand-built graphs.

Every kind is found with the right merge/fork/body/shortcut layer names, and every kind of
merge that is not a skip is rejected with its reason.
"""

from __future__ import annotations

import pytest
from modelmap.core import SkipKind, analyze_onnx

from .test_core_graph import make

CONV = "Conv <pads = [1, 1, 1, 1]>"

# the layers of a BasicBlock written like torchvision's, as the PyTorch converter annotates them
BLOCK_NS = {
    "h": ("stem", "ReLU"),
    "c1": ("block/block.conv1", "Block/Conv2d"),
    "n1": ("block/block.bn1", "Block/BatchNorm2d"),
    "r1": ("block/block.relu", "Block/ReLU"),
    "c2": ("block/block.conv2", "Block/Conv2d"),
    "sc": ("block/block.down", "Block/Conv2d"),
    "p": ("block/block.pool", "Block/MaxPool2d"),
    "a": ("block", "Block"),
    "y": ("block/block.relu", "Block/ReLU"),
}
WEIGHTS = (
    "float[4,4,3,3] W1, float[4,4,3,3] W2, float[4,4,1,1] W3, float[4,4,3,3] W4, "
    "float[4] s1, float[4] b1, float[4] m1, float[4] v1"
)


def analyse(body: str, inputs: str = "float[1,4,8,8] x", outputs: str = "float[1,4,8,8] y", ns=None, weights=WEIGHTS):
    text = f"g ({inputs}) => ({outputs}) <{weights}> {{ {body} }}"
    return analyze_onnx(make(text, BLOCK_NS if ns is None else ns))


def only_skip(a):
    assert len(a.skips) == 1, [s for s in a.skips]
    return a.skips[0]


def reasons(a) -> list[str]:
    return [r.reason for r in a.rejections]


# --------------------------------------------------------------------------- the four kinds
def test_identity_residual_block():
    a = analyse(
        f"""h = Relu(x)  c1 = {CONV} (h, W1)  n1 = BatchNormalization(c1, s1, b1, m1, v1)  r1 = Relu(n1)
            c2 = {CONV} (r1, W2)  a = Add(c2, h)  y = Relu(a)"""
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge) == (SkipKind.IDENTITY, "stem", "block/add")
    assert s.body == ("block.conv1", "block.bn1", "block.relu", "block.conv2")
    assert s.shortcut == ()
    assert a.rejections == []


def test_projection_shortcut_has_fewer_learned_layers_than_the_body():
    a = analyse(
        f"""h = Relu(x)  c1 = {CONV} (h, W1)  n1 = BatchNormalization(c1, s1, b1, m1, v1)  r1 = Relu(n1)
            c2 = {CONV} (r1, W2)  sc = Conv(h, W3)  a = Add(c2, sc)  y = Relu(a)"""
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge) == (SkipKind.PROJECTION, "stem", "block/add")
    assert s.shortcut == ("block.down",)
    assert s.body == ("block.conv1", "block.bn1", "block.relu", "block.conv2")


def test_identity_through_a_parameter_free_pool():
    a = analyse(
        "h = Relu(x)  c1 = Conv <pads = [1, 1, 1, 1], strides = [2, 2]> (h, W1)  "
        "p = MaxPool <kernel_shape = [2, 2], strides = [2, 2]> (h)  a = Add(c1, p)  y = Relu(a)",
        outputs="float[1,4,4,4] y",
    )
    s = only_skip(a)
    assert (s.kind, s.shortcut, s.body) == (SkipKind.IDENTITY, ("block.pool",), ("block.conv1",))


def test_concat_of_the_fork_tensor_and_a_learned_branch():
    ns = {
        "h": ("stem", "ReLU"),
        "c1": ("dense1", "Conv2d"),
        "y1": ("cat1", "Concat"),
        "c2": ("dense2", "Conv2d"),
        "y": ("cat2", "Concat"),
    }
    a = analyse(
        f"""h = Relu(x)  c1 = {CONV} (h, W1)  y1 = Concat <axis = 1> (h, c1)
            c2 = {CONV} (y1, W5)  y = Concat <axis = 1> (h, c1, c2)""",
        outputs="float[1,12,8,8] y",
        ns=ns,
        weights=WEIGHTS + ", float[4,8,3,3] W5",
    )
    assert [(s.kind, s.fork, s.merge) for s in a.skips] == [
        (SkipKind.CONCAT, "stem", "cat1"),
        (SkipKind.CONCAT, "stem", "cat2"),  # DenseNet: all earlier features, the block input among them
    ]
    assert a.skips[1].body == ("dense1", "cat1", "dense2")


def test_gate_is_the_fork_times_a_learned_branch_ending_in_sigmoid():
    ns = {
        "h": ("stem", "ReLU"),
        "p": ("se/se.pool", "SE/AdaptiveAvgPool2d"),
        "f1": ("se/se.fc1", "SE/Conv2d"),
        "r": ("se/se.relu", "SE/ReLU"),
        "f2": ("se/se.fc2", "SE/Conv2d"),
        "g": ("se/se.gate", "SE/Sigmoid"),
        "y": ("se", "SE"),
    }
    a = analyse(
        "h = Relu(x)  p = GlobalAveragePool(h)  f1 = Conv(p, W3)  r = Relu(f1)  f2 = Conv(r, W6)  g = Sigmoid(f2)  y = Mul(h, g)",
        ns=ns,
        weights=WEIGHTS + ", float[4,4,1,1] W6",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge) == (SkipKind.GATE, "stem", "se/mul")
    assert s.body == ("se.pool", "se.fc1", "se.relu", "se.fc2", "se.gate")


def test_sum_of_three_with_the_fork_tensor_is_one_identity_skip():
    ns = {"h": ("stem", "ReLU"), "c1": ("a", "Conv2d"), "c2": ("b", "Conv2d"), "y": ("sum", "Sum")}
    a = analyse(f"h = Relu(x)  c1 = {CONV} (h, W1)  c2 = {CONV} (h, W2)  y = Sum(c1, h, c2)", ns=ns)
    s = only_skip(a)
    assert (s.kind, s.fork, s.body) == (SkipKind.IDENTITY, "stem", ("a", "b"))


def test_transformer_residual_around_attention_with_three_branches():
    ns = {
        "h": ("ln", "LayerNorm"),
        "q": ("block/attn.q", "Block/Linear"),
        "k": ("block/attn.k", "Block/Linear"),
        "v": ("block/attn.v", "Block/Linear"),
        "o": ("block/attn.out", "Block/Linear"),
        "y": ("block", "Block"),
    }
    a = analyse(
        """h = Relu(x)  q = MatMul(h, Wq)  k = MatMul(h, Wk)  v = MatMul(h, Wv)  kt = Transpose <perm = [1, 0]> (k)
           s = MatMul(q, kt)  p = Softmax(s)  c = MatMul(p, v)  o = MatMul(c, Wo)  y = Add(h, o)""",
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] Wq, float[8,8] Wk, float[8,8] Wv, float[8,8] Wo",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge) == (SkipKind.IDENTITY, "ln", "block/add")
    assert {"attn.q", "attn.k", "attn.v", "attn.out"} <= set(s.body)


# --------------------------------------------------------------------------- several graph inputs
def test_cross_attention_residual_counts_although_memory_is_another_input():
    ns = {
        "x": ("self", "ReLU"),
        "a": ("layer/cross.q", "L/Linear"),
        "b": ("layer/cross.k", "L/Linear"),
        "o": ("layer/cross.out", "L/Linear"),
        "y": ("layer", "L"),
    }
    a = analyse(
        "x = Relu(tgt)  a = MatMul(x, Wq)  b = MatMul(mem, Wk)  c = Add(a, b)  o = MatMul(c, Wo)  y = Add(x, o)",
        inputs="float[4,8] tgt, float[4,8] mem",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] Wq, float[8,8] Wk, float[8,8] Wo",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge) == (SkipKind.IDENTITY, "self", "layer/add")
    # the body lies between fork and merge; the memory's projection is a side input, not on it
    assert s.body == ("cross.q", "add", "cross.out")
    assert reasons(a) == ["Add at add: its inputs come from different graph inputs (tgt, mem), not a skip"]


def test_attention_mask_from_a_second_input_is_never_a_fork():
    ns = {
        "s1": ("l1/l1.score", "L/Linear"),
        "o1": ("l1/l1.out", "L/Linear"),
        "y1": ("l1", "L"),
        "s1m": ("l1", "L"),
        "s2": ("l2/l2.score", "L/Linear"),
        "o2": ("l2/l2.out", "L/Linear"),
        "y": ("l2", "L"),
        "s2m": ("l2", "L"),
        "mask": ("mask", "ReLU"),
        "x": ("embed", "ReLU"),
    }
    a = analyse(
        """x = Relu(ids)  mask = Relu(attention_mask)
           s1 = MatMul(x, W1)  s1m = Add(s1, mask)  o1 = MatMul(s1m, W2)  y1 = Add(x, o1)
           s2 = MatMul(y1, W3)  s2m = Add(s2, mask)  o2 = MatMul(s2m, W4)  y = Add(y1, o2)""",
        inputs="float[4,8] ids, float[4,8] attention_mask",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] W1, float[8,8] W2, float[8,8] W3, float[8,8] W4",
    )
    assert [(s.fork, s.merge) for s in a.skips] == [("embed", "l1/add_1"), ("l1/add_1", "l2/add_1")]
    assert reasons(a) == [
        "Add at l1/add: its inputs come from different graph inputs (ids, attention_mask), not a skip",
        "Add at l2/add: its inputs come from different graph inputs (ids, attention_mask), not a skip",
    ]


def test_merging_two_graph_inputs_is_not_a_skip():
    ns = {"a": ("left", "Conv2d"), "b": ("right", "Conv2d"), "y": ("join", "Add")}
    a = analyse(
        f"a = {CONV} (x1, W1)  b = {CONV} (x2, W2)  y = Add(a, b)", inputs="float[1,4,8,8] x1, float[1,4,8,8] x2", ns=ns
    )
    assert a.skips == []
    assert reasons(a) == ["Add at join: its inputs come from different graph inputs (x1, x2), not a skip"]


# --------------------------------------------------------------------------- rejections
@pytest.mark.parametrize(
    ("body", "ns", "expected"),
    [
        (  # a Linear's bias
            "m = MatMul(x, W)  y = Add(m, B)",
            {"m": ("fc", "Linear"), "y": ("fc", "Linear")},
            ["Add at fc: one input is an initializer: a bias add, not a skip"],
        ),
        (  # Keras' BatchNormalization as tf2onnx writes it: x * scale + shift
            "m = Mul(x, S)  y = Add(m, B)",
            {"m": ("batch_normalization", "BatchNormalization"), "y": ("batch_normalization", "BatchNormalization")},
            [
                "Mul at batch_normalization: one input is an initializer: the affine part of a normalization layer, not a skip",
                "Add at batch_normalization: one input is an initializer: the affine part of a normalization layer, not a skip",
            ],
        ),
        (  # an additive mask built from the input's shape
            "s = Shape(x)  z = ConstantOfShape <value = float[1] {1.0}> (s)  k = Mul(z, big)  y = Add(x, k)",
            {},
            [
                "Mul at add: part of a shape computation, not data flow",  # the mask joins the Add's layer
                "Add at add: one input is computed from tensor shapes only (an attention mask or position ids), not a skip",
            ],
        ),
        (  # token embedding + positional embedding looked up at Range(0, seq_len)
            """s = Shape(x)  n = Gather <axis = 0> (s, one)  p = Range(zero, n, one)  pe = Gather(P, p)
               h = Relu(x)  y = Add(h, pe)""",
            {"pe": ("pos", "Embedding"), "h": ("tok", "ReLU")},
            [
                "Add at add: one input is computed from parameters only (a positional embedding or learned token), not a skip"
            ],
        ),
        (  # a Concat on a shape computation
            "s = Shape(x)  c = Concat <axis = 0> (s, s)  r = Reshape(x, c4)  y = Relu(r)",
            {},
            ["Concat at Concat_1: part of a shape computation, not data flow"],
        ),
        ("y = Add(x, x)", {"y": ("twice", "Add")}, ["Add at twice: combines a tensor with itself, not a skip"]),
    ],
    ids=["bias-add", "bn-affine", "shape-mask", "positional-embedding", "shape-concat", "self-add"],
)
def test_merges_with_constant_or_non_data_inputs_are_rejected(body, ns, expected):
    a = analyse(
        body,
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] W, float[8] B, float[8] S, float[6,8] P, int64[1] one = {1}, int64 zero = {0}, int64[2] c4 = {4, 8}, "
        "float big = {-10000.0}",
    )
    assert a.skips == []
    assert reasons(a) == expected


def test_inception_concat_of_parallel_branches_is_rejected():
    ns = {
        "h": ("stem", "ReLU"),
        "c1": ("b1", "Conv2d"),
        "c2": ("b2", "Conv2d"),
        "p": ("b3.pool", "MaxPool2d"),
        "y": ("mixed", "Concat"),
    }
    a = analyse(
        f"""h = Relu(x)  c1 = Conv(h, W3)  c2 = {CONV} (h, W1)
            p = MaxPool <kernel_shape = [3, 3], pads = [1, 1, 1, 1]> (h)  y = Concat <axis = 1> (c1, c2, p)""",
        outputs="float[1,12,8,8] y",
        ns=ns,
    )
    assert a.skips == []
    assert reasons(a) == [
        (
            "Concat at mixed: none of its inputs is stem's tensor itself: a concatenation of parallel branches "
            "(Inception-style), not a skip"
        )
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "h = Relu(x)  y = Add(h, r)  r = Relu(h)",
            (
                "Add at y: no learned layer between stem and the merge: an elementwise function of stem (an activation "
                "such as GELU or SiLU, a rotary embedding), not a skip"
            ),
        ),
        (
            "h = Relu(x)  t = Tanh(h)  u = Add(t, one)  v = Mul(h, half)  y = Mul(v, u)",
            (
                "Mul at y: no learned layer between stem and the merge: an elementwise function of stem (an activation "
                "such as GELU or SiLU, a rotary embedding), not a skip"
            ),
        ),
        (
            "h = Relu(x)  s = Sigmoid(h)  y = Mul(h, s)",
            "Mul at y: the gating branch from stem holds no learned layer (an activation such as SiLU), not a skip",
        ),
        (
            f"h = Relu(x)  a = {CONV} (h, W1)  b = {CONV} (h, W2)  y = Add(a, b)",
            "Add at y: parallel branches from stem with 1 and 1 learned layers: neither is a shortcut, not a skip",
        ),
        (
            f"h = Relu(x)  r = Relu(h)  b = {CONV} (h, W2)  y = Add(r, b)",
            (
                "Add at y: the path from stem applies Relu and holds no learned layer: stem's tensor does not arrive "
                "unchanged, not a skip"
            ),
        ),
        (
            f"h = Relu(x)  a = {CONV} (h, W1)  b = {CONV} (h, W2)  y = Mul(a, b)",
            "Mul at y: neither input is stem's tensor itself: a product of two branches (a gated linear unit, say), not a skip",
        ),
        (
            f"h = Relu(x)  a = {CONV} (h, W1)  t = Tanh(a)  y = Mul(h, t)",
            "Mul at y: the other input does not end in a sigmoid or softmax: a product, not a gate",
        ),
    ],
    ids=["elementwise", "gelu-tanh", "silu", "parallel-add", "activation-shortcut", "glu", "not-a-gate"],
)
def test_merges_of_one_fork_that_are_not_skips(body, expected):
    ns = {"h": ("stem", "ReLU"), "y": ("y", "Merge")}
    a = analyse(body, ns=ns, weights=WEIGHTS + ", float one = {1.0}, float half = {0.5}")
    assert a.skips == []
    assert reasons(a)[-1] == expected


def test_keras_batchnorm_after_the_residual_add_leaves_exactly_one_skip():
    ns = {
        "h": ("relu", "ReLU"),
        "c1": ("conv2d", "Conv2D"),
        "a": ("add", "Add"),
        "m": ("batch_normalization", "BatchNormalization"),
        "y": ("batch_normalization", "BatchNormalization"),
    }
    a = analyse(
        f"h = Relu(x)  c1 = {CONV} (h, W1)  a = Add(h, c1)  m = Mul(a, s1u)  y = Add(m, b1u)",
        ns=ns,
        weights=WEIGHTS + ", float[4,1,1] s1u, float[4,1,1] b1u",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge, s.body) == (SkipKind.IDENTITY, "relu", "add", ("conv2d",))
    assert len(a.rejections) == 2
    assert all("affine part of a normalization layer" in r for r in reasons(a))


def test_synthetic_resnet_and_transformer_graphs():
    from benchmarks.synthetic import expected_resnet_skips, resnet_like, transformer_like

    a = analyze_onnx(resnet_like(stages=3, blocks=3))
    total, proj = expected_resnet_skips(3, 3)
    assert len(a.skips) == total
    assert sum(s.kind == SkipKind.PROJECTION for s in a.skips) == proj
    t = analyze_onnx(transformer_like(layers=3))
    assert [s.kind for s in t.skips] == [SkipKind.IDENTITY] * 6
    # bias adds, the mask adds and the positional embedding add are all explained
    assert sum("attention mask" in r for r in reasons(t)) == 3
    assert sum("positional embedding" in r for r in reasons(t)) == 1


def test_weights_shared_through_identity_nodes_still_make_a_body_learned():
    # The TorchScript exporter deduplicates equal weights: the second layer reads Identity(W)
    a = analyse(
        "h = Relu(x)  w2 = Identity(W)  m = MatMul(h, w2)  y = Add(h, m)",
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns={"h": ("stem", "ReLU"), "m": ("fc", "Linear"), "y": ("res", "Add")},
        weights="float[8,8] W",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.body) == (SkipKind.IDENTITY, "stem", ("fc",))
    assert a.layer("fc").kind.value == "linear" and a.layer("fc").params == 64


def test_layer_norm_decomposition_is_explained_as_normalization():
    ns = {n: ("ln", "LayerNormalization") for n in ("mu", "d", "sq", "var", "ve", "sd", "inv", "sc", "y")}
    ns["h"] = ("stem", "ReLU")
    a = analyse(
        """h = Relu(x)  mu = ReduceMean <axes = [-1]> (h)  d = Sub(h, mu)  sq = Mul(d, d)
           var = ReduceMean <axes = [-1]> (sq)  ve = Add(var, eps)  sd = Sqrt(ve)  inv = Reciprocal(sd)
           sc = Mul(inv, G)  y = Mul(d, sc)""",
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8] G, float eps = {0.00001}",
    )
    assert a.skips == []
    assert reasons(a) == [
        "Mul at ln: combines a tensor with itself, not a skip",
        "Add at ln: one input is an initializer: the affine part of a normalization layer, not a skip",
        "Mul at ln: one input is an initializer: the affine part of a normalization layer, not a skip",
        "Mul at ln: arithmetic inside a normalization layer (its scale and shift), not a skip",
    ]


# --------------------------------------------------------------------------- the tightened definition
ATTN = "kt = Transpose <perm = [1, 0]> (k)  sc = MatMul(q, kt)  p = Softmax(sc)  c = MatMul(p, v)"


def test_sum_of_parallel_branches_that_both_hold_a_nonlinearity_is_not_a_skip():
    # Falcon's new decoder layer: mlp(ln_mlp(h)) + attn(ln_attn(h)), then + h
    ns = {
        "h": ("stem", "ReLU"),
        "m1": ("layer/mlp.fc1", "L/Linear"),
        "g": ("layer/mlp.act", "L/GELU"),
        "m2": ("layer/mlp.fc2", "L/Linear"),
        "q": ("layer/attn.q", "L/Linear"),
        "k": ("layer/attn.k", "L/Linear"),
        "v": ("layer/attn.v", "L/Linear"),
        "o": ("layer/attn.out", "L/Linear"),
        "s": ("layer/parallel", "L/Add"),
        "y": ("layer/residual", "L/Add"),
    }
    a = analyse(
        f"""h = Relu(x)  m1 = MatMul(h, W1)  g = Gelu(m1)  m2 = MatMul(g, W2)
            q = MatMul(h, Wq)  k = MatMul(h, Wk)  v = MatMul(h, Wv)  {ATTN}  o = MatMul(c, Wo)
            s = Add(m2, o)  y = Add(s, h)""",
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] W1, float[8,8] W2, float[8,8] Wq, float[8,8] Wk, float[8,8] Wv, float[8,8] Wo",
    )
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge, s.shortcut) == (SkipKind.IDENTITY, "stem", "residual", ())
    assert {"mlp.fc1", "mlp.fc2", "attn.q", "attn.out", "parallel"} <= set(s.body)
    assert reasons(a) == [
        "Add at parallel: parallel branches from stem that each hold a nonlinearity (Gelu and MatMul of two tensors): "
        "neither is a shortcut, not a skip"
    ]


ROTARY_NS = {"h": ("stem", "ReLU"), "r": ("attn/rotary", "A/Mul"), "y": ("attn/cat", "A/Concat")}
ROTARY = """h = Relu(x)  a = Slice(h, zero, four, one)  b = Slice(h, four, eight, one)
            r = Mul(a, T)  y = Concat <axis = 1> (r, b)"""
ROTARY_WEIGHTS = "int64[1] zero = {0}, int64[1] four = {4}, int64[1] eight = {8}, int64[1] one = {1}"


def test_a_multiply_by_a_constant_table_is_not_a_learned_layer():
    # Phi's partial rotary: cat(rotate(q[..., :r]) * cos, q[..., r:]); cos is a table over (position, dim)
    a = analyse(ROTARY, inputs="float[4,8] x", outputs="float[4,8] y", ns=ROTARY_NS,
                weights=f"float[4,4] T, {ROTARY_WEIGHTS}")
    assert a.skips == []
    assert reasons(a)[-1] == (
        "Concat at cat: no learned layer between stem and the merge: an elementwise function of stem "
        "(an activation such as GELU or SiLU, a rotary embedding), not a skip"
    )


def test_a_per_channel_scale_is_a_learned_layer():
    # the same graph with a learned scale over one axis: the scaled half is a learned body
    a = analyse(ROTARY, inputs="float[4,8] x", outputs="float[4,8] y", ns=ROTARY_NS,
                weights=f"float[4] T, {ROTARY_WEIGHTS}")
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge, s.body) == (SkipKind.CONCAT, "stem", "cat", ("slice", "rotary"))


MAMBA_NS = {
    "h": ("mixer/conv", "M/Conv1d"),
    "p": ("mixer/x_proj", "M/Linear"),
    "sp": ("mixer/softplus", "M/Softplus"),
    "dt": ("mixer/dt_proj", "M/Linear"),
    "e": ("mixer/exp", "M/Exp"),
    "u": ("mixer/scan", "M/Mul"),
    "sd": ("mixer/skip_scale", "M/Mul"),
    "y": ("mixer/out", "M/Add"),
}
MAMBA = """h = Relu(x)  p = MatMul(h, Wx)  sp = Softplus(p)  dt = MatMul(sp, Wd)  e = Exp(dt)  u = Mul(e, h)
           sd = Mul(h, D)  y = Add(u, sd)"""


def test_an_elementwise_learned_scale_of_the_fork_is_a_projection_shortcut():
    # Mamba's slow_forward: scan_output + hidden_states * D
    a = analyse(MAMBA, inputs="float[4,8] x", outputs="float[4,8] y", ns=MAMBA_NS,
                weights="float[8,8] Wx, float[8,8] Wd, float[8] D")
    s = only_skip(a)
    assert (s.kind, s.fork, s.merge, s.shortcut) == (SkipKind.PROJECTION, "conv", "out", ("skip_scale",))
    assert s.body == ("x_proj", "softplus", "dt_proj", "exp", "scan")


def test_a_scale_by_a_constant_table_is_no_shortcut():
    a = analyse(MAMBA, inputs="float[4,8] x", outputs="float[4,8] y", ns=MAMBA_NS,
                weights="float[8,8] Wx, float[8,8] Wd, float[4,8] D")
    assert a.skips == []
    assert reasons(a)[-1] == (
        "Add at out: the path from conv applies Mul and holds no learned layer: conv's tensor does not "
        "arrive unchanged, not a skip"
    )


@pytest.mark.parametrize(
    ("shortcut", "expected"),
    [
        (  # two linear layers in a row: not "one conv or linear"
            "s1 = MatMul(h, Ws)  s = MatMul(s1, Wt)",
            "Add at y: the path from stem through matmul_3, matmul_4 is not a linear map (one conv, linear or learned scale, "
            "with norm, pool or reshape): no input is a shortcut, not a skip",
        ),
        (  # a linear layer and an activation: a branch, not a linear map
            "s1 = MatMul(h, Ws)  s = Tanh(s1)",
            "Add at y: parallel branches from stem that each hold a nonlinearity (Relu and Tanh): neither is a "
            "shortcut, not a skip",
        ),
    ],
    ids=["two-linears", "linear-and-activation"],
)
def test_a_shortcut_that_is_not_one_linear_map_is_not_a_projection(shortcut, expected):
    a = analyse(
        f"h = Relu(x)  b1 = MatMul(h, W1)  r = Relu(b1)  b2 = MatMul(r, W2)  b3 = MatMul(b2, W3)  {shortcut}  y = Add(b3, s)",
        inputs="float[4,8] x",
        outputs="float[4,8] y",
        ns={"h": ("stem", "ReLU"), "y": ("y", "Add")},
        weights="float[8,8] W1, float[8,8] W2, float[8,8] W3, float[8,8] Ws, float[8,8] Wt",
    )
    assert a.skips == []
    assert reasons(a) == [expected]


def _cross_layer(i: int, d: str) -> str:
    """One decoder layer: self-attention stand-in, then cross-attention on the memory ``enc``, with residuals."""
    return f"""s{i} = MatMul({d}, Ws{i})  t{i} = Add({d}, s{i})
               q{i} = MatMul(t{i}, Wq{i})  k{i} = MatMul(enc, Wk{i})  v{i} = MatMul(enc, Wv{i})
               kt{i} = Transpose <perm = [1, 0]> (k{i})  sc{i} = MatMul(q{i}, kt{i})  p{i} = Softmax(sc{i})
               c{i} = MatMul(p{i}, v{i})  o{i} = MatMul(c{i}, Wo{i})  u{i} = Add(t{i}, o{i})"""


def test_cross_attention_residuals_of_every_decoder_layer_are_skips_of_the_decoder():
    # The encoder reaches more of the graph than the decoder's input; from the second layer on, both
    # inputs of the cross-attention residual descend from both graph inputs. Which graph input the
    # merge's main path comes from is decided per merge: the decoder's.
    encoder = " ".join(f"e{i} = MatMul(h{i}, We{i})  h{i + 1} = Add(h{i}, e{i})" for i in range(3))
    ns = {"d": ("decoder.embed", "ReLU"), "h0": ("encoder.embed", "ReLU")}
    ns.update({f"t{i}": (f"decoder.layer{i}/self_residual", "L/Add") for i in range(2)})
    ns.update({f"u{i}": (f"decoder.layer{i}/cross_residual", "L/Add") for i in range(2)})
    weights = ", ".join(
        [f"float[8,8] We{i}" for i in range(3)]
        + [f"float[8,8] W{w}{i}" for i in range(2) for w in ("s", "q", "k", "v", "o")]
    )
    a = analyse(
        f"h0 = Relu(src)  {encoder}  enc = Relu(h3)  d = Relu(tgt)  {_cross_layer(0, 'd')}  {_cross_layer(1, 'u0')}"
        "  y = Identity(u1)",
        inputs="float[4,8] src, float[4,8] tgt",
        outputs="float[4,8] y",
        ns=ns,
        weights=weights,
    )
    assert all(s.kind is SkipKind.IDENTITY for s in a.skips)
    decoder = [(s.fork, s.merge) for s in a.skips if s.merge.startswith("decoder")]
    assert decoder == [
        ("decoder.embed", "decoder.layer0/self_residual"),
        ("decoder.layer0/self_residual", "decoder.layer0/cross_residual"),
        ("decoder.layer0/cross_residual", "decoder.layer1/self_residual"),
        ("decoder.layer1/self_residual", "decoder.layer1/cross_residual"),
    ]
    cross = next(s for s in a.skips if s.merge == "decoder.layer1/cross_residual")
    assert "Wk1" not in " ".join(cross.body) and len(a.skips) == 3 + 4
    assert a.rejections == []


def test_a_mask_that_reaches_more_of_the_graph_than_the_tokens_is_still_not_the_main_input():
    # DeBERTa: embeddings * mask, and every attention adds the mask to its scores; the mask
    # reaches every op the tokens reach and more, but it has no learned layer of its own
    ns = {"e": ("embed", "Embedding"), "h": ("embed/mul", "E/Mul"), "m": ("mask", "ReLU")}
    ns.update({f"o{i}": (f"l{i}/out", "L/Linear") for i in range(2)})
    ns.update({f"y{i}": (f"l{i}/residual", "L/Add") for i in range(2)})
    layers = " ".join(
        f"s{i} = MatMul({x}, Ws{i})  t{i} = Add(s{i}, m)  p{i} = Softmax(t{i})  o{i} = MatMul(p{i}, Wo{i})  y{i} = Add({x}, o{i})"
        for i, x in enumerate(("h", "y0"))
    )
    a = analyse(
        f"e = MatMul(ids, We)  mc = Relu(attention_mask)  m = Relu(mc)  h = Mul(e, m)  {layers}  y = Identity(y1)",
        inputs="float[4,8] ids, float[4,8] attention_mask",
        outputs="float[4,8] y",
        ns=ns,
        weights="float[8,8] We, float[8,8] Ws0, float[8,8] Wo0, float[8,8] Ws1, float[8,8] Wo1",
    )
    assert [(s.kind, s.fork, s.merge) for s in a.skips] == [
        (SkipKind.IDENTITY, "mul", "l0/residual"),
        (SkipKind.IDENTITY, "l0/residual", "l1/residual"),
    ]
