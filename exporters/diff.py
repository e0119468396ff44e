"""``draw --diff``: model B drawn with the layers it adds or changes relative to A coloured.

The picture is the exporters' own diagram of B (:mod:`.dot`) whose boxes carry a mark
(:attr:`~._view.ViewNode.mark`, drawn by :data:`._style.MARKS`), plus a legend. Which
layers are marked comes from
:meth:`modelmap.core.compare.Comparison.b_marks`: ``added`` (green, solid border) and
``changed`` (orange, dashed border), so a grayscale print still tells them apart. Layers
of A that B lacks cannot be drawn in B; the legend counts them.

Repeated blocks are not folded unless ``fold=True`` is asked for: folding shows one
repetition for all and would hide which one differs. A box standing for several layers
(a collapsed module, a folded block) is marked when any of them is.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydot

from modelmap._errors import InputError
from modelmap._io import atomic_write

from ._escape import dot_string
from ._options import DrawOptions
from ._style import MARKS
from ._view import View, build_view
from .dot import dot_text, view_to_pydot

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis
    from modelmap.core.compare import Comparison

#: mark -> (fill, border, style) of a node
MARK_LOOK = MARKS
FORMATS = ("dot", "svg", "png", "pdf")


def generate_diff_dot(b: Analysis, comparison: Comparison, options: DrawOptions | None = None) -> str:
    """The DOT text of ``b`` with the marks of ``comparison`` (A compared with B)."""
    options = options or DrawOptions()
    if options.fold is None:
        options = replace(options, fold=False)
    view = build_view(b, options)
    counts = mark_nodes(view, comparison.b_marks())
    g = view_to_pydot(view, options)
    g.add_subgraph(_diff_legend(counts, len(comparison.removed)))
    return dot_text(view, g)


def mark_nodes(view: View, marks: dict[str, str]) -> dict[str, int]:
    """Set each box's ``mark`` from the layers it stands for; how many boxes got each mark.

    A box is ``added`` only when all of its layers are; a collapsed module that holds added
    or changed layers next to unchanged ones is itself ``changed``.
    """
    counts = dict.fromkeys(MARKS, 0)
    for node in view.nodes:
        found = [marks.get(m) for m in (node.members or (node.key,))]
        if any(found):
            node.mark = "added" if all(f == "added" for f in found) else "changed"
            counts[node.mark] += 1
    return counts


def _diff_legend(counts: dict[str, int], removed: int) -> pydot.Cluster:
    legend = pydot.Cluster(
        "modelmap_diff", label=dot_string("compared with A"), style=dot_string("rounded"),
        color=dot_string("#9aa5b1"), fontsize="10",
    )
    for i, mark in enumerate(MARKS):
        fill, border, style = MARKS[mark]
        legend.add_node(pydot.Node(
            f"diff_legend_{i}", label=dot_string(f"{mark} in B ({counts[mark]})"), fillcolor=dot_string(fill),
            color=dot_string(border), penwidth="2.6", style=dot_string(style), shape="box",
        ))
    legend.add_node(pydot.Node(
        "diff_legend_2", label=dot_string(f"{removed} unit(s) of A not in B"), shape="plaintext", style=dot_string("")
    ))
    legend.add_edge(pydot.Edge("diff_legend_0", "diff_legend_1", style="invis"))
    legend.add_edge(pydot.Edge("diff_legend_1", "diff_legend_2", style="invis"))
    return legend


def generate_diff(b: Analysis, comparison: Comparison, fmt: str, options: DrawOptions | None = None) -> str | bytes:
    """The diff picture as ``fmt`` (``dot``, ``svg``, ``png`` or ``pdf``)."""
    fmt = fmt.lower().lstrip(".")
    if fmt == "gv":
        fmt = "dot"
    if fmt not in FORMATS:
        raise InputError(f"draw --diff writes {', '.join(FORMATS)}, not {fmt!r}")
    dot = generate_diff_dot(b, comparison, options)
    if fmt == "dot":
        return dot
    from .render import check_svg, png_args, run_dot

    if fmt == "svg":
        svg = run_dot(dot, "svg").decode("utf-8")
        check_svg(svg)
        return svg
    return run_dot(dot, fmt, png_args(options or DrawOptions()) if fmt == "png" else ())


def diff_format(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The format for ``path`` (or ``fmt``); an InputError when draw --diff cannot write it."""
    name = (fmt or Path(path).suffix).lower().lstrip(".")
    if name == "gv":
        name = "dot"
    if name not in FORMATS:
        what = f"format {fmt!r}" if fmt else f"extension {Path(path).suffix or '(none)'!r}"
        raise InputError(f"{Path(path).name}: draw --diff cannot write {what}; use .dot, .svg, .png or .pdf")
    return name


def write_diff(
    b: Analysis, comparison: Comparison, path: str | os.PathLike[str], options: DrawOptions | None = None, fmt: str | None = None
) -> list[Path]:
    """Write the diff picture atomically; the files written."""
    data: Any = generate_diff(b, comparison, diff_format(path, fmt), options)
    return [atomic_write(path, data)]


__all__ = ["FORMATS", "MARK_LOOK", "diff_format", "generate_diff", "generate_diff_dot", "mark_nodes", "write_diff"]
