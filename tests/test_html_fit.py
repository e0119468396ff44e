"""The HTML view opens at the figure the other formats draw (``--fit``, ``--style paper``,
``--depth``, ``--fold``), in a real browser (the set-up of ``test_html_view``).

The paper view is compared box by box with the paper SVG Graphviz draws for the same
options: the same boxes with the same text, the same frames with the same titles. With
no option the page opens as it always has. Screenshots go to ``test-artifacts/html/``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import pytest

import modelmap as mm

from modelmap.exporters import DrawOptions
from modelmap.exporters._fit import fit_drawing
from modelmap.exporters.html import generate_html
from modelmap.exporters.render import generate_svg

from .conftest import skip_or_fail_without
from .helpers import cli
from .test_export_models import seed_analysis
from .test_export_models import seed_resnet as seed_resnet_onnx
from .test_html_view import SVG, browser, open_view  # noqa: F401 - the fixtures

ELL = "\u2026"
SEED_TOP = ["input", "input_bn", "conv", "relu", "bn", "stage1", "stage2", "stage3", "stage4", "pool", "flatten", "fc",
            "softmax", "output"]


def _data(page: str) -> dict[str, Any]:
    return json.loads(re.search(r'id="modelmap-data">(.*?)</script>', page, re.DOTALL).group(1))


def _figure(analysis: Any, options: DrawOptions) -> tuple[Counter, Counter]:
    """The box texts and frame titles of the SVG Graphviz draws for ``options`` (legend left out)."""
    try:
        svg = ET.fromstring(generate_svg(analysis, options))
    except FileNotFoundError:  # pragma: no cover - no Graphviz
        skip_or_fail_without(False, "Graphviz `dot` is not installed")
    boxes: Counter = Counter()
    frames: Counter = Counter()
    for g in svg.iter(SVG + "g"):
        title = g.find(SVG + "title")
        if g.get("class") not in ("node", "cluster") or title is None or "legend" in (title.text or ""):
            continue
        # a frame's title wrapped onto two lines clear of an arrow (exporters/_titles.py) is one title
        sep = "\n" if g.get("class") == "node" else " "
        text = sep.join(t.text or "" for t in g.iter(SVG + "text")).replace("\u00a0", " ")  # Graphviz: "  " -> " \xa0"
        (boxes if g.get("class") == "node" else frames)[text] += 1
    return boxes, frames


def _drawn(v: Any) -> tuple[Counter, Counter]:
    """The box texts and frame titles the page shows."""
    lines = "els => els.map(e => Array.from(e.querySelectorAll('text')).map(t => t.textContent).join('\\n'))"
    return (Counter(v.page.eval_on_selector_all("#canvas .box", lines)),
            Counter(v.page.eval_on_selector_all("#canvas .cluster > .hdr", lines)))


def _assert_paper_look(v: Any) -> None:
    """Times, black on white: no fill but white, black text and arrows."""
    fonts = v.page.eval_on_selector_all("#canvas text", "els => els.map(e => getComputedStyle(e).fontFamily)")
    assert fonts and all("Times" in f for f in fonts)
    fills = v.page.eval_on_selector_all("#canvas .body, #canvas .stack, #canvas .frame",
                                        "els => els.map(e => e.getAttribute('fill'))")
    assert fills and set(fills) == {"#ffffff"}
    ink = v.page.eval_on_selector_all("#canvas text, #canvas .edge",
                                      "els => els.map(e => e.tagName === 'text' ? getComputedStyle(e).fill"
                                      " : getComputedStyle(e).stroke)")
    assert set(ink) == {"rgb(0, 0, 0)"}
    headers = v.page.eval_on_selector_all("#canvas .hdr rect", "els => els.map(e => getComputedStyle(e).fillOpacity)")
    assert set(headers) <= {"0"}


def _exported(v: Any) -> ET.Element:
    svg = ET.fromstring(v.download("export-svg"))
    assert "Times" in "".join(s.text or "" for s in svg.iter(SVG + "style"))
    fills = {r.get("fill") for r in svg.iter() if r.tag in (SVG + "rect", SVG + "circle") and r.get("fill")}
    assert fills == {"#ffffff"}
    return svg


# ------------------------------------------------------------------ the seed ResNet


def test_paper_view_is_the_fitted_seed_figure(open_view) -> None:  # noqa: F811
    """``--style paper`` (7 x 9 in) and ``--fit column``: the page opens at the fitter's depth
    and folding, each box and frame as the paper SVG has it, in Times, black on white."""
    a = seed_analysis("seed_resnet")
    for fit in (None, "column"):
        options = DrawOptions(style="paper", fit=fit)
        chosen = fit_drawing(a, options).options
        page = generate_html(a, options)
        initial = {"depth": chosen.depth, "fold": chosen.fold, "page": "3.35 x 9 in" if fit else "7 x 9 in"}
        assert _data(page)["initial"] == initial and chosen.depth == 2 and chosen.fold
        v = open_view(a, f"seed-paper-{fit or 'page'}", options)
        v.shot("0-open")
        assert _drawn(v) == _figure(a, options)
        assert [v.expanded(f"stage{i}") for i in range(1, 5)] == ["true"] * 4
        run = f"stage2.1 {ELL} stage2.4"
        assert v.box(run).get_attribute("data-repeat") == "4" and v.expanded(run) == "false"
        assert "ResidualBlock \u00d7 4" in v.box(run).text_content()
        assert not {"relu", "flatten", "softmax"} & set(v.paths())  # written into their layers, or plumbing
        assert "Conv2d 3\u00d73, 64, ReLU" in v.box("conv").text_content()
        _assert_paper_look(v)
        v.check_clean()
    exported = _exported(v)
    drawn = {g.get("data-path") for g in exported.iter(SVG + "g")} - {None}
    assert drawn == set(v.paths())
    assert [t.text for t in exported.iter(SVG + "text") if t.get("class") == "t-caption"] == ["seed_resnet"]

    v.toggle(run)  # still a view: the run unfolds, a stage collapses
    v.shot("1-unfolded")
    assert [v.box(f"stage2.{k}").count() for k in range(1, 5)] == [1, 1, 1, 1]
    v.toggle("stage3")
    assert v.expanded("stage3") == "false" and v.box("stage3.0").count() == 0
    _assert_paper_look(v)
    v.check_clean()


def test_no_option_opens_as_before(open_view) -> None:  # noqa: F811
    a = seed_analysis("seed_resnet")
    data = _data(generate_html(a))
    assert data["initial"] == {"depth": None, "fold": True, "page": None} and data["paper"] is None
    v = open_view(a, "seed-default")
    assert v.paths() == SEED_TOP
    assert v.page.eval_on_selector_all("#canvas [data-opened]", "els => els.length") == 0
    fills = v.page.eval_on_selector_all("#canvas .body", "els => els.map(e => e.getAttribute('fill'))")
    assert len(set(fills)) > 3  # the detailed look: filled by kind
    v.check_clean()


def test_depth_and_fold_set_the_first_view(open_view) -> None:  # noqa: F811
    """Given explicitly, --depth and --fold open the view there; folded runs whose repetition is
    more than one box at that depth show their first, titled x N, as the figures do."""
    a = seed_analysis("seed_resnet")
    v = open_view(a, "seed-depth3-fold", DrawOptions(depth=3, fold=True))
    v.shot("0-open")
    run = f"stage2.1 {ELL} stage2.4"
    assert v.expanded(run) == "true" and v.box(run).get_attribute("data-opened") == "true"
    assert v.box("stage2.1.conv1").count() == 1 and v.box("stage2.2.conv1").count() == 0
    assert "ResidualBlock \u00d7 4" in v.box(run).locator(":scope > .hdr").text_content()
    # no arrow from a repetition into the next one: the run is drawn once
    assert ("stage2.1/add", "stage2.1.conv1") not in v.page.eval_on_selector_all(
        "#canvas path.edge", "els => els.map(e => [e.dataset.src, e.dataset.dst])")
    assert ("stage2.0.bn2", "stage2.1/add") in v.skip_edges("identity")
    # as in the figures, a skip from the last repetition leaves from the first
    assert ("stage1.0.bn2", "stage2.0.shortcut") in v.skip_edges("projection")
    v.toggle(run)  # its title bar folds it into one box
    assert v.expanded(run) == "false" and v.box("stage2.1.conv1").count() == 0
    v.toggle(run)  # and a click unfolds every repetition
    assert all(v.box(f"stage2.{k}").count() == 1 for k in range(1, 5))
    v.check_clean()

    v = open_view(a, "seed-depth1", DrawOptions(depth=1, style="paper", fold=False))
    assert [p for p in v.paths() if p.startswith("stage")] == ["stage1", "stage2", "stage3", "stage4"]
    assert v.expanded("stage1") == "false"
    v.check_clean()


def test_cli_writes_the_fitted_page(tmp_path: Path) -> None:
    model = tmp_path / "seed.onnx"
    onnx.save(seed_resnet_onnx(), model)
    a = mm.analyze(str(model))
    column, page = (fit_drawing(a, o).options for o in (DrawOptions(fit="column"), DrawOptions(style="paper")))
    for args, initial, paper in (
        (["--fit", "column"], {"depth": column.depth, "fold": column.fold, "page": "3.35 x 9 in"}, False),
        (["--style", "paper"], {"depth": page.depth, "fold": page.fold, "page": "7 x 9 in"}, True),
        (["--style", "paper", "--depth", "1", "--no-fold"], {"depth": 1, "fold": False, "page": None}, True),
        (["--style", "paper", "--depth", "1"], {"depth": 1, "fold": page.fold, "page": "7 x 9 in"}, True),
        (["--depth", "1", "--no-fold"], {"depth": 1, "fold": False, "page": None}, False),
        ([], {"depth": None, "fold": True, "page": None}, False),
    ):
        out = tmp_path / "seed.html"
        r = cli("draw", str(model), "-o", str(out), *args)
        assert r.returncode == 0, r.stderr
        data = _data(out.read_text(encoding="utf-8"))
        assert data["initial"] == initial and (data["paper"] is not None) == paper and data["options"]["paper"] == paper


# ------------------------------------------------------------------ a transformer


@pytest.fixture(scope="module")
def gpt2(fixture_cache):
    pytest.importorskip("transformers")
    return fixture_cache.analysis("zoo", "gpt2")


@pytest.mark.torch
def test_gpt2_paper_view_is_the_fitted_figure(open_view, gpt2) -> None:  # noqa: F811
    """GPT-2 fits the page with every layer and its blocks folded: the first block drawn,
    titled x 2, its attention and MLP open, no plumbing box, each text as in the paper SVG."""
    options = DrawOptions(style="paper")
    assert fit_drawing(gpt2, options).options.depth is None
    v = open_view(gpt2, "gpt2-paper", options)
    v.shot("0-open")
    assert _drawn(v) == _figure(gpt2, options)
    run = f"h.0 {ELL} h.1"
    assert v.expanded(run) == "true" and v.box(run).get_attribute("data-opened") == "true"
    assert [v.expanded(m) for m in ("h.0.attn", "h.0.mlp")] == ["true", "true"]
    assert v.box("h.0.attn.c_attn").count() == 1 and v.box("h.1.ln_1").count() == 0
    kinds = v.page.eval_on_selector_all("#canvas [data-kind]", "els => els.map(e => e.dataset.kind)")
    assert not {"reshape", "dropout", "identity", "shape"} & set(kinds)
    assert {("add", "h.0/add"), ("h.0/add", "h.0/add_1")} <= set(v.skip_edges("identity"))
    _assert_paper_look(v)
    _exported(v)
    assert v.download("export-png").startswith(b"\x89PNG\r\n\x1a\n")
    v.find("h.0.mlp.c_fc")  # search still finds a layer and shows it
    assert v.in_view("h.0.mlp.c_fc")
    v.check_clean()


@pytest.mark.torch
def test_gpt2_fit_in_the_detailed_style(open_view, gpt2) -> None:  # noqa: F811
    """``--fit 7x9`` without the paper style: the fitter's depth (2) and folding, the detailed look."""
    options = DrawOptions(fit="7x9")
    chosen = fit_drawing(gpt2, options).options
    assert (chosen.depth, chosen.fold) == (2, True)
    v = open_view(gpt2, "gpt2-fit-7x9", options)
    v.shot("0-open")
    run = f"h.0 {ELL} h.1"
    assert v.expanded(run) == "true" and [v.expanded(m) for m in ("h.0.attn", "h.0.mlp")] == ["false", "false"]
    assert "the first drawn for" in v.box(run).locator(":scope > .hdr").text_content()
    edges = v.page.eval_on_selector_all("#canvas path.edge", "els => els.map(e => [e.dataset.src, e.dataset.dst])")
    assert ["add", "drop"] in edges and ["drop", "h.0.ln_1"] in edges  # the Dropout on the data path, as drawn
    v.check_clean()

    data = _data(generate_html(gpt2))  # and without options, as before
    assert data["initial"] == {"depth": None, "fold": True, "page": None}
    v = open_view(gpt2, "gpt2-default")
    assert v.paths() == ["input_ids", "reshape", "wte", "wpe", "drop", "add", run, "ln_f", "reshape_1", "output"]
    assert v.expanded(run) == "false"
    v.check_clean()


def test_hostile_paper_view_is_inert(open_view) -> None:  # noqa: F811
    a = seed_analysis("hostile")
    v = open_view(a, "hostile-paper", DrawOptions(style="paper"))
    assert v.page.evaluate("document.scripts.length") == 3
    assert v.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    v.check_clean()


@pytest.mark.torch
@pytest.mark.parametrize("name", ["t5", "albert"])
def test_paper_view_of_blocks_the_figures_fold_apart(open_view, fixture_cache, name: str) -> None:  # noqa: F811
    """T5's first block (it computes the attention bias) stands apart from the rest; ALBERT's
    one layer applied twice with the same weights is drawn once, "x 2, shared weights"."""
    pytest.importorskip("transformers")
    a = fixture_cache.analysis("zoo", name)
    options = DrawOptions(style="paper")
    v = open_view(a, f"{name}-paper", options)
    v.shot("0-open")
    boxes, frames = _drawn(v)
    assert (boxes, frames) == _figure(a, options)
    if name == "albert":
        assert any("shared weights" in f for f in frames) and not [p for p in v.paths() if "#2" in p]
    else:
        assert sum("T5Block" in b for b in boxes) == 4 and not any("T5Block \u00d7" in b for b in boxes)
    v.check_clean()
