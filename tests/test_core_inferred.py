"""core.inferred: a hierarchy for flat models, from layer names, skips, repeats and shapes.

On hand-built layer lists (the rules one at a time), then on real Keras models: a small
model named the keras.applications way (``fixtures/keras_models.py:named_blocks``, with
``mix_1_*`` layers that share a name but are no subgraph), the seed ResNet (automatic
names: blocks from its skips, stages from its shapes) and MobileNetV2 / MobileNet.
"""

from __future__ import annotations

import json

import pytest

from modelmap.core import Layer, LayerKind, ModuleNode, Skip, SkipKind
from modelmap.core.inferred import MIN_LAYERS, infer_modules, name_keys

K = LayerKind


def flat(spec: list[tuple[str, str, K, tuple[str, ...], tuple[int, ...]]]) -> tuple[list[Layer], dict]:
    """Layers of a flat model from ``(name, type, kind, inputs, shape)``, wired both ways, and its tree."""
    outs: dict[str, list[str]] = {}
    for name, _, _, ins, _ in spec:
        for i in ins:
            outs.setdefault(i, []).append(name)
    layers = [Layer(n, (n,), t, k, 10 if k in (K.CONV, K.LINEAR) else 0, ins, tuple(outs.get(n, ())), shape)
              for n, t, k, ins, shape in spec]  # fmt: skip
    tree = {(layer.name,): ModuleNode((layer.name,), layer.name, layer.type, (), (layer.name,), layer.params, leaf=True)
            for layer in layers}  # fmt: skip
    tree[()] = ModuleNode((), "", "", tuple((layer.name,) for layer in layers), tuple(n.name for n in layers), 0)
    return layers, tree


def chain(names: list[str], start: str = "x", shape: tuple[int, ...] = (1, 8)) -> list[tuple]:
    """Conv/BN/ReLU layers (by the name's end) each reading the one before."""
    out, prev = [], start
    for n in names:
        kind = K.CONV if n.endswith("conv") else K.NORM if n.endswith("bn") else K.ACTIVATION
        out.append((n, {K.CONV: "Conv2D", K.NORM: "BatchNormalization"}.get(kind, "ReLU"), kind, (prev,), shape))
        prev = n
    return out


def parents(layers: list[Layer]) -> dict[str, tuple[str, ...]]:
    return {layer.name: layer.path[:-1] for layer in layers}


def test_name_keys_read_keras_applications_names() -> None:
    assert name_keys("conv3_block2_0_bn") == ("conv3", "conv3_block2")  # DenseNet, ResNet
    assert name_keys("block_3_depthwise") == ("block_3",)  # MobileNetV2
    assert name_keys("block6d_se_excite") == ("block6", "block6d")  # EfficientNet
    assert name_keys("conv_pw_13_relu") == ("conv_pw_13",)  # MobileNet
    assert name_keys("mixed5") == ("mixed5",)  # InceptionV3
    assert name_keys("batch_normalization_7", "BatchNormalization") == ()  # Keras' own counter


def test_layers_sharing_a_name_prefix_become_stages_and_blocks() -> None:
    x = [("x", "Input", K.INPUT, (), (1, 8))]
    stem = chain(["conv1_conv", "conv1_bn", "conv1_relu"])
    b1 = chain(["s2_block1_1_conv", "s2_block1_1_bn", "s2_block1_1_relu"], "conv1_relu")
    b2 = chain(["s2_block2_1_conv", "s2_block2_1_bn", "s2_block2_1_relu"], "s2_block1_1_relu")
    b3 = chain(["s2_block3_1_conv", "s2_block3_1_bn", "s2_block3_1_relu"], "s2_block2_1_relu")
    head = [("predictions", "Dense", K.LINEAR, ("s2_block3_1_relu",), (1, 2)), ("out", "Output", K.OUTPUT, ("predictions",), (1, 2))]
    layers, tree = flat(x + stem + b1 + b2 + b3 + head)
    assert len(layers) >= MIN_LAYERS
    new, t = infer_modules(layers, tree, [], [])
    p = parents(new)
    assert p["conv1_bn"] == ("conv1",) and t[("conv1",)].cls == "Stem"  # the stem: one block alone before the stages
    assert p["s2_block2_1_bn"] == ("s2", "s2_block2")
    assert t[("s2",)].inferred == "names" and t[("s2",)].cls == "3 \u00d7 Block"
    assert t[("s2",)].children == (("s2", "s2_block1"), ("s2", "s2_block2"), ("s2", "s2_block3"))
    assert t[("s2",)].layers == tuple(n for n, *_ in b1 + b2 + b3)
    assert p["predictions"] == () and p["x"] == () and p["out"] == ()  # a head of one layer; inputs and outputs stay
    assert [layer.name for layer in new] == [layer.name for layer in layers]  # same layers, same order


def test_names_sharing_a_prefix_that_are_no_subgraph_stay_apart() -> None:
    """``mix_1_relu`` is read after the ``mix_1`` layers too: two layers of the group would
    feed the rest of the model, so it is no block; the ``blk_1`` layers after it are one."""
    x = [("x", "Input", K.INPUT, (), (1, 8))]
    mix = chain(["mix_1_conv", "mix_1_relu", "mix_1_bn"])
    cat = [("cat", "Concatenate", K.MERGE, ("mix_1_relu", "mix_1_bn"), (1, 16))]
    blk = chain([f"blk_1_{i}_{s}" for i in range(3) for s in ("conv", "bn", "relu")], "cat")
    out = [("out", "Output", K.OUTPUT, (blk[-1][0],), (1, 8))]
    layers, tree = flat(x + mix + cat + blk + out)
    new, t = infer_modules(layers, tree, [], [])
    p = parents(new)
    assert p["mix_1_conv"] == p["mix_1_relu"] == p["mix_1_bn"] == p["cat"] == ("stem",)  # before the stage: its stem
    assert not any(m.name == "mix_1" for m in t.values())
    assert p["blk_1_0_conv"] == ("blk_1", "blk_1_0") and t[("blk_1",)].inferred == "names"
    # a name that reads its own: two entries (x and another input) is no subgraph either
    two = x + [("y", "Input", K.INPUT, (), (1, 8))] + chain(["a_1_conv", "a_1_bn"]) + [
        ("a_1_add", "Add", K.MERGE, ("a_1_bn", "y"), (1, 8))] + chain([f"c{i}_relu" for i in range(12)], "a_1_add")
    layers, tree = flat(two)
    assert all(len(layer.path) == 1 for layer in infer_modules(layers, tree, [], [])[0])


def test_a_layout_op_between_two_layers_of_a_named_stage_stays_in_it() -> None:
    """tf2onnx may leave a Transpose of no layer between two blocks (EfficientNetB0's
    ``reshape`` between ``block6a`` and ``block6b``): the stage is still one, of four blocks."""
    x = [("x", "Input", K.INPUT, (), (1, 8))]
    blocks = [chain([f"s6_block{b}_1_conv", f"s6_block{b}_1_bn", f"s6_block{b}_1_relu"], f"s6_block{b - 1}_1_relu") for b in (1, 2, 3, 4)]
    blocks[0][0] = ("s6_block1_1_conv", "Conv2D", K.CONV, ("x",), (1, 8))
    glue = ("reshape", "Reshape", K.RESHAPE, ("s6_block1_1_relu",), (1, 8))
    blocks[1][0] = ("s6_block2_1_conv", "Conv2D", K.CONV, ("reshape",), (1, 8))
    head = [("predictions", "Dense", K.LINEAR, ("s6_block4_1_relu",), (1, 2)), ("out", "Output", K.OUTPUT, ("predictions",), (1, 2))]
    layers, tree = flat(x + blocks[0] + [glue] + blocks[1] + blocks[2] + blocks[3] + head)
    new, t = infer_modules(layers, tree, [], [])
    assert parents(new)["reshape"] == ("s6",) and t[("s6",)].cls == "4 \u00d7 Block"
    assert [c[-1] for c in t[("s6",)].children if not t[c].leaf] == [f"s6_block{b}" for b in (1, 2, 3, 4)]


def test_automatic_names_get_blocks_from_skips_and_stages_from_shapes() -> None:
    """Keras' own names (``conv2d_3``) say nothing: a residual block spans fork to merge and
    the ReLU/BN after it; a block that changes the shape starts a stage."""
    spec = [("input", "Input", K.INPUT, (), (1, 8)), ("conv2d", "Conv2D", K.CONV, ("input",), (1, 8))]
    skips = []
    prev, k = "conv2d", 0
    for shape in [(1, 8), (1, 8), (1, 16), (1, 16), (1, 16)]:
        names = [f"conv2d_{k + 1}", f"re_lu_{k + 1}", f"conv2d_{k + 2}", f"add_{k}", f"re_lu_{k + 2}"]
        spec += [(names[0], "Conv2D", K.CONV, (prev,), shape), (names[1], "ReLU", K.ACTIVATION, (names[0],), shape),
                 (names[2], "Conv2D", K.CONV, (names[1],), shape), (names[3], "Add", K.MERGE, (prev, names[2]), shape),
                 (names[4], "ReLU", K.ACTIVATION, (names[3],), shape)]  # fmt: skip
        kind = SkipKind.IDENTITY if spec[-6][4] == shape else SkipKind.PROJECTION
        skips.append(Skip(kind, names[3], prev, (names[0], names[1], names[2])))
        prev, k = names[4], k + 3
    spec += [("dense", "Dense", K.LINEAR, (prev,), (1, 2)), ("flatten", "Flatten", K.RESHAPE, ("dense",), (1, 2))]
    layers, tree = flat(spec)
    new, t = infer_modules(layers, tree, skips, [])
    stages = [c for c in t[()].children if not t[c].leaf and t[c].inferred == "shapes"]
    assert [[t[b].layers[0] for b in t[s].children] for s in stages] == [["conv2d_1", "conv2d_4"],
                                                                        ["conv2d_7", "conv2d_10", "conv2d_13"]]
    assert [t[s].cls for s in stages] == ["2 \u00d7 ResidualBlock", "3 \u00d7 ResidualBlock"]
    assert t[stages[0] + ("block1",)].layers == ("conv2d_1", "re_lu_1", "conv2d_2", "add_0", "re_lu_2")
    assert t[("head",)].layers == ("dense", "flatten") and t[("head",)].inferred == "position"


def test_a_model_with_modules_or_few_layers_is_left_as_it_is() -> None:
    layers, tree = flat([("x", "Input", K.INPUT, (), (1, 8)), *chain([f"b_{i}_conv" for i in range(4)])])
    assert infer_modules(layers, tree, [], []) == (layers, tree)


# ----------------------------------------------------------------------------- real Keras models

keras_models = pytest.mark.keras


@pytest.fixture(scope="module")
def analysed(fixture_cache):
    pytest.importorskip("keras")
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = fixture_cache.analysis("keras", name)
        return cache[name]

    return get


@keras_models
def test_a_keras_model_named_like_the_applications(analysed) -> None:
    a = analysed("named_blocks")
    p = {layer.name: layer.path[:-1] for layer in a.layers}
    assert p["conv1_bn"] == ("conv1",) and a.tree[("conv1",)].cls == "Stem"
    assert p["conv2_block2_add"] == ("conv2", "conv2_block2") and p["conv3_block1_1_conv"] == ("conv3", "conv3_block1")
    assert a.tree[("conv2",)].cls == "2 \u00d7 ResidualBlock" and a.tree[("conv2", "conv2_block1")].inferred == "names"
    assert p["mix_1_conv"] == p["mix_1_relu"] == p["mix_1_pool"] == p["mix_concat"] == ()  # no subgraph: not grouped
    assert p["avg_pool"] == p["predictions"] == ("head",)
    assert [(b.name, b.count, b.parent) for b in a.blocks] == [("ResidualBlock", 2, ("conv2",)), ("ResidualBlock", 2, ("conv3",))]
    d = json.loads(json.dumps(a.to_dict()))
    assert {"path": ["conv2", "conv2_block1"], "class": "ResidualBlock", "source": "names"} in d["inferred_modules"]
    assert {"path": ["head"], "class": "Head", "source": "position"} in d["inferred_modules"]
    assert next(x for x in d["layers"] if x["name"] == "conv2_block1_out")["path"] == ["conv2", "conv2_block1", "conv2_block1_out"]
    # every view collapses them: at depth 1 the model is stem, stages, loose layers, head
    assert [u.name for u in a.collapse(1)] == ["input_layer", "conv1", "conv2", "mix_1_conv", "mix_1_relu", "mix_1_pool",
                                              "mix_concat", "conv3", "head", "output"]


@keras_models
def test_the_seed_resnet_gets_its_stages_from_skips_and_shapes(analysed) -> None:
    """Keras names it ``conv2d_17``...: its blocks come from the skips, its stages [2, 5, 5, 2]
    (the seed's design) from the shapes: each of stages 2-4 starts with the projection block.
    The plain twin has no skip: its blocks are the repeats, its stages [4, 10, 10, 4]."""
    plain = analysed("seed_plain")
    stages = [c for c in plain.tree[()].children if plain.tree[c].inferred == "shapes"]
    assert [len(plain.tree[s].children) for s in stages] == [4, 10, 10, 4]
    assert {plain.tree[b].inferred for s in stages for b in plain.tree[s].children} == {"blocks"}
    a = analysed("seed_resnet")
    stages = [c for c in a.tree[()].children if a.tree[c].inferred == "shapes"]
    assert [len(a.tree[s].children) for s in stages] == [2, 5, 5, 2]
    firsts = [a.tree[a.tree[s].children[0]].layers for s in stages[1:]]
    projections = {s.merge for s in a.skips if s.kind is SkipKind.PROJECTION}
    assert all(projections & set(layers) for layers in firsts)
    assert [a.tree[c].cls for c in a.tree[()].children if not a.tree[c].leaf] == [
        "Stem", "2 \u00d7 ResidualBlock", "5 \u00d7 ResidualBlock", "5 \u00d7 ResidualBlock", "2 \u00d7 ResidualBlock", "Head"]


@keras_models
@pytest.mark.parametrize(("name", "blocks"), [("mobilenet_v2", [1, 2, 3, 4, 3, 3, 1]), ("mobilenet", [1, 2, 2, 6, 2])])
def test_keras_applications_get_the_stages_of_their_papers(analysed, name: str, blocks: list[int]) -> None:
    """MobileNetV2's table of bottlenecks (n = 1, 2, 3, 4, 3, 3, 1); MobileNet's depthwise
    separable blocks grouped where the resolution or width changes."""
    a = analysed(name)
    stages = [c for c in a.tree[()].children if a.tree[c].inferred == "shapes"]
    assert [len(a.tree[s].children) for s in stages] == blocks
    assert all(a.tree[b].inferred == "names" for s in stages for b in a.tree[s].children)
    folded = {b.parent: b.count for b in a.blocks}
    assert max(folded.values()) == max(blocks) - 1  # the repeats after a stage's first block fold


# ----------------------------------------------------------------------------- concatenations, exits, twins


def _cat(name: str, fork: str, branch: str, shape: tuple[int, ...]) -> tuple:
    return (name, "Concatenate", K.MERGE, (fork, branch), shape)


def test_a_dense_block_of_growing_concatenations_and_its_transition() -> None:
    """DenseNet: each dense layer concatenates its output onto its input, the next reads the
    concatenation; after the block, a 1x1 conv and a pooling that halves the resolution.
    Keras' own names (``conv2d_1``): nothing to read in them."""
    spec = [("x", "Input", K.INPUT, (), (1, 8, 8, 3)), ("conv2d", "Conv2D", K.CONV, ("x",), (1, 8, 8, 16))]
    skips, prev = [], "conv2d"
    for i in (1, 2, 3):
        c = 8 + 8 * i
        spec += [(f"batch_normalization_{i}", "BatchNormalization", K.NORM, (prev,), (1, 8, 8, c)),
                 (f"re_lu_{i}", "ReLU", K.ACTIVATION, (f"batch_normalization_{i}",), (1, 8, 8, c)),
                 (f"conv2d_{i}", "Conv2D", K.CONV, (f"re_lu_{i}",), (1, 8, 8, 8)),
                 _cat(f"concatenate_{i}", prev, f"conv2d_{i}", (1, 8, 8, c + 8))]  # fmt: skip
        skips.append(Skip(SkipKind.CONCAT, f"concatenate_{i}", prev, (f"batch_normalization_{i}", f"re_lu_{i}", f"conv2d_{i}")))
        prev = f"concatenate_{i}"
    spec += [("conv2d_4", "Conv2D", K.CONV, (prev,), (1, 8, 8, 16)), ("average_pooling2d", "AveragePooling2D", K.POOL, ("conv2d_4",), (1, 4, 4, 16)),
             ("global_average_pooling2d", "GlobalAveragePooling2D", K.POOL, ("average_pooling2d",), (1, 16)),
             ("dense", "Dense", K.LINEAR, ("global_average_pooling2d",), (1, 10)), ("out", "Output", K.OUTPUT, ("dense",), (1, 10))]  # fmt: skip
    layers, tree = flat(spec)
    new, t = infer_modules(layers, tree, skips, [])
    p = parents(new)
    assert t[("dense1",)].cls == "DenseBlock" and t[("dense1",)].inferred == "concats"
    assert t[("dense1",)].layers == tuple(n for i in (1, 2, 3) for n in (f"batch_normalization_{i}", f"re_lu_{i}", f"conv2d_{i}",
                                                                          f"concatenate_{i}"))  # fork (conv2d) exclusive
    assert all(t[c].leaf for c in t[("dense1",)].children)  # one module of layers: no cluster per dense layer
    assert t[("transition1",)].layers == ("conv2d_4", "average_pooling2d") and t[("transition1",)].cls == "Transition"
    assert p["conv2d"] == () and p["global_average_pooling2d"] == p["dense"] == ("head",)  # the transition is no part of the head


def _unet_spec() -> tuple[list[tuple], list[Skip]]:
    """A two-level U-Net in channels-first shapes (1, C, H, W): the concatenation axis is read
    from the skips, not assumed."""
    def conv(name: str, src: str, c: int, hw: int, t: str = "Conv2d") -> tuple:
        return (name, t, K.CONV, (src,), (1, c, hw, hw))

    spec = [("x", "Input", K.INPUT, (), (1, 3, 32, 32)), conv("c1", "x", 8, 32), conv("c2", "c1", 8, 32),
            ("p1", "MaxPool2d", K.POOL, ("c2",), (1, 8, 16, 16)), conv("c3", "p1", 16, 16), conv("c4", "c3", 16, 16),
            ("p2", "MaxPool2d", K.POOL, ("c4",), (1, 16, 8, 8)), conv("c5", "p2", 32, 8), conv("c6", "c5", 32, 8),
            conv("u2", "c6", 16, 16, "ConvTranspose2d"), _cat("cat2", "c4", "u2", (1, 32, 16, 16)), conv("c7", "cat2", 16, 16),
            conv("c8", "c7", 16, 16), conv("u1", "c8", 8, 32, "ConvTranspose2d"), _cat("cat1", "c2", "u1", (1, 16, 32, 32)),
            conv("c9", "cat1", 8, 32), conv("c10", "c9", 8, 32), conv("c11", "c10", 2, 32), ("out", "Output", K.OUTPUT, ("c11",), (1, 2, 32, 32))]  # fmt: skip
    skips = [Skip(SkipKind.CONCAT, "cat2", "c4", ("p2", "c5", "c6", "u2")),
             Skip(SkipKind.CONCAT, "cat1", "c2", ("p1", "c3", "c4", "p2", "c5", "c6", "u2", "cat2", "c7", "c8", "u1"))]  # fmt: skip
    return spec, skips


def test_a_unet_is_cut_into_levels_at_each_change_of_resolution() -> None:
    """A new level at each pooling and up-convolution; the lowest is the bottleneck; a decoder
    level is named after the encoder level whose skip it concatenates (two ways in: sound)."""
    spec, skips = _unet_spec()
    layers, tree = flat(spec)
    new, t = infer_modules(layers, tree, skips, [])
    levels = [(c[0], t[c].cls, t[c].layers) for c in t[()].children if not t[c].leaf]
    assert levels == [("down1", "EncoderLevel", ("c1", "c2")), ("down2", "EncoderLevel", ("p1", "c3", "c4")),
                      ("bottleneck", "Bottleneck", ("p2", "c5", "c6")), ("up2", "DecoderLevel", ("u2", "cat2", "c7", "c8")),
                      ("up1", "DecoderLevel", ("u1", "cat1", "c9", "c10", "c11"))]  # fmt: skip
    assert {t[c].inferred for c in t[()].children if not t[c].leaf} == {"concats"}
    # a second way in that is no skip of the level's resolution is not allowed: c5 also read by c7
    spec = [(n, ty, k, ins + ("c5",) if n == "c7" else ins, s) for n, ty, k, ins, s in spec]
    layers, tree = flat(spec)
    p = parents(infer_modules(layers, tree, skips, [])[0])
    assert p["c7"] == () and p["c3"] == ("down2",)  # up2 is no contiguous subgraph now; the others stay


def test_numbered_merges_end_blocks_even_when_listed_before_their_branches() -> None:
    """InceptionV3 names the Concatenate ending each block ``mixed0`` ... ``mixed10``; a block is
    everything after the one before. tf2onnx may list a merge before the branches it merges
    (a Transpose of it moved up): the layers are taken in dependency order."""
    spec = [("x", "Input", K.INPUT, (), (1, 8, 8, 3)), ("conv2d", "Conv2D", K.CONV, ("x",), (1, 8, 8, 16)),
            ("batch_normalization", "BatchNormalization", K.NORM, ("conv2d",), (1, 8, 8, 16)),
            ("re_lu", "ReLU", K.ACTIVATION, ("batch_normalization",), (1, 8, 8, 16))]  # fmt: skip
    prev, blocks = "re_lu", {}
    for k in range(3):
        a, b, b2 = (f"conv2d_{3 * k + i}" for i in (1, 2, 3))
        branches = [(a, "Conv2D", K.CONV, (prev,), (1, 8, 8, 8)), (b, "Conv2D", K.CONV, (prev,), (1, 8, 8, 4)),
                    (b2, "Conv2D", K.CONV, (b,), (1, 8, 8, 8))]  # fmt: skip
        merge = (f"mixed{k}", "Concatenate", K.MERGE, (a, b2), (1, 8, 8, 16))
        spec += [merge, *branches] if k == 2 else [*branches, merge]  # mixed2 is listed first
        prev, blocks[f"mixed{k}"] = f"mixed{k}", {a, b, b2, f"mixed{k}"}
    spec += [("global_average_pooling2d", "GlobalAveragePooling2D", K.POOL, ("mixed2",), (1, 16)),
             ("dense", "Dense", K.LINEAR, ("global_average_pooling2d",), (1, 10)), ("out", "Output", K.OUTPUT, ("dense",), (1, 10))]  # fmt: skip
    layers, tree = flat(spec)
    new, t = infer_modules(layers, tree, [], [])
    found = {p[-1]: set(t[p].layers) for p in t if p and p[-1].startswith("mixed") and not t[p].leaf}
    assert found == blocks
    assert all(t[p].inferred == "names" for p in t if p and p[-1].startswith("mixed") and not t[p].leaf)
    assert parents(new)["batch_normalization"] == ("stem",) and [layer.name for layer in new] == [layer.name for layer in layers]


@keras_models
def test_keras_dense_unet_and_inverted_residual_fixtures_get_their_structure(analysed) -> None:
    a = analysed("densenet")
    assert [(c[-1], a.tree[c].cls) for c in a.tree[()].children if not a.tree[c].leaf] == [
        ("dense1", "DenseBlock"), ("transition1", "Transition"), ("head", "Head")]
    a = analysed("unet")
    assert [c[-1] for c in a.tree[()].children if not a.tree[c].leaf] == ["down1", "down2", "bottleneck", "up2", "up1"]
    # a level's box reads in its layers' layout (NHWC), not that of the tensor tf2onnx passes on (NCHW)
    assert [u.output_shape for u in a.collapse(1) if u.name in ("down1", "up1")] == [(1, 32, 32, 8), (1, 32, 32, 2)]
    a = analysed("inverted_residual")  # widening (no skip), identity skip, stride 2 (no skip)
    stages = [c for c in a.tree[()].children if a.tree[c].inferred == "shapes"]
    assert [[a.tree[b].cls for b in a.tree[s].children] for s in stages] == [["InvertedResidual"] * 2, ["InvertedResidual"]]
    assert [a.tree[c].cls for c in a.tree[()].children if not a.tree[c].leaf] == [
        "Stem", "2 \u00d7 InvertedResidual", "InvertedResidual", "Head"]


@keras_models
def test_inception_v3_blocks_end_at_its_mixed_layers(analysed) -> None:
    a = analysed("inception_v3")
    blocks = [p[-1] for p in a.tree if p and p[-1].startswith("mixed") and not a.tree[p].leaf]
    assert blocks == [f"mixed{k}" for k in range(11)]
    stages = [c for c in a.tree[()].children if a.tree[c].inferred == "shapes"]
    assert [len(a.tree[s].children) for s in stages] == [1, 2, 5, 1, 2]  # a new stage where the shape changes
    assert [a.tree[s].cls for s in stages] == ["InceptionBlock", "2 \u00d7 InceptionBlock", "5 \u00d7 InceptionBlock",
                                              "InceptionBlock", "2 \u00d7 InceptionBlock"]  # fmt: skip
    mixed5 = a.tree[next(p for p in a.tree if p[-1:] == ("mixed5",) and not a.tree[p].leaf)]
    assert mixed5.layers[-1] == "mixed5" and len(mixed5.layers) == 32  # 10 convs with BN and activation, a pooling, the merge
