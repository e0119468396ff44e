"""Figures a reader understands (issue 9): on the seed models and GPT-2, T5, BART, Falcon.

Every figure, in both styles: no box without an edge (DOT and Mermaid as written), no two
boxes with one label in a cluster, and in the paper style no box for exporter plumbing
(:mod:`tests.figure_checks`). Then what a reader looks for, measured on the SVG that
Graphviz renders: the input above the output, the encoder above its decoder, skip arrows
no longer than the folded block they belong to; and where the op-less layers, the tied
embedding and the rotary table are drawn.
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from modelmap.exporters import DrawOptions
from modelmap.exporters._fit import fit_drawing
from modelmap.exporters._view import build_view, node_label
from modelmap.exporters.dot import generate_dot
from modelmap.exporters.render import run_dot

from .conftest import skip_or_fail_without
from .figure_checks import duplicate_labels, floating_boxes, plumbing_boxes

STYLES = ("detailed", "paper")
TORCH_SEEDS = ("seed_resnet", "seed_plain", "small_cnn", "mlp", "convnet")
KERAS_SEEDS = ("seed_resnet", "mlp", "small_cnn")
ZOO = ("gpt2", "t5", "bart", "falcon")


def _graphviz() -> None:
    from modelmap.exporters.render import dot_program

    try:
        dot_program()
    except Exception:  # noqa: BLE001 - any reason Graphviz is missing
        skip_or_fail_without(False, "Graphviz `dot` is not installed")


def assert_clean(analysis: Any, style: str, **kw: Any) -> None:
    options = DrawOptions(style=style, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Mermaid's size notes
        assert floating_boxes(analysis, options) == []
        assert duplicate_labels(analysis, options) == []
        if style == "paper":
            assert plumbing_boxes(analysis, options) == []


@pytest.fixture(scope="module")
def zoo() -> Any:
    """``zoo(name)``: a transformers zoo model converted and analysed once per module."""
    pytest.importorskip("transformers")
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from fixtures import transformers_zoo

    from modelmap.converters import ConvertOptions, convert
    from modelmap.core import analyze_onnx

    made: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in made:
            model, example = transformers_zoo.FACTORIES[name]()
            made[name] = analyze_onnx(convert(model, example, ConvertOptions()))
        return made[name]

    return get


# ------------------------------------------------------------------------------ the checks


@pytest.mark.torch
@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("name", TORCH_SEEDS)
def test_torch_seed_figures_are_clean(fixture_cache: Any, name: str, style: str) -> None:
    assert_clean(fixture_cache.analysis("torch", name), style)


@pytest.mark.keras
@pytest.mark.parametrize("name", KERAS_SEEDS)
def test_keras_seed_figures_are_clean(fixture_cache: Any, name: str) -> None:
    a = fixture_cache.analysis("keras", name)
    for style in STYLES:
        assert_clean(a, style)


@pytest.mark.torch
@pytest.mark.parametrize("name", ZOO)
def test_transformer_figures_are_clean(zoo: Any, name: str) -> None:
    for style in STYLES:
        assert_clean(zoo(name), style)
    assert_clean(zoo(name), "paper", depth=2)


@pytest.mark.torch
def test_checks_find_what_they_look_for(fixture_cache: Any, zoo: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each check fails on a figure with its fault: plumbing kept, names left out, a box cut loose."""
    from modelmap.exporters import _paper

    a = fixture_cache.analysis("torch", "seed_resnet")
    paper = DrawOptions(style="paper")
    assert 'label="conv1\\nConv2d 3×3, 64' in generate_dot(a, paper)  # the name keeps conv1, conv2 apart
    monkeypatch.setattr(_paper, "plumbing", lambda *args: [])
    assert plumbing_boxes(a, paper) == ["flatten"]
    monkeypatch.setattr(_paper, "name_roles", lambda *args: None)
    assert ("× 2  ResidualBlock", "BatchNorm2d\\n1×64×32×32\\n128 params") in duplicate_labels(a, paper)
    monkeypatch.setattr(_paper, "place_opless", lambda *args: None)
    loose = floating_boxes(zoo("bart"), DrawOptions())
    assert [f.split(":")[0] for f in loose] == ["dot", "mermaid"] and loose[0].startswith("dot: shared\\n")


# ------------------------------------------------------------------------------ what is drawn


def _labels(analysis: Any, **kw: Any) -> dict[str, str]:
    view = build_view(analysis, DrawOptions(**kw))

    options = DrawOptions(**kw)
    return {n.key: node_label(n, options, options.style != "paper") for n in view.nodes}


def _arrows(analysis: Any, **kw: Any) -> set[tuple[str, str, str]]:
    view = build_view(analysis, DrawOptions(**kw))
    key = {n.id: n.key for n in view.nodes}
    return {(key[e.src], key[e.dst], e.label) for e in view.edges}


@pytest.mark.torch
def test_gpt2_paper_boxes_carry_names_and_no_plumbing(zoo: Any) -> None:
    labels = _labels(zoo("gpt2"), style="paper")
    text = "\n".join(labels.values())
    for name in ("c_attn", "c_proj", "c_fc", "ln_1", "ln_2", "wte", "wpe"):
        assert name in text
    for plumbing in ("Reshape", "Transpose", "IsNaN", "is_na_n", "Where", "Dropout", "Split"):
        assert plumbing not in text
    assert labels["wte"].splitlines()[:2] == ["wte", "Embedding 32"]


@pytest.mark.torch
def test_opless_layers_sit_where_they_were_called(zoo: Any) -> None:
    arrows = _arrows(zoo("gpt2"))
    # GPT-2: hidden = drop(wte + wpe); each sub-block: residual + dropout(c_proj(...))
    assert {("add", "drop", ""), ("drop", "h.0.ln_1", "")} <= arrows
    assert ("add", "h.0.ln_1", "") not in arrows
    assert {("h.0.attn.c_proj", "h.0.attn.resid_dropout", ""), ("h.0.attn.resid_dropout", "h.0/add", "")} <= arrows
    assert ("h.0.attn.c_proj", "h.0/add", "") not in arrows


@pytest.mark.torch
def test_tied_embedding_and_rotary_table_point_at_their_users(zoo: Any) -> None:
    bart = _arrows(zoo("bart"))
    assert {("shared", "encoder.embed_tokens", "tied"), ("shared", "decoder.embed_tokens", "tied")} <= bart
    falcon = _arrows(zoo("falcon"))
    rotary = [(u, v) for u, v, label in falcon if u == "rotary_emb" and label == "positions"]
    assert rotary and all(v.startswith("h.0.self_attention") for _, v in rotary)


# ------------------------------------------------------------------------------ order on the page

_NUM = r"-?\d+(?:\.\d+)?"


def _svg(analysis: Any, **kw: Any) -> str:
    _graphviz()
    return run_dot(generate_dot(analysis, DrawOptions(**kw)), "svg").decode()


def _groups(svg: str, cls: str) -> dict[str, list[tuple[float, float]]]:
    """title -> the points of each ``<g class=cls>`` (polygon, path or text positions)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for m in re.finditer(rf'<g id="[^"]*" class="{cls}">\s*<title>([^<]*)</title>(.*?)</g>', svg, re.S):
        title = m.group(1).replace("&#45;&gt;", "->").replace("&gt;", ">")
        nums = [float(x) for x in re.findall(_NUM, " ".join(re.findall(r'\s(?:points|d)="([^"]*)"', m.group(2))))]
        points = list(zip(nums[::2], nums[1::2], strict=False))
        points += [(float(x), float(y)) for x, y in re.findall(rf'cx="({_NUM})" cy="({_NUM})"', m.group(2))]
        out[title] = points
    return out


def _box(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)  # SVG: y grows downwards


def _centre_y(nodes: dict[str, list[tuple[float, float]]], node_id: str) -> float:
    x0, y0, x1, y1 = _box(nodes[node_id])
    return (y0 + y1) / 2


@pytest.mark.torch
@pytest.mark.parametrize("name", ("gpt2", "t5"))
def test_inputs_are_drawn_above_outputs(zoo: Any, name: str) -> None:
    a = zoo(name)
    for style in STYLES:
        view = build_view(a, DrawOptions(style=style))
        nodes = _groups(_svg(a, style=style), "node")
        first_in = min(_centre_y(nodes, n.id) for n in view.nodes if n.kind == "input")
        for n in view.nodes:
            assert _centre_y(nodes, n.id) >= first_in - 1, n.key
        outputs = [_centre_y(nodes, n.id) for n in view.nodes if n.kind == "output"]
        assert min(outputs) > first_in


@pytest.mark.torch
@pytest.mark.parametrize("name", ("t5", "bart"))
def test_the_encoder_is_drawn_before_its_decoder(zoo: Any, name: str) -> None:
    a = zoo(name)
    for style in STYLES:
        view = build_view(a, DrawOptions(style=style))
        ids = {c.key: c.id for c in view.clusters()}
        clusters = _groups(_svg(a, style=style), "cluster")
        enc = _box(clusters[f"cluster_{ids[('encoder',)]}"])
        dec = _box(clusters[f"cluster_{ids[('decoder',)]}"])
        assert enc[3] <= dec[1] or enc[2] <= dec[0], (enc, dec)  # above, or to the left


@pytest.mark.torch
def test_skip_arrows_stay_as_short_as_their_folded_block(fixture_cache: Any) -> None:
    a = fixture_cache.analysis("torch", "seed_resnet")
    for style in STYLES:
        view = build_view(a, DrawOptions(style=style))
        svg = _svg(a, style=style)
        edges, clusters = _groups(svg, "edge"), _groups(svg, "cluster")
        holder = {nid: c for c in view.clusters() for nid in c.nodes}
        skips = [e for e in view.edges if e.kind.is_skip]
        assert len(skips) >= 5
        for e in skips:
            block = holder[e.dst]
            _, y0, _, y1 = _box(edges[f"{e.src}->{e.dst}"])
            _, c0, _, c1 = _box(clusters[f"cluster_{block.id}"])
            assert y1 - y0 <= (c1 - c0) + 30, (style, view.node(e.src).key, view.node(e.dst).key)


# ------------------------------------------------------------------------------ what a paper box says


@pytest.mark.torch
def test_container_boxes_are_named_by_role_and_position_names_left_out(fixture_cache: Any) -> None:
    """A Sequential box reads ``stage1``, not ``stage1 / Sequential``; a folded block reads
    ``ResidualBlock × 4``, not ``stage2.1 / ResidualBlock / × 4`` (its name is one repetition's)."""
    a = fixture_cache.analysis("torch", "seed_resnet")
    depth1 = _labels(a, style="paper", depth=1, fold=False, fit="none")
    assert depth1["stage2"].splitlines()[:2] == ["stage2", "1×128×16×16"]
    assert "Sequential" not in "\n".join(depth1.values())
    assert "Sequential" in _labels(a, depth=1, fit="none")["stage2"]  # the detailed style keeps the class
    folded = _labels(a, style="paper", depth=2, fold=True, fit="none")
    assert folded["stage2.1"].splitlines() == ["ResidualBlock × 4", "1×128×16×16", "296K params", "+ identity shortcut"]
    assert folded["stage2.0"].splitlines()[0] == "ResidualBlock"
    assert not any(label.startswith("stage") for label in folded.values())


@pytest.mark.torch
def test_look_alike_modules_are_told_apart_by_the_end_of_their_names(fixture_cache: Any) -> None:
    """Swin's two SwinLayers of a stage read the same; they are ``blocks.0`` and ``blocks.1``,
    not ``encoder.layers.0.blocks.0``: the shortest end of the name that tells them apart."""
    from modelmap.exporters._fit import fit_drawing

    a = fixture_cache.analysis("zoo", "swin")
    drawn = fit_drawing(a, DrawOptions(style="paper"), titles=False).options  # the figure drawn by default
    labels = _labels(a, style="paper", depth=drawn.depth, fold=drawn.fold, fit="none")
    roles = sorted(label.splitlines()[0] for label in labels.values() if "SwinLayer" in label)
    assert roles == ["blocks.0", "blocks.0", "blocks.1", "blocks.1"], roles


@pytest.mark.keras
def test_names_a_framework_numbered_from_the_class_are_not_roles(fixture_cache: Any) -> None:
    """Keras names layers ``conv2d_2``, ``batch_normalization_1``: the DenseNet fixture's dense
    block has three of each, and its boxes read by type, not by those numbers."""
    from modelmap.exporters._fit import fit_drawing

    a = fixture_cache.analysis("keras", "densenet")
    drawn = fit_drawing(a, DrawOptions(style="paper"), titles=False).options
    labels = _labels(a, style="paper", depth=drawn.depth, fold=drawn.fold, fit="none")
    roles = [label.splitlines()[0] for label in labels.values()]
    assert not [r for r in roles if re.fullmatch(r"(conv2d|batch_normalization|concatenate)(_\d+)?", r)], roles
    assert sum(r.startswith("Conv2D 3×3, 8") for r in roles) == 3, roles


@pytest.mark.keras
def test_inferred_module_names_are_not_roles(fixture_cache: Any) -> None:
    """The Keras seed ResNet's blocks are modules modelmap inferred (``block3``); its figure
    reads "ResidualBlock" and "ResidualBlock × 4" as the PyTorch seed's does, not ``block3``."""
    from modelmap.exporters._fit import fit_drawing

    a = fixture_cache.analysis("keras", "seed_resnet")
    drawn = fit_drawing(a, DrawOptions(style="paper"), titles=False).options
    assert drawn.depth == 2 and drawn.fold  # stages as clusters, blocks folded: the PyTorch seed's figure
    labels = _labels(a, style="paper", depth=drawn.depth, fold=drawn.fold, fit="none")
    firsts = [label.splitlines()[0] for label in labels.values()]
    assert not [f for f in firsts if re.fullmatch(r"block\d+", f)], firsts
    assert firsts.count("ResidualBlock × 4") == 2, firsts


@pytest.mark.torch
def test_an_activation_is_written_into_the_layer_it_follows(fixture_cache: Any) -> None:
    a = fixture_cache.analysis("torch", "seed_resnet")
    every = dict(depth=None, fold=True, fit="none")
    labels, arrows = _labels(a, style="paper", **every), _arrows(a, style="paper", **every)
    assert labels["conv"].splitlines()[0] == "Conv2d 3×3, 64, ReLU" and "relu" not in labels
    assert ("conv", "bn", "") in arrows  # the ReLU's arrow out leaves from the conv
    assert labels["fc"].splitlines()[1] == "Linear 10, Softmax"
    assert labels["stage1.0.conv1"].splitlines()[1] == "Conv2d 3×3, 64, ReLU"
    # after the residual "+" the ReLU keeps its box: a merge glyph takes no activation
    assert labels["stage1.0.relu2"].splitlines()[0] == "ReLU"
    assert "relu" in _labels(a, **every)  # the detailed style draws every layer


@pytest.mark.torch
@pytest.mark.parametrize("name", ["gpt_neox", "llama"])
def test_rotary_arithmetic_is_absorbed_into_the_attention(fixture_cache: Any, name: str) -> None:
    """rotate_half (Neg, Concat) and its sum, and a partial rotary's Concat, are position
    plumbing: the paper figure draws the projections straight into the attention scores."""
    a = fixture_cache.analysis("zoo", name)
    options = DrawOptions(style="paper", fold=True, fit="none")
    view = build_view(a, options)
    types = {n.type for n in view.nodes}
    assert not types & {"Neg", "Concat"}, types
    key = {n.id: n.key for n in view.nodes}
    into_scores = {key[e.src] for e in view.edges if key[e.dst].endswith("/matmul")}
    assert any(k.endswith(("query_key_value", "k_proj")) for k in into_scores), into_scores
    assert any(n.type == "Neg" for n in build_view(a, DrawOptions(fold=True, fit="none")).nodes)  # detailed keeps them
    assert_clean(a, "paper")


def _mermaid_boxes(text: str) -> int:
    return len(re.findall(r"^\s*n\d+[(\[]", text, re.M))


@pytest.mark.torch
def test_mermaid_draws_the_depth_and_folding_of_the_fitted_figure(fixture_cache: Any) -> None:
    """A README block of a big model is drawn as the figure is: the paper style's fitted
    page, the detailed style's readable depth; ``fit="none"`` draws every layer."""
    from modelmap.exporters.mermaid import generate_mermaid

    from .test_export_formats import _transformer
    from .test_export_models import analyze

    for a, style in ((fixture_cache.analysis("zoo", "gpt2"), "paper"), (analyze(_transformer(12)), "detailed")):
        options = DrawOptions(style=style, fold=False)
        chosen = fit_drawing(a, options).options
        drawn = _mermaid_boxes(generate_mermaid(a, options))
        assert drawn == len(build_view(a, chosen).nodes), style
        every = len(build_view(a, DrawOptions(style=style, fold=False, fit="none")).nodes)
        assert drawn < every and _mermaid_boxes(generate_mermaid(a, DrawOptions(style=style, fold=False, fit="none"))) == every


@pytest.mark.torch
def test_outputs_with_made_up_names_read_output(fixture_cache: Any) -> None:
    """T5's outputs are named ``clone_11`` and ``clone_27`` by the exporter: the paper style
    says ``output 1``, ``output 2`` (the tooltip keeps the name); a user's name stays."""
    t5 = build_view(fixture_cache.analysis("zoo", "t5"), DrawOptions(style="paper", depth=2, fit="none"))
    outputs = [n for n in t5.nodes if n.kind == "output"]
    paper = DrawOptions(style="paper")
    assert [node_label(n, paper, False).splitlines()[0] for n in outputs] == ["output 1", "output 2"]
    assert all(n.name.startswith("clone_") for n in outputs)
    resnet = build_view(fixture_cache.analysis("torch", "seed_resnet"), paper)
    assert [node_label(n, paper, False).splitlines()[0] for n in resnet.nodes if n.kind == "output"] == ["output"]


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mistral", "mixtral"])
def test_a_layer_with_weights_keeps_its_box(fixture_cache: Any, name: str) -> None:
    """An RMSNorm ends in a Mul by its weight, so the analysis calls it a merge; with one
    input it is still a layer with parameters, not a scale to absorb into an arrow."""
    a = fixture_cache.analysis("zoo", name)
    for options in (DrawOptions(style="paper", fold=True, fit="none"), DrawOptions(style="paper")):
        keys = {n.key for n in build_view(a, options).nodes}
        assert {"layers.0.input_layernorm", "layers.0.post_attention_layernorm", "norm"} <= keys, options
    assert ("embed_tokens", "layers.0.input_layernorm", "") in _arrows(a, style="paper", fold=True, fit="none")


@pytest.mark.torch
def test_index_arithmetic_is_plumbing(fixture_cache: Any) -> None:
    """RoBERTa makes its position ids from the input ids (Equal, Not, CumSum, Mul, Add, all
    on int64): no box of that, the ids go straight into the position embedding."""
    a = fixture_cache.analysis("zoo", "roberta")
    view = build_view(a, DrawOptions(style="paper", fold=True, fit="none"))
    assert not {n.type for n in view.nodes} & {"CumSum", "Equal", "Not"}
    assert ("input_ids", "embeddings.position_embeddings", "") in _arrows(a, style="paper", fold=True, fit="none")
    assert "embeddings/cum_sum" in {n.key for n in build_view(a, DrawOptions(fold=True, fit="none")).nodes}
    assert_clean(a, "paper")


@pytest.mark.torch
def test_no_arrow_runs_into_a_graph_input(fixture_cache: Any) -> None:
    """A graph input is no op-less layer to put on the data path: DeBERTa's attention mask
    is read by the masked softmax, which also reads the scores; the scores must not be
    rerouted into the mask (an arrow from the bottom of the figure up to its first row)."""
    a = fixture_cache.analysis("zoo", "deberta_v2")
    for style in STYLES:
        view = build_view(a, DrawOptions(style=style, fold=True, fit="none"))
        inputs = {n.id for n in view.nodes if n.kind == "input"}
        assert [e for e in view.edges if e.dst in inputs] == [], style
    assert ("attention_mask", "encoder.layer.0.attention.self/softmax", "") in _arrows(a, style="paper", fold=True, fit="none")


# ------------------------------------------------------------------------------ op-less layers with weights


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mamba", "deberta_v2", "bart"])
def test_no_layer_with_weights_vanishes(fixture_cache: Any, name: str) -> None:
    """Mamba's ``conv1d`` and ``dt_proj``, DeBERTa's ``rel_embeddings`` and BART's tied
    ``shared`` left no op of their own (their weights are read by other ops): every layer
    with parameters is still in some box of the paper figure, drawn by default and with
    every layer."""
    a = fixture_cache.analysis("zoo", name)
    weighted = {layer.name for layer in a.layers if layer.params}
    for options in (DrawOptions(style="paper", fold=False), DrawOptions(style="paper", fold=False, fit="none")):
        drawn = {m for n in build_view(a, options).nodes for m in n.members}
        assert weighted - drawn == set(), options


@pytest.mark.torch
def test_a_layer_whose_weights_others_read_points_at_them(fixture_cache: Any) -> None:
    """An op-less layer with weights is drawn with an arrow into each box whose ops read
    them (not spliced into the data path after the last layer of its module): Mamba's
    ``conv1d`` into the Conv op, ``dt_proj`` into the MatMul (and the bias Add, in the
    detailed style); DeBERTa's relative position table into ``pos_key_proj``."""
    mamba = fixture_cache.analysis("zoo", "mamba")
    mixer = "layers.0.mixer"
    uses = {(f"{mixer}.conv1d", f"{mixer}/conv", "weights"), (f"{mixer}.dt_proj", f"{mixer}/matmul", "weights")}
    for style in STYLES:
        arrows = _arrows(mamba, style=style, depth=3, fit="none")
        assert uses <= arrows, style
        assert {(u, v) for u, v, _ in arrows if u in (f"{mixer}.conv1d", f"{mixer}.dt_proj")} <= {
            (u, v) for u, v, _ in uses | {(f"{mixer}.dt_proj", f"{mixer}/add", "weights")}
        }, style
    assert (f"{mixer}.dt_proj", f"{mixer}/add", "weights") in _arrows(mamba, depth=3, fit="none")
    deberta = fixture_cache.analysis("zoo", "deberta_v2")
    table = ("encoder.rel_embeddings", "encoder.layer.0.attention.self.pos_key_proj", "positions")
    for style in STYLES:
        assert table in _arrows(deberta, style=style, fit="none"), style
    drawn = build_view(deberta, fit_drawing(deberta, DrawOptions(style="paper")).options)  # the attention is one box
    by_id = {n.id: n for n in drawn.nodes}
    assert [(by_id[e.dst].key, e.label) for e in drawn.edges if by_id[e.src].key == "encoder.rel_embeddings"] == [
        ("encoder.layer.0.attention.self", "positions")
    ]


# ------------------------------------------------------------------------------ made-up names


def _roles(analysis: Any, cluster: str, **kw: Any) -> dict[str, str]:
    """Key -> paper role of the boxes directly inside the cluster whose module is ``cluster``."""
    view = build_view(analysis, DrawOptions(style="paper", **kw))
    inside = next(c for c in view.clusters() if c.key and c.key[-1] == cluster)
    by_id = {n.id: n for n in view.nodes}
    return {by_id[i].key: by_id[i].role for i in inside.nodes}


@pytest.mark.torch
def test_the_attention_core_is_named_by_its_part_not_by_a_made_up_name(fixture_cache: Any) -> None:
    """GPT-2's ``matmul`` (into the softmax) and ``matmul_1`` (reading it) are the attention
    ``scores`` and ``context``; no box shows a name the exporter made up from an op type."""
    gpt2 = fixture_cache.analysis("zoo", "gpt2")
    labels = _labels(gpt2, style="paper")
    assert labels["h.0.attn/matmul"].splitlines()[:2] == ["scores", "MatMul, Softmax"]
    assert labels["h.0.attn/matmul_1"].splitlines()[:2] == ["context", "MatMul"]
    made_up = re.compile(r"^(?:matmul|add|mul|div|softmax|sigmoid|concat|gather|reduce_sum)(?:_\d+)?$")
    for name in ("gpt2", "deberta_v2", "mamba", "swin", "mixtral"):
        view = build_view(fixture_cache.analysis("zoo", name), DrawOptions(style="paper", fit="none"))
        assert [n.role for n in view.nodes if made_up.match(n.role)] == [], name


@pytest.mark.torch
def test_look_alike_made_up_boxes_are_told_apart_by_what_they_read(fixture_cache: Any) -> None:
    """DeBERTa's three score products: content-to-content stays ``scores`` (its label is its
    own), the two position ones are named by the layers they multiply; Mamba's eight
    scan products, reading the same layers, are numbered in drawing order."""
    roles = _roles(fixture_cache.analysis("zoo", "deberta_v2"), "encoder.layer.0.attention.self", fit="none")
    prefix = "encoder.layer.0.attention.self/"
    assert [roles[prefix + k] for k in ("matmul", "matmul_1", "matmul_2", "matmul_3")] == [
        "scores", "scores (query_proj · pos_key_proj)", "scores (key_proj · pos_query_proj)", "context"
    ]
    roles = _roles(fixture_cache.analysis("zoo", "mamba"), "layers.0.mixer", fit="none")
    assert [roles[f"layers.0.mixer/matmul_{i}"] for i in range(1, 9)] == [f"#{i}" for i in range(1, 9)]
