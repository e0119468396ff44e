"""``draw --diff``: model B drawn with the layers it adds or changes relative to A coloured.

The picture is the exporters' own DOT diagram of B (:mod:`.dot`), unchanged, followed by
one attribute statement per marked node (Graphviz applies a later statement's attributes
to the node already declared) and a legend. Which layers are marked comes from
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

from modelmap._errors import InputError
from modelmap._io import atomic_write

from ._escape import dot_string
from ._options import DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis
    from modelmap.core.compare import Comparison

#: mark -> (fill, border, style) of a node
MARK_LOOK: dict[str, tuple[str, str, str]] = {
    "added": ("#b9e6b3", "#1b7d2a", "rounded,filled,bold"),
    "changed": ("#ffd9a8", "#d35400", "rounded,filled,dashed"),
}
FORMATS = ("dot", "svg", "png", "pdf")


def generate_diff_dot(b: Analysis, comparison: Comparison, options: DrawOptions | None = None) -> str:
    """The DOT text of ``b`` with the marks of ``comparison`` (A compared with B)."""
    from ._view import build_view
    from .dot import view_to_dot

    options = options or DrawOptions()
    if options.fold is None:
        options = replace(options, fold=False)
    marks = comparison.b_marks()
    view = build_view(b, options)
    text = view_to_dot(view, options).rstrip()
    if not text.endswith("}"):
        raise ValueError("unexpected DOT text from the exporter")
    extra: list[str] = []
    counts = {"added": 0, "changed": 0}
    for node in view.nodes:
        found = [marks.get(m) for m in (node.members or (node.key,))]
        if not any(found):
            continue
        # a collapsed module is "added" only when all of it is new; one that holds
        # added or changed layers next to unchanged ones is itself changed
        mark = "added" if all(f == "added" for f in found) else "changed"
        counts[mark] += 1
        fill, border, style = MARK_LOOK[mark]
        extra.append(
            f"{node.id} [fillcolor={dot_string(fill)}, color={dot_string(border)}, penwidth=2.6, "
            f"style={dot_string(style)}];"
        )
    removed = len(comparison.removed)
    lines = [
        "subgraph cluster_modelmap_diff {",
        f"label={dot_string('compared with A')};",
        f"style={dot_string('rounded')};",
        f"color={dot_string('#9aa5b1')};",
        "fontsize=10;",
    ]
    for i, mark in enumerate(("added", "changed")):
        fill, border, style = MARK_LOOK[mark]
        label = f"{mark} in B ({counts[mark]})"
        lines.append(
            f"diff_legend_{i} [label={dot_string(label)}, fillcolor={dot_string(fill)}, color={dot_string(border)}, "
            f"penwidth=2.6, style={dot_string(style)}, shape=box];"
        )
    lines.append(
        f"diff_legend_2 [label={dot_string(f'{removed} unit(s) of A not in B')}, shape=plaintext, style={dot_string('')}];"
    )
    lines.append("diff_legend_0 -> diff_legend_1 -> diff_legend_2 [style=invis];")
    lines.append("}")
    return text[:-1] + "\n".join(extra + lines) + "\n}\n"


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
    from .render import PNG_DPI, check_svg, run_dot

    if fmt == "svg":
        svg = run_dot(dot, "svg").decode("utf-8")
        check_svg(svg)
        return svg
    return run_dot(dot, fmt, (f"-Gdpi={PNG_DPI}",) if fmt == "png" else ())


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


__all__ = ["FORMATS", "MARK_LOOK", "diff_format", "generate_diff", "generate_diff_dot", "write_diff"]
