"""The core on real Keras models (fixtures/keras_models.py), each converted once per run
(``tests/fixture_cache.py``: BatchNorm statistics randomised, the conversions that
test_convert_keras.py reads).

The keras.applications models are ``heavy`` (multi-GB conversions); MobileNetV2 is small
enough to run with the others.
"""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

pytestmark = pytest.mark.keras

#: factory -> (identity, projection, concat, gate), as in the fixture module's table
EXPECTED = {
    "seed_resnet": (11, 3, 0, 0),
    "seed_plain": (0, 0, 0, 0),
    "small_cnn": (0, 0, 0, 0),
    "mlp": (0, 0, 0, 0),
    "subclassed": (1, 0, 0, 0),
    "nested": (1, 0, 0, 0),
    "bottleneck_resnet": (1, 1, 0, 0),
    "inverted_residual": (1, 0, 0, 0),
    "densenet": (0, 0, 3, 0),
    "unet": (0, 0, 2, 0),
    "inception": (0, 0, 0, 0),
    "se_block": (0, 0, 0, 1),
    "transformer_encoder": (2, 0, 0, 0),
    "named_blocks": (4, 0, 0, 0),
    "mobilenet_v2": (10, 0, 0, 0),
    "mobilenet": (0, 0, 0, 0),
}
HEAVY = {"resnet50": (12, 4, 0, 0), "densenet121": (0, 0, 58, 0)}
KINDS = ("identity", "projection", "concat", "gate")


@pytest.fixture(scope="module")
def analysed(fixture_cache):
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            c = fixture_cache.converted("keras", name)
            cache[name] = (c.model, c.analysis())
        return cache[name]

    return get


def check(model, a, expected) -> None:
    counts = Counter(s.kind.value for s in a.skips)
    assert tuple(counts.get(k, 0) for k in KINDS) == expected, [(s.kind.value, s.fork, s.merge) for s in a.skips]
    assert a.params == model.count_params()  # BatchNorm moving statistics included, as Keras counts them
    assert a.framework == "keras"
    names = {layer.name for layer in a.layers} | {node.name for node in a.tree.values()}
    summary_names = [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]
    assert [n for n in summary_names if n not in names] == []
    layer_names = {layer.name for layer in a.layers}
    for s in a.skips:
        assert {s.merge, s.fork, *s.body, *s.shortcut} <= layer_names


@pytest.mark.parametrize("name", list(EXPECTED))
def test_skip_counts_params_and_layer_names(analysed, name):
    model, a = analysed(name)
    check(model, a, EXPECTED[name])


def test_seed_resnet_blocks_per_stage(analysed):
    _, a = analysed("seed_resnet")
    # the flat model's inferred stages (core/inferred.py) hold the runs
    assert [(b.name, b.count, b.parent) for b in a.blocks] == [
        ("ResidualBlock", 2, ("stage1",)),
        ("ResidualBlock", 4, ("stage2",)),
        ("ResidualBlock", 4, ("stage3",)),
    ]
    # each repetition: conv, relu, bn, conv, add, relu, bn (the Keras block ends with ReLU+BN)
    kinds = [a.layer(n).type for n in a.blocks[0].units[0]]
    assert kinds == ["Conv2D", "ReLU", "BatchNormalization", "Conv2D", "Add", "ReLU", "BatchNormalization"]
    projections = [s for s in a.skips if s.kind.value == "projection"]
    assert all(len(s.shortcut) == 1 and a.layer(s.shortcut[0]).type == "Conv2D" for s in projections)
    assert all(a.layer(s.merge).type == "Add" for s in a.skips)


def test_seed_plain_twin(analysed):
    _, a = analysed("seed_plain")
    assert a.skips == []
    assert [b.count for b in a.blocks] == [4, 9, 9, 3]
    assert {b.name for b in a.blocks} == {"Conv2D+ReLU+BN"}  # the class of the inferred blocks (core/inferred.py)


def test_layer_normalization_arithmetic_is_explained(analysed):
    # tf2onnx writes LayerNormalization as Sub/Mul/Add ops: every merge among them is explained
    _, a = analysed("transformer_encoder")
    assert [a.layer(s.merge).type for s in a.skips] == ["Add", "Add"]
    in_norm = [r for r in a.rejections if a.layer(r.merge).type == "LayerNormalization"]
    assert in_norm, "expected tf2onnx's LayerNormalization decomposition"
    assert all("normalization layer" in r.reason or "itself" in r.reason for r in in_norm)


@pytest.mark.heavy
@pytest.mark.parametrize("name", list(HEAVY))
def test_keras_applications(fixture_cache, name):
    c = fixture_cache.converted("keras", name)
    check(c.model, c.analysis(), HEAVY[name])


@pytest.mark.parametrize("name", ["seed_resnet", "unet", "transformer_encoder"])
def test_output_shapes_are_the_ones_keras_reports(analysed, name):
    """tf2onnx computes channels-first; the analysis shows Keras' own channels-last shapes."""
    model, a = analysed(name)
    by_name = a.layer_map
    checked = 0
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer" or layer.name not in by_name:
            continue
        assert by_name[layer.name].output_shape[1:] == tuple(layer.output.shape)[1:], layer.name
        checked += 1
    assert checked >= len(model.layers) - 2
