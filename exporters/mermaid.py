"""Mermaid ``flowchart`` text of a model diagram (``.mmd``), and the same in a Markdown fence.

Subgraphs for modules, ``classDef`` fills by layer kind, skip edges drawn by kind
(``-.->``/``==>`` plus ``linkStyle`` colour and dashes, an edge label and a legend).
Ids are generated (``n0``, ``c0``, ``lg0a``); every label goes through
:func:`._escape.mermaid_string`.

Mermaid refuses diagrams past its default limits (``maxEdges`` 500, ``maxTextSize``
50,000 characters) and renders an error instead. :func:`generate_mermaid` keeps under
both: a diagram that would not fit is folded, then collapsed to shallower depths, then
cut, and says so in a ``%%`` comment and a :class:`DrawingWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING

from modelmap.core.kinds import EdgeKind, LayerKind

from ._base import DrawingWarning
from ._escape import mermaid_string
from ._fit import fit_drawing
from ._options import NO_FIT, DrawOptions
from ._style import EDGE_STYLES, KIND_FILL, LOOKS, Look
from ._view import View, ViewCluster, ViewEdge, ViewNode, build_view, cluster_label, merge_symbol, node_label

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

#: Mermaid's defaults (``maxEdges``, ``maxTextSize``); both are "secure" settings that a
#: diagram cannot raise for itself. We stay a little below the text limit.
MAX_EDGES = 500
MAX_TEXT = 50_000
_TEXT_BUDGET = MAX_TEXT - 500


def generate_mermaid(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """Mermaid text of ``analysis``, within Mermaid's default size limits.

    The depth and folding not given are those the DOT figure takes (:func:`._fit.fit_drawing`:
    the paper style's fitted page, the detailed style's readable depth), so a README block
    of a big model is drawn at a depth a reader can follow."""
    options = options or DrawOptions()
    if options.fit != NO_FIT:
        options = fit_drawing(analysis, options, budget=False, titles=False).options
    first = build_view(analysis, options)
    text = view_to_mermaid(first, options)
    if _fits(first, options, text):
        return text
    # too big: fold, then collapse one level at a time, then cut
    was = f"{_depth_text(first.depth)}{', folded' if first.folded else ''}"
    start = first.depth if first.depth is not None else analysis.max_depth
    candidates = [replace(options, fold=True)] + [replace(options, fold=True, depth=d) for d in range(start - 1, 0, -1)]
    for opts in candidates:
        if opts.fold == first.folded and opts.depth == options.depth:
            continue  # that is the drawing that did not fit
        view = build_view(analysis, opts)
        text = view_to_mermaid(view, opts)
        if _fits(view, opts, text):
            now = "folded" + (f", collapsed to depth {view.depth}" if view.depth is not None else "")
            note = f"too large for Mermaid's limits ({MAX_EDGES} edges, {MAX_TEXT:,} characters) with {was}: drawn {now}"
            return _with_note(view, opts, note)
    last = candidates[-1]
    note = "too large for Mermaid's limits even folded at depth 1: only the first layers are drawn"
    return _with_note(_cut(build_view(analysis, last), last), last, note)


def generate_markdown(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The Mermaid diagram in a fenced ``mermaid`` block, ready to paste into a README."""
    return "```mermaid\n" + generate_mermaid(analysis, options) + "```\n"


def _depth_text(depth: int | None) -> str:
    return "every layer" if depth is None else f"depth {depth}"


def _fits(view: View, options: DrawOptions, text: str) -> bool:
    edges = len(view.edges) + (len(view.skip_kinds) if options.legend else 0)
    return len(text) <= _TEXT_BUDGET and edges <= MAX_EDGES


def _with_note(view: View, options: DrawOptions, note: str) -> str:
    warnings.warn(f"Mermaid diagram {note}", DrawingWarning, stacklevel=3)
    view.notes.insert(0, note)
    return view_to_mermaid(view, options)


def _cut(view: View, options: DrawOptions) -> View:
    """Keep the first nodes in execution order while the text stays within the limits."""
    lo, hi = 1, len(view.nodes)
    best = 1
    while lo <= hi:  # binary search on the number of nodes kept
        mid = (lo + hi) // 2
        part = _first(view, mid)
        if _fits(part, options, view_to_mermaid(part, options)):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return _first(view, best)


def _first(view: View, n: int) -> View:
    kept = view.nodes[:n]
    ids = {x.id for x in kept}
    rest = len(view.nodes) - n
    nodes = list(kept)
    edges = [e for e in view.edges if e.src in ids and e.dst in ids]
    if rest:
        more = ViewNode(id="more", key="", name=f"\u2026 {rest} more not shown", path=(), type="", kind=LayerKind.OTHER, params=0, shape=None)
        nodes.append(more)
        edges.append(ViewEdge(kept[-1].id, "more"))
    root = _prune(view.root, ids | {"more"})
    root.nodes = [*root.nodes, "more"] if rest else root.nodes
    return replace(view, nodes=nodes, edges=edges, root=root, notes=list(view.notes))


def _prune(cluster: ViewCluster, ids: set[str]) -> ViewCluster:
    children = [_prune(c, ids) for c in cluster.children]
    children = [c for c in children if c.nodes or c.children]
    return replace(cluster, nodes=[n for n in cluster.nodes if n in ids], children=children)


# --------------------------------------------------------------------------- layout


def view_to_mermaid(view: View, options: DrawOptions) -> str:
    """Lay a :class:`~._view.View` out as Mermaid ``flowchart`` text."""
    look = LOOKS[options.style]
    paper = options.style == "paper"
    out = _header(view, paper)
    out += _boxes(view, options, look)
    links: dict[EdgeKind, list[int]] = {}
    skip_labels = look.edge_labels and not (paper and options.legend)  # paper: named in the legend
    for n, edge in enumerate(view.edges):
        shown = skip_labels or not edge.kind.is_skip
        label = f"|{mermaid_string(edge.label)}|" if edge.label and look.edge_labels and shown else ""
        arrow = "-.->" if edge.label and not edge.kind.is_skip else _ARROWS[edge.kind]  # a table to its users
        out.append(f"  {edge.src} {arrow}{label} {edge.dst}")
        if edge.kind.is_skip:
            links.setdefault(edge.kind, []).append(n)
    if options.legend and view.skip_kinds:
        out += _legend(view, links, len(view.edges))
    out += _link_styles(links, paper)
    out += _node_classes(view, look)
    return "\n".join(out) + "\n"


def _header(view: View, paper: bool) -> list[str]:
    """The front matter (theme, font), the title and notes as comments, the flowchart line."""
    out = ["---", "config:", "  theme: neutral" if paper else "  theme: default", "  flowchart:", "    curve: basis"]
    if paper:
        out += ["  themeVariables:", '    fontFamily: "Times New Roman, Times, serif"']
    out.append("---")
    # comments carry the title and notes; escaped, so no newline can end one early
    out.append("%% modelmap diagram of " + mermaid_string(view.title or "model"))
    out += ["%% " + mermaid_string(note) for note in view.notes]
    out.append(f"flowchart {view.direction}")
    return out


def _boxes(view: View, options: DrawOptions, look: Look) -> list[str]:
    """Every node, nested in the subgraphs of its clusters."""
    by_id = {n.id: n for n in view.nodes}
    out: list[str] = []

    def node_line(node: ViewNode, indent: str) -> str:
        label = mermaid_string(node_label(node, options, look.show_names))
        symbol = merge_symbol(node)
        if symbol in ("+", "\u00d7") and node.repeat == 1:
            return f"{indent}{node.id}(({mermaid_string(symbol)}))"
        if node.kind in (LayerKind.INPUT, LayerKind.OUTPUT):
            return f"{indent}{node.id}([{label}])"
        return f"{indent}{node.id}({label})"

    def emit(cluster: ViewCluster, indent: str) -> None:
        out.append(f"{indent}subgraph {cluster.id}[{mermaid_string(cluster_label(cluster, look.show_names))}]")
        out.append(f"{indent}  direction {view.direction}")
        out.extend(node_line(by_id[nid], indent + "  ") for nid in cluster.nodes)
        for child in cluster.children:
            emit(child, indent + "  ")
        out.append(f"{indent}end")

    out.extend(node_line(by_id[nid], "  ") for nid in view.root.nodes)
    for cluster in view.root.children:
        emit(cluster, "  ")
    return out


def _legend(view: View, links: dict[EdgeKind, list[int]], first_link: int) -> list[str]:
    """A subgraph with one sample arrow per skip kind drawn (its links join ``links``)."""
    out = [f"  subgraph legend[{mermaid_string('skip connections')}]", "    direction LR"]
    blank = mermaid_string(" ")
    for i, kind in enumerate(view.skip_kinds):
        out.append(f"    lg{i}a[{blank}] {_ARROWS[kind]}|{mermaid_string(kind.value)}| lg{i}b[{blank}]")
        links.setdefault(kind, []).append(first_link + i)
    out += ["  end", "  classDef legend fill:transparent,stroke:transparent"]
    out.append(f"  class {','.join(f'lg{i}a,lg{i}b' for i in range(len(view.skip_kinds)))} legend")
    return out


def _link_styles(links: dict[EdgeKind, list[int]], paper: bool) -> list[str]:
    out = []
    for kind, idx in links.items():
        st = EDGE_STYLES[kind]
        colour = st.gray if paper else st.colour
        dash = f",stroke-dasharray:{st.dasharray}" if st.dasharray else ""
        out.append(f"  linkStyle {','.join(map(str, idx))} stroke:{colour},stroke-width:{st.width:g}px,color:{colour}{dash}")
    return out


def _node_classes(view: View, look: Look) -> list[str]:
    """Fills by layer kind (or plain boxes), and thick borders for folded blocks."""
    out = []
    if look.filled:
        used: dict[str, list[str]] = {}
        for node in view.nodes:
            if node.kind in KIND_FILL:
                used.setdefault(str(node.kind), []).append(node.id)
        for kind, ids in used.items():
            out.append(f"  classDef k_{kind} fill:{KIND_FILL[kind]},stroke:{look.node_border},color:#000")
            out.append(f"  class {','.join(ids)} k_{kind}")
    else:
        out.append(f"  classDef default fill:#fff,stroke:{look.node_border},color:#000")
    folded = [n.id for n in view.nodes if n.repeat > 1]
    if folded:
        out += ["  classDef folded stroke-width:3px", f"  class {','.join(folded)} folded"]
    out += [f"  style {c.id} stroke-width:3px" for c in view.clusters() if c.repeat > 1]
    return out


_ARROWS = {
    EdgeKind.DATA: "-->",
    EdgeKind.IDENTITY: "-.->",
    EdgeKind.PROJECTION: "==>",
    EdgeKind.CONCAT: "-.->",
    EdgeKind.GATE: "-.->",
}


__all__ = ["MAX_EDGES", "MAX_TEXT", "generate_markdown", "generate_mermaid", "view_to_mermaid"]
