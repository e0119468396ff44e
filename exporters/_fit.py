"""Fitting a diagram to a page: the depth and folding that keep every text readable.

A page is a text area in inches (``fit="page"``: 7 x 9, ``"column"``: 3.35 x 9,
``"WxH"``). A figure of ``width`` x ``height`` placed on it is scaled by

    s = min(W / width, H / height, 1)

(shrunk to fit, never enlarged: a figure smaller than the page keeps its own size),
and its smallest text is then ``min(font-size) x s``. The figure *fits* when that
is at least :data:`MIN_TEXT_PT` (6 pt).

:func:`fit_drawing` measures rather than guesses. It walks the candidates from most
detail to least (every layer, then depth ``max_depth - 1`` down to 1; at each depth
folded, then unfolded: a block drawn once, marked ``x N``, says more than N copies
of it in the same space), renders each with Graphviz's ``dot -Tsvg`` (which gives the
size in points and every text's font size) and takes the first that fits. The depth
and folding the caller fixed are kept; only the free ones are searched. A candidate
is rendered only if a cheap bound (:func:`text_bound`: node boxes from their label
lines, the longest chain of boxes from input to output, their total area) says it
could fit; when none fits, candidates are rendered in the order of their bounds until
no remaining bound can beat the best measured, which is drawn with one
:class:`~._base.DrawingWarning` giving the sizes. Renderings are cached on the
analysis per candidate, so drawing the same figure as SVG, then PDF, lays it out once
more at most. The candidate drawn has its cluster titles cleared of arrows (:mod:`._titles`:
one to six more layouts when an arrow crosses a title, none otherwise); when widening a
title would make a figure that fits too wide, titles are only moved.

The detailed style without ``fit`` renders nothing extra: it takes the deepest depth
whose view has at most :data:`READABLE_BOXES` boxes (a 20,000-op model is not drawn
layer by layer unless asked).
"""

from __future__ import annotations

import graphlib
import math
import re
import shutil
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from modelmap._limits import GRAPHVIZ_NODES

from ._base import DrawingWarning
from ._options import FIT_PAGES, NO_FIT, DrawOptions
from ._style import LOOKS
from ._titles import clear_titles
from ._view import View, build_view, merge_symbol, node_label
from .dot import view_to_dot

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

#: The deepest module depth tried below "every layer" (a hostile tree 1,000 levels deep would
#: otherwise mean 1,000 views to build)
MAX_DEPTHS = 12

#: Every text of a fitted figure is at least this large once scaled to the page.
MIN_TEXT_PT = 6.0
#: The detailed style's default: the deepest depth whose view has at most this many boxes.
READABLE_BOXES = 150
#: The page of the paper style when ``fit`` is not given.
PAPER_PAGE = "page"

# Lower bounds of a node box in Graphviz, in points (see _graph in .dot: margin 0.10 x 0.04 in,
# minimum height 0.3 in; Graphviz's default minimum width 0.75 in). A glyph is at least
# CHAR_EM x font size wide (digits and letters of Times and DejaVu are wider), a line
# LINE_EM x font size high (Graphviz spaces lines by 1.2).
_MIN_W, _MIN_H, _PAD_W, _PAD_H = 54.0, 21.6, 14.4, 5.76
CHAR_EM, LINE_EM = 0.3, 1.0
_CIRCLE = 21.6  # merge circles: 0.3 in, fixed size


@dataclass(frozen=True)
class Page:
    """A text area in inches and the smallest text allowed on it, in points."""

    width_in: float
    height_in: float
    min_text_pt: float = MIN_TEXT_PT

    def __str__(self) -> str:
        return f"{self.width_in:g} x {self.height_in:g} in"


@dataclass(frozen=True)
class FigureSize:
    """A figure's size in points and its smallest font size (measured, or a bound)."""

    width_pt: float
    height_pt: float
    min_font_pt: float

    def scale(self, page: Page) -> float:
        """How much the figure is shrunk to fit ``page`` (1: not at all)."""
        if self.width_pt <= 0 or self.height_pt <= 0:
            return 1.0
        return min(page.width_in * 72 / self.width_pt, page.height_in * 72 / self.height_pt, 1.0)

    def smallest_text(self, page: Page) -> float:
        """The smallest text in points once the figure is scaled to ``page``."""
        return self.min_font_pt * self.scale(page)

    def describe(self, page: Page) -> str:
        return (f"{self.width_pt / 72:.1f} x {self.height_pt / 72:.1f} in, smallest text "
                f"{self.smallest_text(page):.1f} pt at {page}")


@dataclass(frozen=True)
class Rendered:
    """One candidate: its DOT text, and its SVG with the size measured when Graphviz ran."""

    options: DrawOptions
    dot: str
    svg: str | None = None
    size: FigureSize | None = None
    graphviz_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit_drawing` chose: the candidate drawn, and the warning to give (or None)."""

    chosen: Rendered
    warning: str | None = None

    @property
    def dot(self) -> str:
        return self.chosen.dot

    @property
    def options(self) -> DrawOptions:
        return self.chosen.options


def fit_page(options: DrawOptions) -> Page | None:
    """The page ``options`` must fit: ``fit``'s, the paper style's default, or None."""
    if options.fit is None and options.style == "paper":
        width, height = FIT_PAGES[PAPER_PAGE]
        return Page(width, height)
    area = options.page
    return Page(*area) if area is not None else None


def fit_drawing(
    analysis: Analysis, options: DrawOptions, measure: bool = True, budget: bool = True, titles: bool = True
) -> Fitted:
    """The candidate drawn for ``options`` (see the module docstring); warns when it does not fit.

    ``measure`` False (or no Graphviz on PATH) chooses by the bounds alone. ``budget``: the
    figure goes to Graphviz, so a view over its box budget is collapsed or refused
    (:func:`~.render.graphviz_dot`); the DOT exporter's text is no Graphviz run. ``titles``
    False: only the depth and folding are wanted (Mermaid, the HTML view), so the chosen
    figure's titles are not cleared of arrows.
    """
    page = fit_page(options)
    fixed_depth = analysis.view_depth(options.depth)
    if fixed_depth is not None or options.fit == NO_FIT:
        depths: list[int | None] = [fixed_depth]
    else:
        depths = [None, *range(min(analysis.max_depth - 1, MAX_DEPTHS), 0, -1)]
    if page is not None and options.fit is None and len(depths) == 1 and options.fold is not None:
        page = None  # the paper style's default page yields to a depth and folding both given
    measure = measure and shutil.which("dot") is not None
    if page is None:
        fitted = Fitted(_readable(analysis, options, depths, budget))
    else:
        folds: list[bool | None] = [options.fold] if options.fold is not None else [True, False]
        fitted = _fit(analysis, options, page, depths, folds, measure)
    if measure and titles and page is None:  # a fitted figure's titles are cleared as it is chosen
        fitted = Fitted(_clear_titles(analysis, fitted.chosen), fitted.warning)
    if fitted.warning:
        warnings.warn(fitted.warning, DrawingWarning, stacklevel=3)
    return fitted


def _readable(analysis: Analysis, options: DrawOptions, depths: list[int | None], budget: bool = True) -> Rendered:
    """The deepest depth whose view has at most READABLE_BOXES boxes (the last one if none has)."""
    for depth in depths:
        cand = replace(options, depth=depth, fit=NO_FIT)
        view = build_view(analysis, cand)
        if len(view.nodes) <= READABLE_BOXES or depth == depths[-1]:
            if budget and len(view.nodes) > GRAPHVIZ_NODES.value():  # collapse within Graphviz's budget, or refuse
                from .render import graphviz_dot

                return Rendered(cand, graphviz_dot(analysis, cand))
            return Rendered(cand, view_to_dot(view, cand))
    raise AssertionError("no depth to draw")  # pragma: no cover - depths is never empty


def _fit(
    analysis: Analysis, options: DrawOptions, page: Page, depths: list[int | None], folds: list[bool | None],
    measure: bool,
) -> Fitted:
    """The first candidate that fits ``page`` (its titles cleared of arrows as far as it still
    fits), or the closest one with a warning."""
    pending: list[tuple[float, int, DrawOptions, View]] = []
    best: Rendered | None = None
    for cand in (replace(options, depth=d, fold=f, fit=NO_FIT) for d in depths for f in folds):
        view = build_view(analysis, cand)
        if len(view.nodes) > GRAPHVIZ_NODES.value():  # never laid out: Graphviz's budget
            continue
        bound = text_bound(view, cand, page)
        if bound < page.min_text_pt or not measure:
            pending.append((bound, len(pending), cand, view))
            continue
        done = _render(analysis, cand, view)
        assert done.size is not None
        if done.size.smallest_text(page) >= page.min_text_pt:
            return Fitted(_clear_fitting(analysis, done, page, view))
        best = _better(best, done, page)
    if best is None and not pending:  # every candidate is over Graphviz's budget
        return Fitted(_readable(analysis, options, depths[-1:]))
    if not measure:  # the first whose bound allows a fit, else the one with the best bound
        bound, _, cand, view = next((p for p in pending if p[0] >= page.min_text_pt), max(pending, key=lambda p: p[0]))
        rendered = Rendered(cand, view_to_dot(view, cand))
        if bound >= page.min_text_pt:
            return Fitted(rendered)
        return Fitted(rendered, f"{_what(cand, options)} {page} with text at {page.min_text_pt:g} pt or more "
                                f"(estimated without Graphviz); drew the closest")
    for bound, _, cand, view in sorted(pending, key=lambda p: (-p[0], p[1])):
        if best is not None and best.size is not None and bound <= best.size.smallest_text(page):
            break
        best = _better(best, _render(analysis, cand, view), page)
    assert best is not None and best.size is not None
    cleared = _clear_titles(analysis, best)
    if cleared.size is not None and cleared.size.smallest_text(page) >= best.size.smallest_text(page):
        best = cleared
    return Fitted(best, f"{_what(best.options, options)} {page} with text at {page.min_text_pt:g} pt or more; "
                        f"drew the closest: {best.size.describe(page)}")


def _better(best: Rendered | None, other: Rendered, page: Page) -> Rendered:
    if best is None or best.size is None or other.size is None:
        return other
    return other if other.size.smallest_text(page) > best.size.smallest_text(page) else best


def _what(chosen: DrawOptions, asked: DrawOptions) -> str:
    """The start of the warning: ``no depth or folding fits`` when both were searched, else
    what was drawn, in words."""
    if asked.depth is None and asked.fold is None:
        return "no depth or folding fits"
    depth = "every layer" if chosen.depth is None else f"depth {chosen.depth}"
    return f"the figure at {depth}, {'folded' if chosen.fold else 'unfolded'}, does not fit"


# --------------------------------------------------------------------------- rendering and measuring


def _render(analysis: Analysis, cand: DrawOptions, view: View) -> Rendered:
    """``cand`` laid out by Graphviz as SVG and measured; once per candidate and analysis."""
    key = ("exporters._fit", replace(cand, dpi=None))
    cache = analysis._cache
    done = cache.get(key)
    if done is None:
        dot = view_to_dot(view, cand)
        same = cache.get(("exporters._fit", dot))  # another candidate with the same picture
        if same is None:
            same = cache[("exporters._fit", dot)] = _laid_out(cand, dot)
        done = cache[key] = replace(same, options=cand)
    return done


def _laid_out(cand: DrawOptions, dot: str) -> Rendered:
    """``dot`` laid out by Graphviz as SVG and measured, Graphviz's warnings kept."""
    from .render import run_dot

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DrawingWarning)
        svg = run_dot(dot, "svg").decode("utf-8")
    said = tuple(str(w.message) for w in caught if issubclass(w.category, DrawingWarning))
    return Rendered(cand, dot, svg, measure_svg(svg), said)


def _clear_fitting(analysis: Analysis, done: Rendered, page: Page, view: View) -> Rendered:
    """``done`` (drawn from ``view``), which fits ``page``, with its titles cleared of arrows:
    moved and widened, or if that makes it too wide to fit, only moved (its width kept),
    else as it is."""
    for widen in (True, False):
        cleared = _clear_titles(analysis, done, widen, view)
        if cleared.size is not None and cleared.size.smallest_text(page) >= page.min_text_pt:
            return cleared
    return done


def _clear_titles(analysis: Analysis, chosen: Rendered, widen: bool = True, view: View | None = None) -> Rendered:
    """``chosen`` with its cluster titles clear of arrows (:mod:`._titles`), laid out and
    measured; ``chosen`` itself when no title is crossed. ``view``: the view ``chosen`` was
    drawn from, when the caller has it. A view over Graphviz's budget (the DOT exporter's
    text, never laid out) and a figure without clusters are left as they are."""
    view = view if view is not None else build_view(analysis, chosen.options)
    if not view.root.children or len(view.nodes) > GRAPHVIZ_NODES.value():
        return chosen
    if chosen.svg is None:
        chosen = _render(analysis, chosen.options, view)
    assert chosen.svg is not None
    key = ("exporters._titles", chosen.dot, widen)
    done = analysis._cache.get(key)
    if done is None:
        layouts: dict[str, Rendered] = {}

        def render(places: dict[str, str]) -> str:
            dot = view_to_dot(view, chosen.options, places)
            if dot not in layouts:
                layouts[dot] = _laid_out(chosen.options, dot)
            return layouts[dot].svg or ""

        places, svg = clear_titles(chosen.svg, render, widen)
        done = analysis._cache[key] = next((r for r in layouts.values() if r.svg is svg), chosen) if places else chosen
    return replace(done, options=chosen.options)


_SVG_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px|in)?"[^>]*?\bheight="([\d.]+)(pt|px|in)?"')
_SCALE = re.compile(r'<g\b[^>]*\btransform="scale\(([\d.]+)')
_FONT = re.compile(r'<text\b[^>]*?\bfont-size="([\d.]+)"')
_UNIT = {"pt": 1.0, None: 1.0, "in": 72.0, "px": 0.75}


def measure_svg(svg: str) -> FigureSize:
    """Width and height in points and the smallest font size of a Graphviz SVG.

    >>> measure_svg('<svg width="144pt" height="72pt"><g transform="scale(0.5 0.5)">'
    ...             '<text font-size="14.00">a</text><text font-size="10">b</text></g></svg>')
    FigureSize(width_pt=144.0, height_pt=72.0, min_font_pt=5.0)
    """
    m = _SVG_SIZE.search(svg)
    width, height = (float(m.group(1)) * _UNIT[m.group(2)], float(m.group(3)) * _UNIT[m.group(4)]) if m else (0.0, 0.0)
    s = _SCALE.search(svg)
    fonts = [float(f) for f in _FONT.findall(svg)]
    return FigureSize(width, height, min(fonts) * (float(s.group(1)) if s else 1.0) if fonts else 0.0)


# --------------------------------------------------------------------------- the cheap bound


def text_bound(view: View, options: DrawOptions, page: Page) -> float:
    """An upper bound of the smallest text of ``view`` drawn on ``page``, without Graphviz.

    From lower bounds of the figure: every box is at least as large as its label lines
    (:data:`CHAR_EM`, :data:`LINE_EM`); the boxes of a path from input to output lie in
    successive ranks, ``rank_sep`` apart; the boxes do not overlap. The smallest text
    is at most the node font times the largest scale these allow.
    """
    boxes = _boxes(view, options)
    size = size_bound(view, options, boxes)
    area = sum(w * h for w, h in boxes.values())
    scale = min(size.scale(page), math.sqrt(page.width_in * page.height_in * 72 * 72 / area) if area else 1.0)
    return size.min_font_pt * scale


def size_bound(view: View, options: DrawOptions, boxes: dict[str, tuple[float, float]] | None = None) -> FigureSize:
    """Lower bounds of ``view``'s width and height in points, and its smallest font size
    (the smallest of the fonts certainly drawn: node labels, cluster titles, skip labels).
    ``boxes``: the bounds of the node boxes when already computed."""
    look = LOOKS[options.style]
    boxes = boxes if boxes is not None else _boxes(view, options)
    along = 1 if view.direction == "TB" else 0  # the index of (w, h) along the ranks
    chain = _longest_chain(view, {k: v[along] for k, v in boxes.items()}, look.rank_sep * 72)
    across = max((v[1 - along] for v in boxes.values()), default=0.0)
    title = (look.font_size + 2) * LINE_EM if view.title else 0.0
    width, height = (across, chain + title) if along == 1 else (chain, across + title)
    fonts = [look.font_size]
    if view.root.children or (options.legend and view.skip_kinds):
        fonts.append(look.cluster_font_size)
    if look.edge_labels and any(e.label for e in view.edges):
        fonts.append(look.font_size - 1)
    return FigureSize(width, height, min(fonts))


def _boxes(view: View, options: DrawOptions) -> dict[str, tuple[float, float]]:
    """A lower bound of each node box's (width, height) in points."""
    look = LOOKS[options.style]
    out = {}
    for node in view.nodes:
        if merge_symbol(node) in ("+", "\u00d7") and not node.repeat > 1:
            out[node.id] = (_CIRCLE, _CIRCLE)
            continue
        lines = node_label(node, options, look.show_names).split("\n")
        out[node.id] = (
            max(_MIN_W, CHAR_EM * look.font_size * max(len(line) for line in lines) + _PAD_W),
            max(_MIN_H, LINE_EM * look.font_size * len(lines) + _PAD_H),
        )
    return out


def _longest_chain(view: View, extent: dict[str, float], sep: float) -> float:
    """The longest path through the edges, counting each node's ``extent`` and ``sep`` between
    ranks; the largest single extent if the edges have a cycle."""
    preds: dict[str, set[str]] = {n: set() for n in extent}
    for e in view.edges:
        if e.src in extent and e.dst in extent and e.src != e.dst:
            preds[e.dst].add(e.src)
    try:
        order = list(graphlib.TopologicalSorter(preds).static_order())
    except graphlib.CycleError:
        return max(extent.values(), default=0.0)
    length: dict[str, float] = {}
    for n in order:
        length[n] = extent[n] + max((length[p] + sep for p in preds[n]), default=0.0)
    return max(length.values(), default=0.0)


__all__ = [
    "FigureSize",
    "Fitted",
    "MIN_TEXT_PT",
    "Page",
    "READABLE_BOXES",
    "Rendered",
    "fit_drawing",
    "fit_page",
    "measure_svg",
    "size_bound",
    "text_bound",
]
