"""The core on real PyTorch models (fixtures/torch_models.py), each converted once per run.

Skip counts are DESIGN.md's definition *by meaning*: the decoder's cross-attention
residuals and BERT's attention residuals (whose bodies also read a second graph input)
count, see the notes in fixtures/torch_models.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

#: factory -> (identity, projection, concat, gate), as in the fixture module's table
EXPECTED = {
    "seed_resnet": (11, 3, 0, 0),
    "seed_plain": (0, 0, 0, 0),
    "small_cnn": (0, 0, 0, 0),
    "mlp": (0, 0, 0, 0),
    "convnet": (0, 0, 0, 0),
    "bottleneck_resnet": (2, 2, 0, 0),
    "inverted_residual": (3, 0, 0, 0),
    "densenet": (0, 0, 6, 0),
    "unet": (0, 0, 2, 0),
    "inception": (0, 0, 0, 0),
    "se_block": (1, 0, 0, 1),
    "transformer_encoder": (4, 0, 0, 0),
    "transformer_decoder": (6, 0, 0, 0),
    "bert_tiny": (4, 0, 0, 0),
    "gpt2_tiny": (4, 0, 0, 0),
}
KINDS = ("identity", "projection", "concat", "gate")


def _leaf_modules_that_ran(model, example) -> set[str]:
    names = {m: n for n, m in model.named_modules() if n and not any(True for _ in m.children())}
    ran: set[str] = set()
    hooks = [m.register_forward_hook(lambda mod, i, o: ran.add(names[mod])) for m in names]
    try:
        with torch.no_grad():
            if isinstance(example, dict):
                model(**example)
            elif isinstance(example, tuple):
                model(*example)
            else:
                model(example)
    finally:
        for h in hooks:
            h.remove()
    return ran


@pytest.fixture(scope="module")
def analysed(fixture_cache):
    cache: dict[str, tuple] = {}

    def get(name: str):
        if name not in cache:
            c = fixture_cache.converted("torch", name)
            ran = _leaf_modules_that_ran(c.model, c.example)
            cache[name] = (c.model, ran, c.analysis())
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(EXPECTED))
def test_skip_counts_params_and_layer_names(analysed, name):
    model, ran, a = analysed(name)
    counts = Counter(s.kind.value for s in a.skips)
    assert tuple(counts.get(k, 0) for k in KINDS) == EXPECTED[name], [(s.kind.value, s.fork, s.merge) for s in a.skips]
    assert a.params == sum(p.numel() for p in model.parameters())  # buffers (BN statistics) not counted
    assert (
        sum(layer.params for layer in a.layers) + sum(n.params for n in a.tree.values() if not n.leaf and n.path)
        >= a.params
    )
    layer_names = {layer.name for layer in a.layers}
    assert sorted(ran - layer_names) == []
    for s in a.skips:  # every skip names existing layers
        assert {s.merge, s.fork, *s.body, *s.shortcut} <= layer_names


def test_seed_resnet_skips_and_blocks(analysed):
    _, _, a = analysed("seed_resnet")
    assert [s.merge for s in a.skips if s.kind.value == "projection"] == [
        "stage2.0/add",
        "stage3.0/add",
        "stage4.0/add",
    ]
    assert [s.shortcut for s in a.skips if s.kind.value == "projection"] == [
        ("stage2.0.shortcut",),
        ("stage3.0.shortcut",),
        ("stage4.0.shortcut",),
    ]
    first = a.skips[0]
    assert (first.fork, first.merge, first.body) == (
        "bn",
        "stage1.0/add",
        ("stage1.0.conv1", "stage1.0.relu1", "stage1.0.bn1", "stage1.0.conv2"),
    )
    blocks = {b.parent: b for b in a.blocks}
    assert blocks[("stage1",)].members == ("stage1.0", "stage1.1")
    # stages 2-3: a projection block, then 4 identical ones; stage 4: the projection block and 1 more
    assert blocks[("stage2",)].members == tuple(f"stage2.{i}" for i in range(1, 5))
    assert blocks[("stage3",)].count == 4 and ("stage4",) not in blocks
    assert {b.name for b in a.blocks} == {"ResidualBlock"}


def test_seed_plain_twin_has_no_skips_and_repeats_its_layers(analysed):
    _, _, a = analysed("seed_plain")
    assert a.skips == []
    assert [(b.parent, b.count) for b in a.blocks] == [
        (("stage1",), 4),
        (("stage2",), 9),
        (("stage3",), 9),
        (("stage4",), 3),
    ]


def test_transformer_layers_are_blocks_and_depth_one_shows_the_stack(analysed):
    _, _, bert = analysed("bert_tiny")
    assert [(b.name, b.count, b.members) for b in bert.blocks] == [
        ("BertLayer", 2, ("encoder.layer.0", "encoder.layer.1"))
    ]
    top = [d["name"] for d in bert.to_dict(depth=1)["layers"] if d["kind"] == "module"]
    assert {"embeddings", "encoder", "pooler"} <= set(top)
    _, _, gpt = analysed("gpt2_tiny")
    assert [(b.name, b.count) for b in gpt.blocks] == [("GPT2Block", 2)]
    rejected = [r.reason for r in gpt.rejections]
    # GPT-2's tanh GELU multiplies its input by a function of it: explained, not a gate
    assert sum("an elementwise function of transformer.h.0.mlp.c_fc" in r for r in rejected) == 2


def test_inception_concat_is_explained(analysed):
    _, _, a = analysed("inception")
    assert any("Inception-style" in r.reason for r in a.rejections)
