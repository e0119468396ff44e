"""The HTML view's first drawing: the figure the other formats draw for a page.

:mod:`.html` writes the page; this module gives it what makes its first view the figure
of the DOT, SVG, PDF and PNG exporters: the depth and folding :func:`._fit.fit_drawing`
chooses (:func:`first_view`), the arrows of that figure (op-less layers placed, the paper
style's plumbing passed through: :func:`figure_graph`), and in the paper style each box's
and frame's text as the paper figure has it (:func:`paper_figure`). Node indices are those
of :class:`.html.Source` (the module tree in pre-order).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from modelmap.core.kinds import LayerKind

from ._options import NO_FIT, DrawOptions
from ._view import View, ViewNode, build_view, cluster_label, merge_symbol, node_label

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

    from .html import Source


def first_view(analysis: Analysis, options: DrawOptions) -> dict[str, Any]:
    """The depth and folding the page opens at (the data's ``initial``).

    When ``options`` ask for a page (``fit``, or the paper style's 7 x 9 in), the figure the
    other formats draw: :func:`._fit.fit_drawing`'s choice, ``depth`` the module depth drawn
    (the model's deepest for every layer), ``page`` the page (the details panel names it). Else
    ``options``' own depth (``None``: the top-level modules) and folding, as the page always opened.
    """
    from ._fit import fit_drawing, fit_page

    page = fit_page(options)
    if page is None:
        return {"depth": options.depth, "fold": options.fold is not False, "page": None}
    chosen = fit_drawing(analysis, options, budget=False, titles=False).options
    depth = analysis.view_depth(chosen.depth)
    every = max(analysis.max_depth, 1)
    # the paper style's default page yields to a depth and folding both given (as in fit_drawing)
    fitted = options.fit is not None or options.depth is None or options.fold is None
    return {"depth": every if depth is None else min(depth, every), "fold": chosen.fold is not False,
            "page": str(page) if fitted else None}


def figure_graph(analysis: Analysis, source: Source, options: DrawOptions, once: bool = False) -> tuple[View, set[int]]:
    """Give ``source`` the arrows of the figure of every layer in ``options``' style; returns
    that figure and the layers it has no box for (``hidden``).

    The figures put an op-less layer (an eval-mode Dropout) on the data path where it was
    called (:func:`._paper.place_opless`); the paper style also draws no box for plumbing
    layers and absorbed activations: arrows pass through them, and a skip forking or merging
    at one starts or ends at the nearest layer drawn. ``once``: a module applied N times with
    the same weights (ALBERT) is drawn as its first call (see :func:`_first_calls`).
    """
    full = build_view(analysis, replace(options, fit=NO_FIT, fold=False, depth=max(analysis.max_depth, 1)))
    at = source.index
    where = {n.id: at.get(tuple(n.path)) for n in full.nodes}
    shown = set(where.values())
    hidden = {i for i, n in enumerate(source.nodes) if i and n.kind is not LayerKind.MODULE and i not in shown}
    source.skips = _paper_skips(source, hidden)
    source.edges = [(where[e.src], where[e.dst]) for e in full.edges
                    if where.get(e.src) is not None and where.get(e.dst) is not None]
    if once:
        hidden |= _first_calls(analysis, source)
    return full, hidden


def _first_calls(analysis: Analysis, source: Source) -> set[int]:
    """Draw each shared block's later calls as its first, as the folded figures do: arrows
    from a later call leave from the same layer of the first, arrows into one reach it, arrows
    between calls go, and skips merging in a later call are not drawn. Returns the later
    calls' layers (no box)."""
    alias: dict[int, int] = {}
    for b in analysis.blocks:
        first = b.units[0]
        for unit in b.units[1:] if b.shared else ():
            for name, to in zip(unit, first, strict=False) if len(unit) == len(first) else ():
                i, j = (source.index.get(tuple(analysis.layer(x).path)) for x in (name, to))
                if i is not None and j is not None:
                    alias[i] = j
    if not alias:
        return set()
    firsts = set(alias.values())
    edges = []
    for u, v in source.edges:
        if u in alias and v not in alias and v not in firsts:
            edges.append((alias[u], v))
        elif v in alias and u not in alias and u not in firsts:
            edges.append((u, alias[v]))
        elif u not in alias and v not in alias:
            edges.append((u, v))
    source.edges = list(dict.fromkeys(edges))
    source.skips = [(k, alias.get(f, f), m, tuple(alias.get(x, x) for x in sc), body)
                    for k, f, m, sc, body in source.skips if m not in alias]
    return set(alias)


def paper_figure(analysis: Analysis, source: Source, options: DrawOptions, initial: dict[str, Any]) -> dict[str, Any]:
    """The paper style's boxes, as the paper SVG draws them (:func:`._view.build_view`).

    ``source`` takes the paper figure's arrows (:func:`figure_graph`); ``hidden`` are the
    layers without a box; ``title`` the figure's caption ("" for a generic graph name). The page's texts are by node: ``labels`` (a box), ``titles`` (a
    module's frame), ``folds`` and ``runs`` (a run of repeated blocks folded into one box,
    or drawn as its first repetition; by the run's first node). A layer's come from the
    figure of every layer, a module's from the figure at its depth (down to the first
    view's depth: the page labels a deeper module itself), and the first view's
    (``initial``) from that very figure.
    """
    base = replace(options, style="paper", fit=NO_FIT, fold=False)
    deepest = max(analysis.max_depth, 1)
    full, hidden = figure_graph(analysis, source, base, once=initial["fold"])
    at = source.index
    shared = {tuple(b.parent) + (b.members[0],) for b in analysis.blocks if b.shared}  # one box or frame, x N
    texts: dict[str, dict[str, str]] = {"labels": {}, "titles": {}, "folds": {}, "runs": {}}
    _paper_texts(full, at, options, texts, lambda n: n.kind is not LayerKind.MODULE, shared)
    for depth in range(1, min(deepest, initial["depth"] or 1, _MAX_LABEL_DEPTHS) + 1):
        view = build_view(analysis, replace(base, depth=depth))
        _paper_texts(view, at, options, texts, lambda n, d=depth: len(n.path) == d, shared)
    if initial["depth"] is not None:
        chosen = build_view(analysis, replace(base, depth=initial["depth"], fold=initial["fold"]))
        _paper_texts(chosen, at, options, texts, lambda n: True, shared)
    return {"hidden": sorted(hidden), "title": full.title, **texts}


#: The deepest module depth whose paper labels are computed.
_MAX_LABEL_DEPTHS = 12


def _paper_texts(view: View, at: dict[tuple[str, ...], int], options: DrawOptions,
                 texts: dict[str, dict[str, str]], wanted: Any, shared: set[tuple[str, ...]]) -> None:
    """The label of each box of ``view`` that ``wanted(node)``, and the title of each frame
    (a ``shared`` module's, marked x N, is its own box's or frame's: the page has no run of it)."""
    for n in view.nodes:
        i = at.get(tuple(n.path))
        if i is not None and wanted(n):
            texts["folds" if n.repeat > 1 and n.path not in shared else "labels"][str(i)] = _box_text(n, options)
    for c in view.clusters():
        i = at.get(tuple(c.key))
        if i is not None:
            table = "runs" if c.repeat > 1 and c.key not in shared else "titles"
            texts[table][str(i)] = cluster_label(c, show_names=False)


def _box_text(node: ViewNode, options: DrawOptions) -> str:
    """A box's paper label; a merge glyph (``+``, ``×``) is its symbol alone (drawn in a circle)."""
    symbol = merge_symbol(node)
    if symbol in ("+", "\u00d7") and node.repeat == 1:
        return symbol
    return node_label(node, options, show_names=False)


def _paper_skips(source: Source, hidden: set[int]) -> list[tuple[str, int, int, tuple[int, ...], tuple[int, ...]]]:
    """``source``'s skips with their ends moved off hidden layers: a fork to the nearest drawn
    layer before it, a merge to the nearest after it (dropped if there is none)."""
    if not hidden:
        return source.skips
    succ: dict[int, list[int]] = {}
    pred: dict[int, list[int]] = {}
    for u, v in source.edges:
        succ.setdefault(u, []).append(v)
        pred.setdefault(v, []).append(u)

    def nearest(i: int, adj: dict[int, list[int]], pick: Any) -> int | None:
        seen, todo, found = {i}, [i], []
        while todo:
            for j in adj.get(todo.pop(), ()):
                if j not in seen:
                    seen.add(j)
                    (todo if j in hidden else found).append(j)
        return pick(found) if found else None

    out = []
    for kind, fork, merge, shortcut, body in source.skips:
        f = nearest(fork, pred, max) if fork in hidden else fork
        m = nearest(merge, succ, min) if merge in hidden else merge
        if f is not None and m is not None and f != m:
            out.append((kind, f, m, tuple(x for x in shortcut if x not in hidden and x != f),
                        tuple(x for x in body if x not in hidden)))
    return out


__all__ = ["figure_graph", "first_view", "paper_figure"]
