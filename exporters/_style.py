"""How things look, in one table per element: skip kinds, layer kinds, the two styles.

Skip kinds differ by line style and width as well as colour, so a grayscale print
of a ``paper`` figure still tells them apart:

==========  ========  ============  =========  =====================
kind        colour    line          width      Mermaid
==========  ========  ============  =========  =====================
data        gray      solid         thin       ``-->``
identity    blue      dashed        medium     ``-.->`` dashes 6 3
projection  red       dashed        thick      ``==>`` dashes 10 4
concat      green     dotted        medium     ``-.->`` dots 2 3
gate        purple    dotted        thick      ``-.->`` dots 2 3, thick
==========  ========  ============  =========  =====================
"""

from __future__ import annotations

from dataclasses import dataclass

from modelmap.core.kinds import EdgeKind, LayerKind


@dataclass(frozen=True)
class EdgeStyle:
    colour: str  # detailed style
    gray: str  # paper style
    dot_style: str
    width: float
    arrowhead: str
    dasharray: str  # Mermaid / SVG stroke-dasharray ("" = solid)


EDGE_STYLES: dict[EdgeKind, EdgeStyle] = {
    EdgeKind.DATA: EdgeStyle("#555555", "#000000", "solid", 1.0, "normal", ""),
    EdgeKind.IDENTITY: EdgeStyle("#1f77b4", "#000000", "dashed", 1.8, "normal", "6 3"),
    EdgeKind.PROJECTION: EdgeStyle("#d62728", "#000000", "dashed", 3.0, "normal", "10 4"),
    EdgeKind.CONCAT: EdgeStyle("#2ca02c", "#000000", "dotted", 1.8, "odiamond", "2 3"),
    EdgeKind.GATE: EdgeStyle("#9467bd", "#000000", "dotted", 3.0, "dot", "2 3"),
}

#: Fill colours of the ``detailed`` style by layer kind; anything else is white.
KIND_FILL: dict[LayerKind, str] = {
    LayerKind.INPUT: "#e8e8e8",
    LayerKind.OUTPUT: "#e8e8e8",
    LayerKind.CONV: "#dbe9f6",
    LayerKind.LINEAR: "#e6dcf2",
    LayerKind.NORM: "#fdf3d0",
    LayerKind.ACTIVATION: "#dcf0dc",
    LayerKind.POOL: "#fde2cc",
    LayerKind.MERGE: "#ffffff",
    LayerKind.EMBEDDING: "#f6dce9",
    LayerKind.ATTENTION: "#f9d5d3",
    LayerKind.RECURRENT: "#f9d5d3",
    LayerKind.RESHAPE: "#f2f2f2",
    LayerKind.DROPOUT: "#f2f2f2",
    LayerKind.MODULE: "#eef2f7",
}


#: Marks on boxes (``draw --diff``): mark -> (fill, border, style). Added and changed differ by
#: border style too, so a grayscale print still tells them apart.
MARKS: dict[str, tuple[str, str, str]] = {
    "added": ("#b9e6b3", "#1b7d2a", "rounded,filled,bold"),
    "changed": ("#ffd9a8", "#d35400", "rounded,filled,dashed"),
}


@dataclass(frozen=True)
class Look:
    """Fonts and spacing of one drawing style."""

    font: str
    font_size: float
    cluster_font_size: float
    node_sep: float
    rank_sep: float
    filled: bool  # fill nodes by kind
    show_names: bool  # layer names in node labels (detailed) or types only (paper)
    edge_labels: bool
    cluster_colour: str
    node_border: str
    pen: float


LOOKS: dict[str, Look] = {
    "detailed": Look("Helvetica", 10, 10, 0.25, 0.35, True, True, True, "#9aa5b1", "#4d4d4d", 1.0),
    "paper": Look("Times", 9, 9, 0.15, 0.22, False, False, True, "#7f7f7f", "#000000", 0.8),
}
