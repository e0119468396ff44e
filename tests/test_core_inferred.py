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
