"""Figures a researcher would publish (issue 9): they fit the page, they print, they are clean.

Over the transformers zoo (``fixtures/transformers_zoo.py``, all of it), Keras
applications (MobileNetV2, MobileNet, EfficientNetB0, InceptionV3, ``weights=None``), Keras
DenseNet, U-Net and inverted-residual fixtures, and the seed models in both frameworks, each converted once per run through the shared cache (``tests/fixture_cache.py``):

- the default paper figure, ``modelmap draw MODEL -o fig.svg --style paper``, measured in
  the SVG Graphviz writes, keeps every text at 6 pt or more once scaled to a 7 x 9 in
  text area, without a warning, and no arrow runs through a cluster's title; the Keras
  models (flat: one level of layers) fit through the stages and blocks
  ``core/inferred.py`` gives them;
- no box floats, no box is plumbing, no two boxes of one cluster share a label
  (``tests/figure_checks.py``), in both styles, as drawn by default and with every layer.

Then the fitting itself (:mod:`modelmap.exporters._fit`) on small real models: the
bound that lets it skip Graphviz never rules out a candidate that fits; it takes the
first candidate that fits, from most detail to least; a depth or folding the user gives
is kept; DOT, SVG, PDF and PNG draw the same figure; the CLI warns once. Print quality:
PDFs embed their fonts, PNGs follow ``dpi``. Keras ResNet50 and DenseNet121 are left
out: they are ``heavy`` conversions (tests/conftest.py) and MobileNetV2 has the same
kind of figure (a flat Keras functional model of ~150 layers).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from modelmap._cli import cli
from modelmap.exporters import DrawingWarning, DrawOptions, generate
from modelmap.exporters._fit import READABLE_BOXES, Page, fit_drawing, fit_page, measure_svg, text_bound
from modelmap.exporters._view import build_view
from tests.conftest import skip_or_fail_without

from .figure_checks import duplicate_labels, floating_boxes, plumbing_boxes, title_crossings
from .test_export_formats import _flat_chain, _transformer
from .test_export_models import analyze

ROOT = Path(__file__).resolve().parents[1]
PAGE = Page(7.0, 9.0)
SEEDS = ["seed_resnet", "seed_plain", "small_cnn", "mlp", "convnet"]
#: Keras models are flat: they fit through the modules core/inferred.py gives them
KERAS = ["seed_resnet", "seed_plain", "small_cnn", "mlp", "mobilenet_v2", "mobilenet", "efficientnet_b0", "inception_v3",
         "inverted_residual", "densenet", "unet"]  # fmt: skip


def _zoo_names() -> list[str]:
    try:
        import transformers  # noqa: F401

        from fixtures import transformers_zoo
    except ImportError:  # pragma: no cover - the dev extra installs transformers
        return []
    return list(transformers_zoo.FACTORIES)


MODELS = (
    [pytest.param("zoo", n, id=f"zoo-{n}", marks=pytest.mark.torch) for n in _zoo_names()]
    + [pytest.param("torch", n, id=f"torch-{n}", marks=pytest.mark.torch) for n in SEEDS]
    + [pytest.param("keras", n, id=f"keras-{n}", marks=pytest.mark.keras) for n in KERAS]
)


@pytest.fixture(scope="module")
def analysed(fixture_cache: Any) -> Any:
    """``analysed(framework, name)``: the shared conversion's analysis, once per module."""
    cache: dict[tuple[str, str], Any] = {}

    def get(framework: str, name: str) -> Any:
        if (framework, name) not in cache:
            pytest.importorskip("torch" if framework != "keras" else "keras")
            cache[(framework, name)] = fixture_cache.analysis(framework, name)
        return cache[(framework, name)]

    return get


def draw_quietly(analysis: Any, fmt: str, options: DrawOptions) -> tuple[Any, list[str]]:
    """The exporter's output and the DrawingWarnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DrawingWarning)
        out = generate(analysis, fmt, options)
    return out, [str(w.message) for w in caught if issubclass(w.category, DrawingWarning)]


# ----------------------------------------------------------------------------- every model


@pytest.mark.parametrize(("framework", "name"), MODELS)
def test_the_default_paper_figure_fits_a_page(analysed: Any, framework: str, name: str) -> None:
    """Every zoo, PyTorch seed and Keras figure fits 7 x 9 in at 6 pt or more, flat Keras
    models through their inferred modules (``core/inferred.py``), without a warning; and no
    arrow runs through a cluster's title (measured in the SVG)."""
    a = analysed(framework, name)
    svg, said = draw_quietly(a, "svg", DrawOptions(style="paper"))
    size = measure_svg(svg)
    misfits = [m for m in said if "drew the closest" in m]
    assert size.smallest_text(PAGE) >= 6.0 and misfits == [], (size.describe(PAGE), said)
    assert title_crossings(svg) == []


@pytest.mark.parametrize(("framework", "name"), MODELS)
def test_no_floating_plumbing_or_twice_labelled_box(analysed: Any, framework: str, name: str) -> None:
    a = analysed(framework, name)
    for style in ("detailed", "paper"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DrawingWarning)  # a misfit is the other test's business
            drawn = fit_drawing(a, DrawOptions(style=style)).options  # the depth and folding drawn by default
        for options in {drawn, DrawOptions(style=style, fit="none")}:  # and every layer
            assert floating_boxes(a, options) == [], options
            assert duplicate_labels(a, options) == [], options
            if style == "paper":
                assert plumbing_boxes(a, options) == [], options


# ----------------------------------------------------------------------------- how it fits


@pytest.mark.torch
@pytest.mark.parametrize("name", ["seed_resnet", "convnet"])
def test_the_bound_never_rules_out_a_figure_that_fits(analysed: Any, name: str) -> None:
    """Graphviz is skipped for a candidate whose bound is under 6 pt: the bound must be an
    upper bound of what Graphviz then measures, for every candidate."""
    a = analysed("torch", name)
    for depth in [None, *range(a.max_depth - 1, 0, -1)]:
        for fold in (False, True):
            options = DrawOptions(style="paper", depth=depth, fold=fold, fit="none")
            measured = measure_svg(generate(a, "svg", options)).smallest_text(PAGE)
            assert text_bound(build_view(a, options), options, PAGE) >= measured, options


@pytest.mark.torch
def test_the_first_candidate_that_fits_is_drawn_from_most_detail_to_least(analysed: Any) -> None:
    a = analysed("torch", "seed_resnet")
    chosen = fit_drawing(a, DrawOptions(style="paper")).options
    order = [(d, f) for d in [None, *range(a.max_depth - 1, 0, -1)] for f in (True, False)]
    position = order.index((chosen.depth, chosen.fold))
    assert position > 0  # every layer of the seed ResNet is too tall for a page
    for depth, fold in order[: position + 1]:
        svg = generate(a, "svg", DrawOptions(style="paper", depth=depth, fold=fold, fit="none"))
        fits = measure_svg(svg).smallest_text(PAGE) >= 6.0
        assert fits == ((depth, fold) == (chosen.depth, chosen.fold)), (depth, fold)
    # a column is narrower: never more detail than the page
    column = fit_drawing(a, DrawOptions(style="paper", fit="column")).options
    assert order.index((column.depth, column.fold)) >= position


@pytest.mark.torch
def test_a_depth_or_folding_given_is_kept_and_a_misfit_said_once(analysed: Any) -> None:
    a = analysed("torch", "seed_resnet")
    given = DrawOptions(style="paper", depth=2, fold=False, fit="page")
    svg, said = draw_quietly(a, "svg", given)
    assert measure_svg(svg).smallest_text(PAGE) < 6.0
    assert draw_quietly(a, "dot", given)[0] == draw_quietly(a, "dot", replace(given, fit="none"))[0]
    assert len(said) == 1 and "depth 2, unfolded, does not fit 7 x 9 in" in said[0], said
    # the paper style's page yields to a depth and folding both given: no search, no warning
    svg, said = draw_quietly(a, "svg", DrawOptions(style="paper", depth=2, fold=False))
    assert said == [] and measure_svg(svg).smallest_text(PAGE) < 6.0
    # fold free: it folds to fit
    chosen = fit_drawing(a, DrawOptions(style="paper", depth=2, fit="5x12")).options
    assert (chosen.depth, chosen.fold) == (2, True)


@pytest.mark.torch
def test_dot_svg_pdf_and_png_draw_the_same_fitted_figure(analysed: Any) -> None:
    a = analysed("torch", "seed_resnet")
    options = DrawOptions(style="paper", dpi=300)
    dot = generate(a, "dot", options)
    assert dot == fit_drawing(a, options).dot
    svg = generate(a, "svg", options)
    redrawn = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True).stdout.decode()
    assert measure_svg(svg) == measure_svg(redrawn)
    size = measure_svg(svg)
    png = generate(a, "png", options)
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert abs(width - size.width_pt / 72 * 300) <= 4 and abs(height - size.height_pt / 72 * 300) <= 4
    small = generate(a, "png", replace(options, dpi=72))
    assert int.from_bytes(small[16:20], "big") < width / 3


@pytest.mark.torch
def test_pdf_is_vector_with_its_fonts_embedded(analysed: Any, tmp_path: Path) -> None:
    skip_or_fail_without(shutil.which("pdffonts") is not None, "pdffonts (poppler-utils) not installed")
    pdf = tmp_path / "fig.pdf"
    pdf.write_bytes(generate(analysed("torch", "seed_resnet"), "pdf", DrawOptions(style="paper")))
    rows = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert rows, "no font in the PDF"
    for row in rows:
        assert re.search(r"\byes\s+yes\s+(yes|no)\s+\d+\s+\d+\s*$", row), row  # emb, sub
    assert any("Serif" in row or "Times" in row or "Roman" in row for row in rows), rows  # the paper style's serif
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=False).stdout
    assert len(images.splitlines()) <= 2  # no raster image: header lines only


def test_the_detailed_style_draws_a_big_model_at_a_readable_depth() -> None:
    a = analyze(_transformer(48))
    everything = build_view(a, DrawOptions(fold=False, fit="none"))
    assert len(everything.nodes) > READABLE_BOXES
    chosen = fit_drawing(a, DrawOptions(fold=False)).options
    assert chosen.depth is not None and len(build_view(a, chosen).nodes) <= READABLE_BOXES
    assert fit_page(DrawOptions()) is None  # the detailed style is not fitted to a page unless asked


def test_the_cli_fits_the_page_and_warns_once_when_nothing_fits(tmp_path: Path) -> None:
    import onnx

    chain = tmp_path / "chain.onnx"
    onnx.save(_flat_chain(120), chain)  # nothing to fold or collapse: too tall for any page
    out = tmp_path / "fig.pdf"
    r = CliRunner().invoke(cli, ["draw", str(chain), "-o", str(out), "--style", "paper"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("modelmap: warning:")]
    assert len(lines) == 1 and "no depth or folding fits 7 x 9 in" in lines[0], r.stderr
    assert re.search(r"smallest text \d+\.\d pt at 7 x 9 in", lines[0])
    assert out.read_bytes().startswith(b"%PDF")
    r = CliRunner().invoke(cli, ["draw", str(chain), "-o", str(tmp_path / "b.svg"), "--fit", "7y9"])
    assert r.exit_code == 2 and r.stderr.startswith("modelmap: error: fit must be") and not (tmp_path / "b.svg").exists()
    r = CliRunner().invoke(cli, ["draw", str(chain), "-o", str(tmp_path / "c.png"), "--fit", "none", "--dpi", "72"])
    assert r.exit_code == 0 and "warning" not in r.stderr


def test_dot_text_without_graphviz_is_fitted_by_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    a = analyze(_transformer(24))
    with_graphviz = fit_drawing(a, DrawOptions(style="paper")).options
    monkeypatch.setenv("PATH", "")
    text, said = draw_quietly(a, "dot", DrawOptions(style="paper"))
    by_bound = fit_drawing(a, DrawOptions(style="paper"), measure=False)
    assert text == by_bound.dot and said == []
    # the bound is an upper bound: without Graphviz the figure has at least the detail measured with it
    order = [(d, f) for d in [None, *range(a.max_depth - 1, 0, -1)] for f in (True, False)]
    assert order.index((by_bound.options.depth, by_bound.options.fold)) <= order.index((with_graphviz.depth, with_graphviz.fold))
