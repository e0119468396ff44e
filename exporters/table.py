r"""The architecture table of a paper: LaTeX (booktabs), Markdown or CSV.

One row per module of the module tree down to a depth, in execution order, each with
its output shape, parameters and MACs (:mod:`modelmap.core.costs`); a run of repeated
blocks is one row marked ``x N`` whose numbers are those of all N repetitions, so the
numbered rows add up to the totals in the last row. A module above the depth is a
heading row (name and type, its children indented under it) without numbers. When the
depth reaches inside a repeated block, the rows of its first repetition follow the
``x N`` row, indented, with the numbers of one repetition (CSV column ``inside``).

The default depth: the deepest one at which the table has at most :data:`MAX_ROWS`
rows (at least 1): a page of a paper, counted in rows (the paper figure's depth is
chosen by measuring its text, :mod:`modelmap.exporters._fit`).

============  ==========  =============================================================
name          extension   content
============  ==========  =============================================================
``latex``     ``.tex``    a ``tabular`` with ``\toprule``/``\midrule``/``\bottomrule``
``markdown``  ``.md``     a pipe table
``csv``       ``.csv``    exact integers, one row per table row plus ``total``
============  ==========  =============================================================

:data:`table_registry` holds them (a registry of its own: ``.md`` means a Mermaid
diagram to ``modelmap draw``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelmap._errors import InputError
from modelmap._registry import Registry

from ._base import Exporter
from ._escape import latex_text, markdown_text
from ._options import DrawOptions

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis, Block, Layer, ModuleNode

#: the default depth is the deepest with at most this many rows
MAX_ROWS = 40

_HIDDEN_KINDS = frozenset({"input", "output"})


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row: ``level`` is its indentation; ``params``/``macs`` are None on a heading row.

    ``inside`` marks a row of the first repetition of the ``x N`` row above it: its
    numbers are those of one repetition and are not part of the totals.
    """

    name: str
    level: int
    type: str
    output_shape: tuple | None
    params: int | None
    macs: int | None
    count: int = 1
    inside: bool = False


@dataclass(frozen=True, slots=True)
class ArchTable:
    """The rows at ``depth`` plus the model's totals."""

    rows: tuple[TableRow, ...]
    params: int
    macs: int
    depth: int


def _block_starts(analysis: Analysis) -> dict[tuple[str, ...], tuple[Block, list[tuple[str, ...]]]]:
    """First covered tree path of each repeated block -> (block, every path it covers)."""
    paths = {layer.name: layer.path for layer in analysis.layers}
    out = {}
    for b in analysis.blocks:
        if b.shared:  # one module: its own row holds every call
            continue
        module_paths = [b.parent + (m,) for m in b.members]
        if all(p in analysis.tree and not analysis.tree[p].leaf for p in module_paths):
            covered = module_paths
        else:  # a run of layer groups in a flat model
            covered = [paths[name] for unit in b.units for name in unit if name in paths]
        if covered:
            out.setdefault(covered[0], (b, covered))
    return out


def _visible(layers: dict[str, Layer], node: ModuleNode) -> bool:
    """Whether a tree node holds a layer other than graph inputs and outputs."""
    return any(layers[n].kind.value not in _HIDDEN_KINDS for n in node.layers if n in layers)


class _Builder:
    def __init__(self, analysis: Analysis, depth: int, fold: bool) -> None:
        self.a = analysis
        self.depth = depth
        self.starts = _block_starts(analysis) if fold else {}
        self.layers = analysis.layer_map
        self.costs = analysis.costs

    def sums(self, names: list[str]) -> tuple[int, int, tuple | None]:
        """Params, MACs and output shape (the last layer whose output leaves the group)."""
        group = set(names)
        shape = None
        for n in names:
            layer = self.layers[n]
            if any(o not in group for o in layer.outputs) or shape is None:
                shape = layer.output_shape if layer.output_shape is not None else shape
        params = sum(self.layers[n].params for n in names)
        return params, sum(self.costs.layers[n].macs for n in names if n in self.costs.layers), shape

    def rows(self, path: tuple[str, ...], level: int, inside: bool = False) -> Iterator[TableRow]:
        node = self.a.tree[path]
        skip: set[tuple[str, ...]] = set()
        for child in node.children:
            if child in skip or child not in self.a.tree or not _visible(self.layers, self.a.tree[child]):
                continue
            if child in self.starts:
                block, covered = self.starts[child]
                skip.update(covered)
                nodes = [self.a.tree[p] for p in covered if p in self.a.tree]
                _, macs, shape = self.sums([n for node in nodes for n in node.layers])
                name = f"{nodes[0].name}..{nodes[-1].name}"
                yield TableRow(name, level, block.name, shape, sum(n.params for n in nodes), macs, block.count, inside)
                if level + 1 < self.depth and not nodes[0].leaf:  # what one repetition holds
                    yield from self.rows(covered[0], level + 1, True)
                continue
            sub = self.a.tree[child]
            if not sub.leaf and sub.children and level + 1 < self.depth:
                yield TableRow(sub.name, level, sub.cls, self.sums(list(sub.layers))[2], None, None, 1, inside)
                yield from self.rows(child, level + 1, inside)
                continue
            _, macs, shape = self.sums(list(sub.layers))
            yield TableRow(sub.name, level, sub.cls or self._type(sub), shape, sub.params, macs, 1, inside)

    def _type(self, node: ModuleNode) -> str:
        return self.layers[node.layers[-1]].type if node.layers else ""


def arch_table(analysis: Analysis, depth: int | None = None, fold: bool = True) -> ArchTable:
    """The architecture table at ``depth`` (default: :func:`auto_depth`)."""
    if depth is None:
        depth = auto_depth(analysis, fold=fold)
    if depth < 1:
        raise InputError(f"depth must be at least 1, not {depth}")
    rows = tuple(_Builder(analysis, depth, fold).rows((), 0))
    return ArchTable(rows, analysis.params, analysis.costs.macs, depth)


def auto_depth(analysis: Analysis, max_rows: int = MAX_ROWS, fold: bool = True) -> int:
    """The deepest depth whose table has at most ``max_rows`` rows (at least 1)."""
    best = 1
    for d in range(1, max(analysis.max_depth, 1) + 1):
        n = len(tuple(_Builder(analysis, d, fold).rows((), 0)))
        if n <= max_rows:
            best = d
        else:
            break
    return best


# --------------------------------------------------------------------------- formats
HEADER = ("Layer", "Type", "Output shape", "Params", "MACs")


def _shape(shape: tuple | None) -> str:
    return "?" if shape is None else " x ".join("?" if d is None else str(d) for d in shape)


def _count(n: int | None) -> str:
    from modelmap.core.costs import human

    return "" if n is None else human(n)


def _table(analysis: Analysis, options: DrawOptions | None) -> ArchTable:
    options = options or DrawOptions()
    return arch_table(analysis, options.depth, fold=options.fold is not False)


def generate_latex(analysis: Analysis, options: DrawOptions | None = None) -> str:
    r"""A booktabs ``tabular`` (needs ``\usepackage{booktabs}``); every name escaped."""
    t = _table(analysis, options)
    lines = [
        "% modelmap architecture table; needs \\usepackage{booktabs}",
        "\\begin{tabular}{lllrr}",
        "\\toprule",
        " & ".join(HEADER) + " \\\\",
        "\\midrule",
    ]
    for r in t.rows:
        kind = latex_text(r.type) + (f" $\\times$ {r.count}" if r.count > 1 else "")
        name = "\\hspace{%.1fem}" % r.level + latex_text(r.name) if r.level else latex_text(r.name)
        cells = (name, kind, _shape(r.output_shape), _count(r.params), _count(r.macs))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\midrule", f"Total &  &  & {_count(t.params)} & {_count(t.macs)} \\\\", "\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def generate_markdown(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """A pipe table; names indented with non-breaking spaces, punctuation escaped."""
    t = _table(analysis, options)
    lines = ["| " + " | ".join(HEADER) + " |", "| --- | --- | --- | ---: | ---: |"]
    for r in t.rows:
        kind = markdown_text(r.type) + (f" x {r.count}" if r.count > 1 else "")
        name = "\u00a0\u00a0" * r.level + markdown_text(r.name)
        cells = (name, kind, _shape(r.output_shape), _count(r.params), _count(r.macs))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"| **Total** | | | **{_count(t.params)}** | **{_count(t.macs)}** |")
    return "\n".join(lines) + "\n"


def generate_csv(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """Columns ``layer, level, type, repeat, output_shape, params, macs, inside``; exact integers.

    ``inside`` is 1 on the rows of one repetition listed under an ``x N`` row (not in the totals).
    """
    t = _table(analysis, options)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("layer", "level", "type", "repeat", "output_shape", "params", "macs", "inside"))
    for r in t.rows:
        shape = "" if r.output_shape is None else "x".join(str(d) for d in r.output_shape)
        w.writerow((r.name, r.level, r.type, r.count, shape, "" if r.params is None else r.params,
                    "" if r.macs is None else r.macs, int(r.inside)))
    w.writerow(("total", 0, "", 1, "", t.params, t.macs, 0))
    return buf.getvalue()


table_registry: Registry[Exporter] = Registry("table format")
for _e in (
    Exporter("latex", (".tex",), generate_latex, "LaTeX tabular with booktabs rules"),
    Exporter("markdown", (".md",), generate_markdown, "Markdown pipe table"),
    Exporter("csv", (".csv",), generate_csv, "CSV with exact counts"),
):
    table_registry.register(_e.name, _e, _e.extensions)
del _e


def table_format(path: str | os.PathLike[str] | None = None, format: str | None = None) -> Exporter:  # noqa: A002
    """The table format named ``format``, else the one for ``path``'s extension; InputError if none."""
    from . import exporter_for

    return exporter_for(path, format, table_registry)


__all__ = [
    "ArchTable",
    "MAX_ROWS",
    "TableRow",
    "arch_table",
    "auto_depth",
    "generate_csv",
    "generate_latex",
    "generate_markdown",
    "table_format",
    "table_registry",
]
