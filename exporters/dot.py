"""DOT (Graphviz) text of a model diagram, built with pydot.

:func:`generate_dot` returns the text; it never touches the disk. Layout:

- one node per box of the :class:`~._view.View` (layer, collapsed module, folded block),
  labelled with name, type and hyper-parameters, output shape and parameters;
- the module tree as nested ``cluster_`` subgraphs, a folded block's cluster marked ``x N``;
- skip connections drawn by kind (colour, line style and width, arrowhead, label)
  with a legend of the kinds present (:mod:`._style`).

Every attribute value carrying user text goes through :func:`._escape.dot_string`;
ids (``n0``, ``cluster_c0``, ``legend_0a``) are generated, never taken from names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pydot

from modelmap.core.kinds import EdgeKind, LayerKind

from ._escape import dot_string, xml_text
from ._options import DrawOptions
from ._paper import input_order
from ._style import EDGE_STYLES, KIND_FILL, LOOKS, MARKS, Look
from ._titles import GAP, text_width
from ._view import (
    View,
    ViewCluster,
    ViewEdge,
    ViewNode,
    build_view,
    cluster_label,
    display_name,
    merge_symbol,
    node_label,
    node_tooltip,
)

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis


def generate_dot(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The DOT text of ``analysis`` drawn with ``options``."""
    options = options or DrawOptions()
    return view_to_dot(build_view(analysis, options), options)


def view_to_dot(view: View, options: DrawOptions, titles: Mapping[str, str] | None = None) -> str:
    """Lay a :class:`~._view.View` out as DOT text; ``titles``: where the titles of some
    clusters go, by cluster id (see :func:`._titles.clear_titles`; elsewhere top left)."""
    return dot_text(view, view_to_pydot(view, options, titles))


def dot_text(view: View, g: pydot.Dot) -> str:
    """``g`` as DOT text, after the view's notes (what was folded or collapsed) as comments."""
    # quoted, so no newline ends a comment early
    return "".join(f"// {dot_string(note)}\n" for note in view.notes) + g.to_string()


def view_to_pydot(view: View, options: DrawOptions, titles: Mapping[str, str] | None = None) -> pydot.Dot:
    """The view as a pydot graph: clusters, boxes (styled by kind and mark), edges, legend."""
    look = LOOKS[options.style]
    paper = options.style == "paper"
    g = _graph(view, look, paper)
    containers: dict[str, pydot.Dot | pydot.Subgraph] = {"": g}
    for cluster in view.root.children:
        _add_cluster(g, cluster, containers, look, paper, titles or {})
    where = {nid: c.id for c in view.clusters() for nid in c.nodes}
    for node in view.nodes:
        containers[where.get(node.id, "")].add_node(pydot.Node(node.id, **_node_attrs(node, options, look, paper)))
    first, after, loose = input_order(view)
    # the paper style names skip kinds once, in the legend, not on every arrow
    labels = look.edge_labels and not (paper and options.legend)
    for edge in view.edges:
        attrs = _edge_attrs(edge, paper, labels)
        if (edge.src, edge.dst) in loose:
            attrs["weight"] = "0"
        g.add_edge(pydot.Edge(edge.src, edge.dst, **attrs))
    _order_inputs(g, first, after)
    if options.legend and view.skip_kinds:
        _legend(g, view, look, paper)
    return g


def _order_inputs(g: pydot.Dot, first: list[str], after: list[tuple[str, str]]) -> None:
    """Graph inputs side by side at the top in the model's order, an input that a later
    module waits for below that module (an encoder before its decoder; see
    :func:`._paper.input_order`)."""
    if len(first) + len(after) < 2:
        return
    row = pydot.Subgraph("inputs", rank="source")
    for a in first:
        row.add_node(pydot.Node(a))
    for a, b in zip(first, first[1:], strict=False):
        row.add_edge(pydot.Edge(a, b, style="invis"))
    g.add_subgraph(row)
    for box, node in after:
        g.add_edge(pydot.Edge(box, node, style="invis"))


def _graph(view: View, look: Look, paper: bool) -> pydot.Dot:
    """The top-level graph with the style's defaults for graph, nodes and edges."""
    g = pydot.Dot("modelmap", graph_type="digraph", strict=False)
    g.set_graph_defaults(
        rankdir=view.direction,
        fontname=dot_string(look.font),
        fontsize=str(look.font_size + 2),
        nodesep=str(look.node_sep),
        ranksep=str(look.rank_sep),
        newrank="true",
        labelloc="t",
        # the graph's own tooltip would default to its name; keep SVG titles generic
        tooltip=tooltip(view.title or "model"),
    )
    if view.title:
        g.set("label", dot_string(display_name(view.title, 80)))
    g.set_node_defaults(
        shape="box",
        style=dot_string("rounded,filled"),
        fontname=dot_string(look.font),
        fontsize=str(look.font_size),
        fillcolor=dot_string("#ffffff"),
        color=dot_string(look.node_border),
        penwidth=str(look.pen),
        margin=dot_string("0.10,0.04"),
        height="0.3",
    )
    data = EDGE_STYLES[EdgeKind.DATA]
    g.set_edge_defaults(
        fontname=dot_string(look.font),
        fontsize=str(look.font_size - 1),
        color=dot_string(data.gray if paper else data.colour),
        arrowsize="0.6",
        penwidth=str(look.pen),
    )
    return g


#: Graphviz refuses a string over 16,384 characters; escaping can make one five times longer.
MAX_TOOLTIP = 2000


def tooltip(text: str) -> str:
    """A tooltip's DOT string: the full text up to :data:`MAX_TOOLTIP` characters, on one line.

    >>> len(tooltip("x" * 100_000)) <= MAX_TOOLTIP + 2
    True
    """
    return dot_string(display_name(text, MAX_TOOLTIP))


def _add_cluster(
    parent: pydot.Dot | pydot.Subgraph, cluster: ViewCluster, containers: dict[str, Any], look: Look, paper: bool,
    titles: Mapping[str, str],
) -> None:
    """``cluster`` and its descendants as nested ``cluster_`` subgraphs, registered in ``containers``."""
    repeated = cluster.repeat > 1
    text = cluster_label(cluster, look.show_names)
    place = titles.get(cluster.id, "tl")
    sub = pydot.Cluster(
        cluster.id,
        label=_title_label(text, place, look),
        tooltip=tooltip("/".join(s for s in cluster.key if not s.startswith("\x00")) or cluster.name),
        style=dot_string("rounded,bold" if repeated else ("rounded,dashed" if paper else "rounded")),
        color=dot_string("#333333" if repeated else look.cluster_colour),
        fontsize=str(look.cluster_font_size),
        fontcolor=dot_string("#000000" if repeated or paper else "#52606d"),
        labelloc=place[0],  # every cluster says it: a cluster inherits its parent's
        labeljust=place[1],
        penwidth=str(1.6 if repeated else look.pen),
    )
    parent.add_subgraph(sub)
    containers[cluster.id] = sub
    for child in cluster.children:
        _add_cluster(sub, child, containers, look, paper, titles)


def _title_label(text: str, place: str, look: Look) -> str:
    """A cluster title's DOT label at ``place`` (see :data:`._titles.PLACES`): as it is,
    wrapped (``n``) or widened (``w``)."""
    if place.endswith("w"):
        return _wide_title(text, place[1], look)
    return _wrapped_title(text, place[1]) if place.endswith("n") else dot_string(text)


def _wrapped_title(text: str, side: str) -> str:
    """``text`` on two lines justified to ``side``, broken after ``·`` (``attn ·`` /
    ``GPT2Attention``), else at its widest space (``× 2`` / ``GPT2Block``)."""
    head, sep, tail = text.partition(" \u00b7 ")
    if sep:
        lines = [head + " \u00b7", tail]
    else:
        head, sep, tail = text.partition("  ")
        lines = [head, tail] if sep else text.rsplit(" ", 1)
    align = "left" if side == "l" else "right"
    return "<" + "".join(f'{xml_text(line)}<br align="{align}"/>' for line in lines) + ">"


def _wide_title(text: str, side: str, look: Look) -> str:
    """``text`` as an HTML-like label beside an empty cell as wide as the text: the cluster is
    then at least twice as wide as its title, which sits at ``side`` (``l`` or ``r``)."""
    spacer = f'<td width="{round(text_width(text, look.font, look.cluster_font_size) + 4 * GAP)}"></td>'
    cells = (f"<td>{xml_text(text)}</td>", spacer)
    row = "".join(cells if side == "l" else cells[::-1])
    return f'<<table border="0" cellborder="0" cellspacing="0" cellpadding="0"><tr>{row}</tr></table>>'


def _node_attrs(node: ViewNode, options: DrawOptions, look: Look, paper: bool) -> dict[str, str]:
    attrs = {"label": dot_string(node_label(node, options, look.show_names)), "tooltip": tooltip(node_tooltip(node))}
    symbol = merge_symbol(node)
    if symbol in ("+", "\u00d7") and not node.repeat > 1:
        attrs.update(shape="circle", label=dot_string(symbol), width="0.3", fixedsize="true", fontsize=str(look.font_size + 3))
    elif node.kind in (LayerKind.INPUT, LayerKind.OUTPUT):
        attrs.update(shape="box", style=dot_string("rounded,filled" if not paper else "rounded"))
    if look.filled:
        attrs["fillcolor"] = dot_string(KIND_FILL.get(node.kind, "#ffffff"))
    if node.repeat > 1:
        attrs["penwidth"] = str(look.pen * 2.2)
    if node.mark:
        fill, border, style = MARKS[node.mark]
        attrs.update(fillcolor=dot_string(fill), color=dot_string(border), penwidth="2.6", style=dot_string(style))
    return attrs


def _edge_attrs(edge: ViewEdge, paper: bool, labels: bool) -> dict[str, str]:
    if not edge.kind.is_skip:  # a labelled data arrow joins a table to its users ("tied")
        return {"style": "dotted", "label": dot_string(edge.label)} if edge.label else {}
    st = EDGE_STYLES[edge.kind]
    colour = st.gray if paper else st.colour
    attrs = {"style": st.dot_style, "color": dot_string(colour), "penwidth": str(st.width), "arrowhead": st.arrowhead}
    if edge.label and labels:
        attrs.update(label=dot_string(edge.label), fontcolor=dot_string(colour))
    return attrs


def _legend(g: pydot.Dot, view: View, look: Look, paper: bool) -> None:
    """A small cluster showing one sample arrow per skip kind drawn."""
    legend = pydot.Cluster(
        "legend",
        label=dot_string("skip connections"),
        style=dot_string("rounded"),
        color=dot_string(look.cluster_colour),
        fontsize=str(look.cluster_font_size),
        labeljust="l",
    )
    for i, kind in enumerate(view.skip_kinds):
        st = EDGE_STYLES[kind]
        colour = st.gray if paper else st.colour
        # top to bottom: a row of its own keeps the sample arrow level; left to right it is already
        row = pydot.Subgraph(f"legend_row{i}", rank="same") if view.direction == "TB" else pydot.Subgraph(f"legend_row{i}")
        a, b = f"legend_{i}a", f"legend_{i}b"
        row.add_node(pydot.Node(a, shape="point", width="0.04", color=dot_string(colour), label=dot_string("")))
        row.add_node(
            pydot.Node(b, shape="plaintext", label=dot_string(kind.value), style=dot_string(""), fontcolor=dot_string(colour), height="0.2")
        )
        row.add_edge(pydot.Edge(a, b, style=st.dot_style, color=dot_string(colour), penwidth=str(st.width), arrowhead=st.arrowhead, minlen="2"))
        legend.add_subgraph(row)
    g.add_subgraph(legend)


__all__ = ["dot_text", "generate_dot", "view_to_dot", "view_to_pydot"]
