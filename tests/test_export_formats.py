"""Each exporter's behaviour, checked through the real consumer where there is one.

DOT is read back by Graphviz itself (``dot -Tjson0``), ONNX by the checker and
onnxruntime, JSON by ``json`` and networkx. Models are the hand-built seed graphs
of ``test_export_models`` (no framework needed).
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import onnx
import onnx.inliner
import pytest

from modelmap import MissingDependencyError
from modelmap._errors import InputError, ModelmapError
from modelmap._registry import DuplicateKeyError
from modelmap.exporters import DrawingWarning, DrawOptions, Exporter, export, exporter_for, generate, registry
from modelmap.exporters.mermaid import MAX_EDGES, MAX_TEXT
from modelmap.exporters.netron import attachment_path, netron_model
from modelmap.exporters.render import check_svg

from .test_export_models import Builder, analyze as seed_analysis_of, dot_parts, seed_analysis

RESNET = "seed_resnet"


# ----------------------------------------------------------------- options, registry


def test_draw_options_validate_and_normalise() -> None:
    assert DrawOptions(direction="lr").direction == "LR"
    for bad in ({"style": "fancy"}, {"direction": "RL"}, {"depth": 0}, {"depth": -2}, {"depth": True}):
        with pytest.raises(InputError):
            DrawOptions(**bad)
    base = DrawOptions(style="paper")
    assert DrawOptions.from_kwargs(base, depth=2) == DrawOptions(style="paper", depth=2)
    assert DrawOptions.from_kwargs(None) == DrawOptions()
    with pytest.raises(InputError, match="unknown drawing option.*colour"):
        DrawOptions.from_kwargs(None, colour="red")


def test_registry_maps_names_and_extensions() -> None:
    expected = {
        ".dot": "dot", ".gv": "dot", ".svg": "svg", ".pdf": "pdf", ".png": "png", ".mmd": "mermaid",
        ".md": "markdown", ".onnx": "onnx", ".json": "json",
    }
    for ext, name in expected.items():
        assert exporter_for(f"out/model{ext.upper()}").name == name
    assert exporter_for("x.svg", format="markdown").name == "markdown"  # --format wins
    assert exporter_for(format="mmd").name == "mermaid"
    with pytest.raises(InputError, match=r"model\.txt: unknown output extension '\.txt'.*\.svg"):
        exporter_for("model.txt")
    with pytest.raises(InputError, match="unknown output format 'gif'"):
        exporter_for("model.svg", format="gif")
    with pytest.raises(DuplicateKeyError):
        registry.register("dot", registry.get("dot"))
    with pytest.raises(DuplicateKeyError, match="'.svg' is already claimed"):
        registry.register("svg2", registry.get("svg"), (".svg",))


# ------------------------------------------------------------------------------ DOT


def _labels(nodes: dict[str, dict]) -> dict[str, str]:
    return {n: o.get("label", "").replace("\\n", "\n") for n, o in nodes.items() if re.fullmatch(r"n\d+", n)}


def test_dot_unfolded_has_a_node_per_layer_and_the_module_tree_as_clusters() -> None:
    a = seed_analysis(RESNET)
    nodes, edges, clusters = dot_parts(generate(a, "dot", DrawOptions(fold=False)))
    labels = _labels(nodes)
    g = a.layer_graph()
    assert len(labels) == g.number_of_nodes()
    tooltips = " ".join(o.get("tooltip", "") for o in nodes.values())
    for layer in a.layers:
        assert layer.name.split("/")[-1] in tooltips, layer.name
    # every conv shows its type, output shape and parameter count
    conv = next(v for v in labels.values() if v.startswith("stage2.0.conv1\n"))
    assert conv.split("\n") == ["stage2.0.conv1", "Conv2d 3×3/2, 128", "1×128×16×16", "73.9K params"]
    # clusters: the four stages and the fourteen residual blocks, nested
    titles = sorted(c["label"] for c in clusters.values() if c["name"] != "cluster_legend")
    assert [t for t in titles if t.startswith("stage") and "Sequential" in t] == [f"stage{i} · Sequential" for i in (1, 2, 3, 4)]
    assert len([t for t in titles if "ResidualBlock" in t]) == 14
    data_edges = [e for e in edges if not e["tail_name"].startswith("legend")]
    assert len(data_edges) == g.number_of_edges()


def _skip_edges(edges: list[dict]) -> Counter[str]:
    return Counter(e.get("label", "") for e in edges if e.get("style") in ("dashed", "dotted") and not e["tail_name"].startswith("legend"))


def test_dot_draws_each_skip_kind_distinctly_with_labels_and_a_legend() -> None:
    a = seed_analysis(RESNET)
    kinds = Counter(str(s.kind) for s in a.skips)
    assert kinds == {"identity": 11, "projection": 3}
    nodes, edges, clusters = dot_parts(generate(a, "dot", DrawOptions(fold=False)))
    labelled = _skip_edges(edges)
    assert labelled["identity"] == 11 and labelled["projection"] == 3
    # a projection shortcut runs fork -> 1x1 conv -> merge: both arrows carry its style
    assert labelled[""] == 3
    style = {e["label"]: (e["style"], e["penwidth"], e["color"]) for e in edges if e.get("label") in ("identity", "projection")}
    assert style["identity"] != style["projection"]
    assert style["identity"][0] == "dashed" and float(style["projection"][1]) > float(style["identity"][1])
    legend = clusters["cluster_legend"]
    assert legend["label"] == "skip connections"
    legend_labels = sorted(o["label"] for o in nodes.values() if o["name"].startswith("legend_") and o["name"].endswith("b"))
    assert legend_labels == ["identity", "projection"]


def test_dot_paper_style_is_grayscale_serif_and_tells_skips_apart_by_line() -> None:
    a = seed_analysis(RESNET)
    text = generate(a, "dot", DrawOptions(style="paper", fold=False, legend=False, fit="none"))  # every layer; no legend: kinds on the arrows
    nodes, edges, _ = dot_parts(text)
    assert 'fontname="Times"' in text
    colours = {e.get("color") for e in edges} | {o.get("color") for o in nodes.values() if "color" in o}
    for c in colours - {None}:
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        assert r == g == b, f"{c} is not gray"
    assert all(o.get("fillcolor", "#ffffff") == "#ffffff" for o in nodes.values())
    lines = {e["label"]: (e["style"], float(e["penwidth"])) for e in edges if e.get("label") in ("identity", "projection")}
    assert lines["identity"] != lines["projection"]  # differ without colour
    # compact: names left out, types and shapes kept
    labels = _labels(nodes)
    assert not any("stage1.0.conv1" in v for v in labels.values())
    assert any(v.startswith("Conv2d 3×3, 64") for v in labels.values())


def test_dot_folds_repeated_blocks_into_one_marked_x_n() -> None:
    a = seed_analysis(RESNET)
    full = _labels(dot_parts(generate(a, "dot", DrawOptions(fold=False)))[0])
    nodes, edges, clusters = dot_parts(generate(a, "dot", DrawOptions()))  # auto: > 60 layers folds
    folded = _labels(nodes)
    marks = sorted(c["label"].split("  ")[0] for c in clusters.values() if c["label"].startswith("×"))
    assert marks == ["× 2", "× 4", "× 4"]
    repeated = {b.name: b for b in a.blocks}
    assert set(repeated) == {"ResidualBlock"}
    removed_units = sum(b.count - 1 for b in a.blocks)
    per_unit = len(a.blocks[0].units[0])
    assert len(folded) == len(full) - removed_units * per_unit
    # the folded graph is still one chain from input to output
    g = nx.DiGraph((e["tail_name"], e["head_name"]) for e in edges if not e["tail_name"].startswith("legend"))
    order = list(nx.topological_sort(g))
    assert nodes[order[0]]["label"].startswith("x") or nodes[order[0]]["label"].startswith("input")
    assert nodes[order[-1]]["label"].startswith("output")
    assert nx.has_path(g, order[0], order[-1])
    # the first block of stage 2 keeps its projection; the folded ones keep one identity each
    labelled = _skip_edges(edges)
    assert labelled["projection"] == 3 and labelled["identity"] == 11 - removed_units
    assert not any(b.name in t for t in folded.values() for b in a.blocks if f"{b.members[1]}." in t)


def _flat_residual(blocks: int) -> onnx.ModelProto:
    """A Keras-style flat model (one namespace level): ``blocks`` x (dense-relu-dense, add)."""
    b = Builder("flat_residual")
    x, n = "input", 0

    def name() -> list[str]:
        nonlocal n
        n += 1
        return [f"layer_{n}"]

    for _ in range(blocks):
        y = b.linear(x, name(), ["Dense"], 8, 8)
        y = b.op("Relu", [y], name(), ["ReLU"])
        y = b.linear(y, name(), ["Dense"], 8, 8)
        x = b.op("Add", [x, y], name(), ["Add"])
    return b.model({"input": (1, 8)}, {"output": x}, framework="keras")


def test_dot_folds_blocks_of_a_flat_model_into_a_cluster_of_their_own() -> None:
    from .test_export_models import analyze

    a = analyze(_flat_residual(5))  # its blocks are inferred modules (core/inferred.py) in a stage
    assert [(b.count, b.parent) for b in a.blocks] == [(5, ("stage1",))] and len(a.skips) == 5
    nodes, edges, clusters = dot_parts(generate(a, "dot", DrawOptions(fold=True)))
    labels = _labels(nodes)
    assert len(labels) == 2 + 4  # input, output and one repetition
    stage, fold = [c for c in clusters.values() if c["name"] != "cluster_legend"]
    assert stage["label"] == "stage1 \u00b7 5 \u00d7 ResidualBlock"
    assert fold["label"] == "\u00d7 5  ResidualBlock  (block1 \u2026 block5)"
    assert len(fold["nodes"]) == 4
    assert _skip_edges(edges) == {"identity": 1}
    unfolded = _labels(dot_parts(generate(a, "dot", DrawOptions(fold=False)))[0])
    assert len(unfolded) == 2 + 4 * 5


def test_dot_folds_only_big_views_by_default_and_folds_collapsed_blocks_on_request() -> None:
    a = seed_analysis(RESNET)
    assert a.layer_graph(2).number_of_nodes() < 60
    auto = _labels(dot_parts(generate(a, "dot", DrawOptions(depth=2)))[0])
    assert not any("\n× " in v for v in auto.values())
    folded = _labels(dot_parts(generate(a, "dot", DrawOptions(depth=2, fold=True)))[0])
    marks = sorted(v.split("\n")[-1] for v in folded.values() if "\n× " in v)
    assert marks == ["× 2  (stage1.0 … stage1.1)", "× 4  (stage2.1 … stage2.4)", "× 4  (stage3.1 … stage3.4)"]
    assert len(folded) == len(auto) - (1 + 3 + 3)


def test_dot_depth_collapses_modules_and_keeps_their_skips_in_words() -> None:
    a = seed_analysis(RESNET)
    nodes, edges, clusters = dot_parts(generate(a, "dot", DrawOptions(depth=2)))
    labels = _labels(nodes)
    blocks = [v for v in labels.values() if "\nResidualBlock\n" in v]
    assert len(blocks) == 14
    assert sum("+ projection shortcut" in v for v in blocks) == 3
    assert sum("+ identity shortcut" in v for v in blocks) == 11
    assert "cluster_legend" not in clusters  # no skip drawn as an arrow at this depth
    one = dot_parts(generate(a, "dot", DrawOptions(depth=1)))[0]
    assert {v.split("\n")[0] for v in _labels(one).values()} >= {"stage1", "stage2", "stage3", "stage4"}


def test_dot_options_shapes_params_direction_title() -> None:
    a = seed_analysis(RESNET)
    text = generate(a, "dot", DrawOptions(depth=2, shapes=False, params=False, direction="LR", title='My "net"'))
    nodes, _, _ = dot_parts(text)
    lines = {ln for v in _labels(nodes).values() for ln in v.split("\n")}
    assert not any(re.fullmatch(r"\d+(×\d+)+", ln) for ln in lines)  # no output shape
    assert not any("params" in ln for ln in lines)
    assert any(ln.startswith("ResidualBlock") for ln in lines)
    assert "rankdir=LR" in text
    d = json.loads(__import__("subprocess").run(["dot", "-Tjson0"], input=text.encode(), capture_output=True).stdout)
    assert d["label"] == 'My "net"'


# ---------------------------------------------------------------------------- Mermaid


def _links(text: str) -> list[str]:
    return [ln.strip() for ln in text.splitlines() if re.match(r"\s+(n\d+|lg\d+a\[.*?\]) (-->|-\.->|==>)", ln)]


def test_mermaid_has_subgraphs_generated_ids_and_styled_skip_links() -> None:
    a = seed_analysis(RESNET)
    text = generate(a, "mermaid", DrawOptions(fold=False))
    lines = text.splitlines()
    assert lines[0] == "---" and "flowchart TB" in lines
    assert sum(1 for ln in lines if ln.strip().startswith("subgraph c")) == 4 + 14
    assert sum(1 for ln in lines if ln.strip() == "end") == 4 + 14 + 1  # + the legend
    node_ids = re.findall(r"^\s+(n\d+)[(\[]", text, re.M)
    assert len(node_ids) == a.layer_graph().number_of_nodes() == len(set(node_ids))
    links = _links(text)
    styled: dict[int, str] = {}
    for ln in lines:
        m = re.match(r"\s+linkStyle ([\d,]+) (.*)", ln)
        if m:
            for i in m.group(1).split(","):
                styled[int(i)] = m.group(2)
    kinds = Counter()
    for i, style in styled.items():
        link = links[i]
        assert "-.->" in link or "==>" in link, link  # only skip arrows are restyled
        kinds["projection" if "==>" in link else "identity"] += 1
        assert "stroke-dasharray" in style
    # 11 identity + 3 projection edges carrying a label, 3 more projection arrows, 2 legend rows
    assert kinds == {"identity": 11 + 1, "projection": 6 + 1}
    assert text.count('|"identity"|') == 12 and text.count('|"projection"|') == 4


def test_markdown_is_a_fenced_mermaid_block() -> None:
    a = seed_analysis("mlp")
    md_text = generate(a, "markdown", DrawOptions())
    assert md_text.startswith("```mermaid\n---\n") and md_text.endswith("```\n")
    assert md_text[len("```mermaid\n") : -len("```\n")] == generate(a, "mermaid", DrawOptions())


def _transformer(n_layer: int, flat: bool = False) -> onnx.ModelProto:
    """A GPT-2-like stack: per layer LayerNorm-attention(4 matmuls)-add-LayerNorm-MLP-add."""
    b = Builder("gpt")
    d = 8
    x = "input"
    for i in range(n_layer):
        blk = ["h", f"h.{i}"]
        cls = ["ModuleList", "Block"]

        def ns(*leaf: str) -> list[str]:
            return [] if flat else [*blk, *(f"h.{i}.{p}" for p in leaf)]  # noqa: B023

        def cl(*c: str) -> list[str]:
            return [] if flat else [*cls, *c]

        y = b.op("LayerNormalization", [x, b.weight("g", (d,)), b.weight("b", (d,))], ns("ln_1"), cl("LayerNorm"), axis=-1)
        q = b.op("MatMul", [y, b.weight("wq", (d, d))], ns("attn", "attn.q"), cl("Attention", "Linear"))
        k = b.op("MatMul", [y, b.weight("wk", (d, d))], ns("attn", "attn.k"), cl("Attention", "Linear"))
        v = b.op("MatMul", [y, b.weight("wv", (d, d))], ns("attn", "attn.v"), cl("Attention", "Linear"))
        s = b.op("Softmax", [b.op("Mul", [q, k], ns("attn"), cl("Attention"))], ns("attn"), cl("Attention"), axis=-1)
        o = b.op("MatMul", [b.op("Mul", [s, v], ns("attn"), cl("Attention")), b.weight("wo", (d, d))], ns("attn", "attn.o"), cl("Attention", "Linear"))
        x = b.op("Add", [x, o], [] if flat else blk, [] if flat else cls)
        y = b.op("LayerNormalization", [x, b.weight("g", (d,)), b.weight("b", (d,))], ns("ln_2"), cl("LayerNorm"), axis=-1)
        y = b.op("MatMul", [y, b.weight("w1", (d, 4 * d))], ns("mlp", "mlp.fc"), cl("MLP", "Linear"))
        y = b.op("Relu", [y], ns("mlp", "mlp.act"), cl("MLP", "ReLU"))
        y = b.op("MatMul", [y, b.weight("w2", (4 * d, d))], ns("mlp", "mlp.proj"), cl("MLP", "Linear"))
        x = b.op("Add", [x, y], [] if flat else blk, [] if flat else cls)
    return b.model({"input": (1, 4, d)}, {"output": x})


def test_mermaid_stays_within_mermaids_limits_by_folding_or_collapsing() -> None:
    from .test_export_models import analyze

    a = analyze(_transformer(48))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = generate(a, "mermaid", DrawOptions(fold=False, fit="none"))  # every layer asked for: over the limits
    assert len(text) <= MAX_TEXT and len(_links(text)) <= MAX_EDGES
    notes = [ln for ln in text.splitlines() if ln.startswith("%% ")]
    assert any("too large for Mermaid" in n for n in notes), notes
    assert [w for w in caught if issubclass(w.category, DrawingWarning) and "too large for Mermaid" in str(w.message)]
    # unfolded, the same model is over the limit: the note is not crying wolf
    dot_nodes = generate(a, "dot", DrawOptions(fold=False, fit="none")).count("[label=")
    assert dot_nodes > MAX_EDGES


def _flat_chain(n: int) -> onnx.ModelProto:
    """``n`` unannotated element-wise ops in an irregular order: nothing to fold or collapse."""
    b = Builder("chain")
    x = "input"
    rng = np.random.default_rng(7)
    for op in rng.choice(["Relu", "Sigmoid", "Tanh", "Abs", "Neg", "Exp", "Softsign"], size=n):
        x = b.op(str(op), [x])
    return b.model({"input": (1, 4)}, {"output": x})


def test_mermaid_cuts_a_flat_graph_too_big_at_any_depth() -> None:
    from .test_export_models import analyze

    a = analyze(_flat_chain(700))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = generate(a, "mermaid", DrawOptions())
    assert len(text) <= MAX_TEXT and len(_links(text)) <= MAX_EDGES
    assert "only the first layers are drawn" in text
    assert re.search(r"#8230; \d+ more not shown", text)
    assert any(issubclass(w.category, DrawingWarning) for w in caught)


# ------------------------------------------------------------------------------- JSON


def test_json_is_the_analyze_object_plus_the_layer_graph() -> None:
    a = seed_analysis(RESNET)
    for depth in (None, 2):
        d = json.loads(generate(a, "json", DrawOptions(depth=depth)))
        graph = d.pop("graph")
        assert d == json.loads(json.dumps(a.to_dict(depth)))
        g = nx.node_link_graph(graph, edges="edges")
        ref = a.layer_graph(depth)
        assert set(g.nodes) == set(ref.nodes) and set(g.edges) == set(ref.edges)
        some = next(iter(ref.nodes))
        assert g.nodes[some]["kind"] == str(ref.nodes[some]["kind"])


# ------------------------------------------------------------------------------- ONNX


def _run(model: onnx.ModelProto, seed: int = 3) -> list[np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    feeds = {i.name: rng.standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32) for i in sess.get_inputs()}
    return sess.run(None, feeds)


def _scopes(model: onnx.ModelProto):
    """(nodes, names with a shape, names that need none) of the main graph and each function."""
    g = model.graph
    shaped = lambda vis: {vi.name for vi in vis if vi.type.tensor_type.HasField("shape")}  # noqa: E731
    yield list(g.node), shaped(g.value_info), {o.name for o in g.output}
    for f in model.functions:
        yield list(f.node), shaped(f.value_info), set()


@pytest.mark.parametrize("flat", [False, True], ids=["nested", "flat"])
@pytest.mark.parametrize("name", ["seed_resnet", "small_cnn", "convnet", "mlp"])
def test_onnx_is_valid_and_computes_exactly_what_the_source_computes(name: str, flat: bool) -> None:
    a = seed_analysis(name)
    out = onnx.load_from_string(generate(a, "onnx", DrawOptions(flat=flat)))
    onnx.checker.check_model(out, full_check=True)
    before, after = _run(a.model), _run(out)
    assert len(before) == len(after)
    for x, y in zip(before, after, strict=True):
        assert np.array_equal(x, y)
    # in every graph and function: each tensor made has a shape; node names are unique
    for nodes, shaped, outputs in _scopes(out):
        assert [t for n in nodes for t in n.output if t not in shaped | outputs] == []
        assert len({n.name for n in nodes}) == len(nodes)
    # the same ops with the same attributes and initializers: inlined, only names differ
    inlined = onnx.inliner.inline_local_functions(out)
    key = lambda n: (n.op_type, n.domain, str(n.attribute))  # noqa: E731
    assert Counter(map(key, inlined.graph.node)) == Counter(map(key, a.model.graph.node))
    assert {t.name for t in out.graph.initializer} == {t.name for t in a.model.graph.initializer}
    if flat:
        assert [n.op_type for n in out.graph.node] == [n.op_type for n in a.model.graph.node]
        assert not out.functions
    else:
        assert {f.domain for f in out.functions} <= {"modelmap"}


def _by_name(nodes) -> dict:
    return {n.name: n for n in nodes}


def test_onnx_nests_modules_as_functions_named_and_explained() -> None:
    a = seed_analysis(RESNET)
    out = netron_model(a)
    funcs = {f.name: f for f in out.functions}
    top = [n.name for n in out.graph.node]
    assert top == ["input_bn", "conv", "relu", "bn", "stage1", "stage2", "stage3", "stage4", "pool", "flatten", "fc",
                   "softmax"]
    stage2 = _by_name(out.graph.node)["stage2"]
    assert stage2.domain == "modelmap" and stage2.op_type in funcs
    assert {p.key: p.value for p in stage2.metadata_props}["module"] == "stage2"
    calls = _by_name(funcs[stage2.op_type].node)
    assert list(calls) == ["stage2.0", "stage2.1", "stage2.2", "stage2.3", "stage2.4"]
    # the four identical blocks call one function; the projection block its own
    assert len({calls[k].op_type for k in ("stage2.1", "stage2.2", "stage2.3", "stage2.4")}) == 1
    assert calls["stage2.0"].op_type != calls["stage2.1"].op_type
    block = {p.key: p.value for p in calls["stage2.1"].metadata_props}
    assert block["block"] == "ResidualBlock 1 of 4 in stage2" and block["class"] == "ResidualBlock"
    first = _by_name(funcs[calls["stage2.0"].op_type].node)
    assert list(first) == ["conv1", "relu1", "bn1", "conv2", "shortcut", "add", "relu2", "bn2"]
    props = {p.key: p.value for p in first["shortcut"].metadata_props}
    assert props["layer"] == "stage2.0.shortcut" and props["class"] == "Conv2d"
    assert props["skip"] == "residual block 3 of 14, projection shortcut"
    assert "Residual block 3 of 14, projection shortcut." in first["shortcut"].doc_string
    # tensors are named after the node that makes them; one use: the caller's weight names
    assert list(first["shortcut"].output) == ["shortcut"] and list(first["add"].input) == ["shortcut", "conv2"]
    assert set(first["shortcut"].input[1:]) <= {t.name for t in out.graph.initializer}
    # a shared function says nothing that is true of one instance only
    shared = funcs[calls["stage2.1"].op_type]
    conv1 = {p.key: p.value for p in _by_name(shared.node)["conv1"].metadata_props}
    assert conv1 == {"class": "Conv2d", "skip": "residual block, body"}
    assert list(shared.input)[:3] == ["input", "conv1.W", "conv1.B"]  # the hand-built weights have no module prefix


def test_onnx_groups_the_repeated_blocks_of_a_flat_model_into_modules() -> None:
    a = seed_analysis_of(_flat_residual(3))  # a flat Keras-style model: its blocks are inferred modules
    out = netron_model(a)
    assert [n.name for n in out.graph.node] == ["stage1"]
    funcs = {f.name: f for f in out.functions}
    stage = funcs[out.graph.node[0].op_type]
    assert [n.name for n in stage.node] == ["block1", "block2", "block3"]
    assert [n.name for n in funcs[stage.node[1].op_type].node] == ["layer_5", "layer_6", "layer_7", "layer_8"]
    props = {p.key: p.value for p in out.graph.node[0].metadata_props}
    assert props["class"] == "3 \u00d7 ResidualBlock"
    assert np.array_equal(_run(a.model)[0], _run(out)[0])


def test_onnx_model_names_producer_source_and_summary_under_short_keys() -> None:
    a = seed_analysis(RESNET)
    for out in (netron_model(a), netron_model(a, flat=True)):
        props = {p.key: p.value for p in out.metadata_props}
        assert out.producer_name == "modelmap" and props["converted_from"].startswith("PyTorch")
        assert props["skips"] == "14 (11 identity, 3 projection)" and props["params"] == str(a.params)
        assert props["modelmap.framework"] == "pytorch" and "modelmap.layers" not in props
        assert "14 (11 identity, 3 projection)" in out.doc_string
        keys = [p.key for p in out.metadata_props] + [p.key for n in out.graph.node for p in n.metadata_props]
        assert all(len(k) <= 18 for k in keys), keys


def test_onnx_flat_names_nodes_after_layers_and_tensors_after_nodes() -> None:
    a = seed_analysis(RESNET)
    out = netron_model(a, flat=True)
    nodes = _by_name(out.graph.node)
    assert len(nodes) == len(out.graph.node)
    shortcut = nodes["stage2.0.shortcut"]
    assert list(shortcut.output) == ["stage2.0.shortcut"]
    props = {p.key: p.value for p in shortcut.metadata_props}
    assert props["namespace"] == "stage2/stage2.0/stage2.0.shortcut"  # the converter's, kept
    assert props["skip"] == "residual block 3 of 14, projection shortcut"
    assert {p.key: p.value for p in nodes["stage2.1.conv1"].metadata_props}["block"] == "ResidualBlock 1 of 4 in stage2"


def test_onnx_attachment_sidecar_names_real_nodes(tmp_path: Path) -> None:
    a = seed_analysis("small_cnn")
    path = tmp_path / "cnn.onnx"
    written = export(a, path, DrawOptions(attachment=True))
    side = attachment_path(path)
    assert written == [path, side] and side.name == "cnn.attachment.json"
    data = json.loads(side.read_text())
    assert data["signature"] == "netron:attachment"
    names = {n.name for n in onnx.load(str(path)).graph.node}
    assert {m["target"] for m in data["metrics"]} <= names
    params = {m["target"]: m["value"] for m in data["metrics"] if m["name"] == "parameters"}
    assert params["conv1"] == 3 * 32 * 9 + 32
    assert not list(tmp_path.glob("*.part"))
    assert export(a, tmp_path / "plain.onnx", DrawOptions()) == [tmp_path / "plain.onnx"]
    assert not (tmp_path / "plain.attachment.json").exists()


# ------------------------------------------------------------------ SVG, PDF, PNG


def test_rendered_formats_are_what_they_claim(tmp_path: Path) -> None:
    a = seed_analysis("small_cnn")
    svg = generate(a, "svg", DrawOptions())
    check_svg(svg)
    assert "conv1" in svg and "<script" not in svg
    assert generate(a, "pdf", DrawOptions()).startswith(b"%PDF")
    assert generate(a, "png", DrawOptions()).startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.parametrize(
    "svg, why",
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
        ('<svg xmlns="http://www.w3.org/2000/svg"><g onclick="x()"/></svg>', "onclick"),
        ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="java script:x"/></svg>', "script link"),
        ('<svg><text>&#0;</text></svg>', "well-formed"),
    ],
)
def test_check_svg_refuses_active_or_broken_svg(svg: str, why: str) -> None:
    with pytest.raises(ModelmapError, match=why):
        check_svg(svg)


def test_missing_graphviz_is_one_clear_error_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = seed_analysis("mlp")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "out" / "mlp.svg"
    with pytest.raises(MissingDependencyError) as e:
        export(a, out, DrawOptions())
    msg = str(e.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg and "\n" not in msg
    assert not out.exists() and not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    # DOT and Mermaid need no Graphviz
    assert export(a, tmp_path / "mlp.dot", DrawOptions())[0].read_text().startswith("digraph")


def test_a_failing_generator_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    a = seed_analysis("mlp")
    path = tmp_path / "mlp.dot"
    path.write_text("old")

    def broken(analysis: object, options: DrawOptions) -> str:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        Exporter("broken", (), broken).write(a, path, DrawOptions())
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.dot"]
