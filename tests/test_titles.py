"""Cluster titles clear of arrows (issue 9, "edges don't cross titles"), on real Graphviz layouts.

:mod:`modelmap.exporters._titles` reads the SVG Graphviz writes, and moves or widens the
titles an arrow runs through. Its two assumptions are checked against Graphviz itself:
the font metrics give a title's width (SVG does not say it), and a title at another corner
of its cluster sits where the drawn one, mirrored, would. Then the fix on a real figure
(GPT-2's paper figure had its ``attn`` title crossed; every zoo, seed and Keras paper figure
is checked in tests/test_figures.py), and hostile text in the widened title's HTML label.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelmap.exporters import DrawOptions, generate
from modelmap.exporters import _titles
from modelmap.exporters._style import LOOKS
from modelmap.exporters._titles import PLACES, read_layout, text_width
from modelmap.exporters.dot import _wide_title, _wrapped_title
from modelmap.exporters.render import run_dot

from .conftest import skip_or_fail_without
from .figure_checks import title_crossings

TITLE = "attention · DebertaV2Attention (× 2 WWW)"


@pytest.fixture(autouse=True)
def _graphviz() -> None:
    import shutil

    skip_or_fail_without(shutil.which("dot") is not None, "Graphviz's dot is not installed")


def _cluster_svg(label: str, place: str, font: str = "Times") -> str:
    """A cluster titled ``label`` at ``place`` around a box much wider than the title, an arrow
    into it from above."""
    return run_dot(
        f'digraph g {{ graph [fontname="{font}", fontsize=9]; node [fontname="{font}", shape=box];\n'
        f'a; subgraph cluster_c0 {{ label={label}; labelloc={place[0]}; labeljust={place[1]};\n'
        f'b [label="{"m" * 80}"]; }} a -> b; }}',
        "svg",
    ).decode()


@pytest.mark.parametrize("font", ["Times", "Helvetica"])
def test_the_metrics_give_the_width_graphviz_draws(font: str) -> None:
    """Right-justified, a title's text starts where the cluster's right side minus the
    label margin minus its width is: the same margin as on the left within 1 pt, so the
    width from the metrics is Graphviz's (and the renderer's) within 1 pt."""
    left = read_layout(_cluster_svg(f'"{TITLE}"', "tl", font))[0]["c0"]
    right = read_layout(_cluster_svg(f'"{TITLE}"', "tr", font))[0]["c0"]
    margin = left.x0 - left.left
    assert margin > 0
    assert abs((right.right - right.x1) - margin) <= 1.0, (font, right, margin)
    assert text_width(TITLE, font, 9) > 100  # not a trivial width


LABELS = {  # how a title is written at a side: as it is, wrapped onto two lines, widened
    "plain": lambda side: f'"{TITLE}"',
    "wrapped": lambda side: _wrapped_title(TITLE, side),
    "widened": lambda side: _wide_title(TITLE, side, LOOKS["paper"]),
}


@pytest.mark.parametrize("kind", LABELS)
@pytest.mark.parametrize("place", PLACES)
def test_a_title_elsewhere_is_the_drawn_one_mirrored(place: str, kind: str) -> None:
    """From the title drawn top left, the box predicted at each corner is where Graphviz
    draws it there: within 1 pt for a plain title, 2 pt for a wrapped one and 5 pt for a
    widened one (HTML-like labels, which Graphviz sizes a little differently). A prediction
    only picks the corner: the figure is laid out again and measured there."""
    label = LABELS[kind]
    drawn = read_layout(_cluster_svg(label("l"), "tl"))[0]["c0"]
    there = read_layout(_cluster_svg(label(place[1]), place))[0]["c0"]
    assert there.place == place
    if kind == "wrapped":  # two lines, each narrower than the title on one
        assert drawn.y1 - drawn.y0 > 15 and drawn.x1 - drawn.x0 < 0.8 * text_width(TITLE, "Times", 9)
    predicted, actual = drawn.box(place), there.box(place)
    tolerance = {"plain": 1.0, "wrapped": 2.0, "widened": 5.0}[kind]
    assert all(abs(p - q) <= tolerance for p, q in zip(predicted, actual, strict=True)), (place, predicted, actual)


def test_the_arrow_into_a_narrow_cluster_is_found_and_the_title_cleared() -> None:
    """An arrow into a cluster narrower than twice its title runs through the title drawn
    top left; :func:`clear_titles` moves or widens it until no arrow does, and the test's
    own checker agrees."""
    narrow = lambda places: run_dot(  # noqa: E731 - the render callback
        'digraph g { graph [fontname="Times", fontsize=9]; node [fontname="Times", shape=box]; a;\n'
        f'subgraph cluster_c0 {{ label={_label(places)}; labelloc={places.get("c0", "tl")[0]}; '
        f'labeljust={places.get("c0", "tl")[1]}; b; c; b -> c; }} a -> b; d; a -> d; d -> c; }}',
        "svg",
    ).decode()
    first = narrow({})
    assert _titles.crossed_titles(first) == {"c0"} and title_crossings(first)
    places, svg = _titles.clear_titles(first, narrow)
    assert "c0" in places and _titles.crossed_titles(svg, places) == set() and title_crossings(svg) == []


def _label(places: dict[str, str]) -> str:
    place = places.get("c0", "tl")
    title = "a_rather_long_title · OfTheCluster"
    return _wide_title(title, place[1], LOOKS["paper"]) if place.endswith("w") else f'"{title}"'


def test_hostile_text_in_a_widened_title_is_text() -> None:
    """The widened title is an HTML-like label: markup in a name stays text."""
    hostile = '</td></tr></table>><b>&amp; "x" \' <script>'
    svg = _cluster_svg(_wide_title(hostile, "r", LOOKS["paper"]), "tr")
    texts = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]
    assert any("&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&gt;&lt;b&gt;&amp;amp;" in t for t in texts), texts
    assert "<script" not in svg.split("</title>", 1)[1]


@pytest.mark.torch
def test_gpt2s_paper_figure_had_a_crossed_title_and_has_none(fixture_cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Measured on the figure a user gets: without clearing, an arrow runs through the
    ``attn · GPT2Attention`` title; with it none does, and the figure is at most a title
    line taller (the title wrapped onto two lines)."""
    a = fixture_cache.analysis("zoo", "gpt2")
    after = generate(a, "svg", DrawOptions(style="paper"))
    monkeypatch.setattr(_titles, "ROUNDS", 0)
    a._cache.clear()
    before = generate(a, "svg", DrawOptions(style="paper"))
    assert any(t.startswith("attn") for t, _ in title_crossings(before)), title_crossings(before)
    assert title_crossings(after) == []
    height = lambda svg: float(re.search(r'<svg[^>]*height="([\d.]+)pt"', svg).group(1))  # noqa: E731
    assert height(before) <= height(after) <= height(before) + 12
