"""What a reviewer rejects in a figure, as plain functions other tests import.

Each takes an :class:`~modelmap.core.Analysis` and :class:`~modelmap.exporters.DrawOptions`
and returns the offending items (an empty list when the figure is clean), so a test reads
``assert floating_boxes(a, opts) == []`` and its failure names what is wrong:

- :func:`floating_boxes`: boxes with no edge at all, read from the DOT text and from the
  Mermaid text the exporters actually write (so what Graphviz and Mermaid draw);
- :func:`plumbing_boxes`: paper-style boxes that stand for exporter plumbing (a layer
  whose ONNX ops are all reshapes, casts, shape arithmetic...) or for a layer that left
  no op (an eval-mode Dropout);
- :func:`duplicate_labels`: two boxes with the same label directly inside one cluster
  (merge glyphs such as ``+`` are operators, not labelled boxes, and are not counted).

They parse the text modelmap writes (one statement per line, generated ids), so they are
exact for modelmap's output and cheap: no Graphviz run, one view built per call.
"""

from __future__ import annotations

import re
from dataclasses import replace

from modelmap.core import Analysis
from modelmap.exporters import DrawOptions
from modelmap.exporters._titles import bezier_points, text_width
from modelmap.exporters.dot import generate_dot
from modelmap.exporters.mermaid import generate_mermaid

#: ONNX ops that are plumbing in a figure (issue 9): layout, casts, shape arithmetic, masks.
PLUMBING_OPS = frozenset(
    "Reshape Transpose Squeeze Unsqueeze Cast CastLike Shape Size Gather GatherElements GatherND Where IsNaN IsInf "
    "Expand Slice ConstantOfShape Constant Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Range "
    "Identity Dropout Split Tile Trilu".split()
)

_DOT_NODE = re.compile(r"^(n\d+|more) \[(.*)\];$")
_DOT_EDGE = re.compile(r"^(\w+) -> (\w+)\b")
_DOT_LABEL = re.compile(r'\blabel="((?:[^"\\]|\\.)*)"')
_MMD_EDGE = re.compile(r"^\s*(\w+)(?:\[[^\]]*\])? (?:-->|-\.->|==>)(?:\|[^|]*\|)? (\w+)(?:\[[^\]]*\])?$")
_MMD_NODE = re.compile(r"^\s*(n\d+|more)[(\[]")


def floating_boxes(analysis: Analysis, options: DrawOptions | None = None) -> list[str]:
    """Boxes with no edge, as ``"dot: <label>"`` / ``"mermaid: <id>"`` entries.

    A figure with a single box (and nothing else) has nothing to connect and is not counted.
    """
    options = options or DrawOptions()
    found = []
    dot = generate_dot(analysis, options)
    nodes, linked = {}, set()
    for line in dot.splitlines():
        m = _DOT_NODE.match(line)
        if m:
            label = _DOT_LABEL.search(m.group(2))
            nodes[m.group(1)] = label.group(1) if label else m.group(1)
        m = _DOT_EDGE.match(line)
        if m:
            linked.update(m.groups())
    if len(nodes) > 1:
        found += [f"dot: {label}" for nid, label in nodes.items() if nid not in linked]
    mmd = generate_mermaid(analysis, options)
    ids, linked = [], set()
    for line in mmd.splitlines():
        m = _MMD_EDGE.match(line)
        if m:
            linked.update(m.groups())
            continue
        m = _MMD_NODE.match(line)
        if m:
            ids.append(m.group(1))
    if len(ids) > 1:
        found += [f"mermaid: {nid}" for nid in ids if nid not in linked]
    return found


def plumbing_boxes(analysis: Analysis, options: DrawOptions | None = None) -> list[str]:
    """Boxes of the paper style that stand for plumbing: names of their layers.

    A box is plumbing when it is one layer (not a collapsed module) that left no op and
    has no weights (a layer with weights is drawn where they are used: Mamba's
    ``dt_proj``), or one without parameters, not an embedding, whose ops are all in
    :data:`PLUMBING_OPS`.
    """
    from modelmap.exporters._view import build_view

    options = replace(options or DrawOptions(), style="paper")
    view = build_view(analysis, options)
    found = []
    for node in view.nodes:
        if node.kind in ("input", "output", "module") or len(node.members) != 1:
            continue
        layer = analysis.layer(node.members[0])
        if not layer.ops and not layer.params or (
            layer.kind != "embedding" and not layer.params and all(op.op_type in PLUMBING_OPS for op in analysis.ops(layer))
        ):
            found.append(layer.name)
    return found


def duplicate_labels(analysis: Analysis, options: DrawOptions | None = None) -> list[tuple[str, str]]:
    """``(cluster title, label)`` for every label written twice directly inside one cluster
    of the DOT text (the top level is the cluster ``""``)."""
    options = options or DrawOptions()
    dot = generate_dot(analysis, options)
    stack: list[tuple[str, dict[str, int]]] = [("", {})]
    found = []

    def close(title: str, seen: dict[str, int]) -> None:
        found.extend((title, label) for label, n in seen.items() if n > 1)

    for line in dot.splitlines():
        if line.startswith("subgraph "):
            stack.append((line.split()[1], {}))
        elif line == "}":
            close(*stack.pop())
        elif line.startswith("label=") and len(stack) > 1:
            title = _DOT_LABEL.search(line)
            stack[-1] = (title.group(1) if title else stack[-1][0], stack[-1][1])
        else:
            m = _DOT_NODE.match(line)
            if m and "shape=circle" not in m.group(2):
                label = _DOT_LABEL.search(m.group(2))
                if label:
                    seen = stack[-1][1]
                    seen[label.group(1)] = seen.get(label.group(1), 0) + 1
    while stack:
        close(*stack.pop())
    return found





#: A cluster or an edge of a Graphviz SVG up to its first ``</g>`` (its tooltip's ``<a>`` group, or itself)
_SVG_GROUP = re.compile(r'<g id="[^"]*" class="(cluster|edge)">\s*<title>([^<]*)</title>(.*?)</g>', re.S)
_SVG_TEXT = re.compile(
    r'<text text-anchor="(start|middle|end)" x="(-?[\d.]+)" y="(-?[\d.]+)"[^>]*font-family="([^"]*)"[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>'
)
_SVG_PATH = re.compile(r'<path [^>]*\bd="M([^"]*)"')


def title_crossings(svg: str) -> list[tuple[str, str]]:
    """``(cluster title, edge)`` for every arrow drawn through a cluster's title, read from the
    SVG Graphviz wrote: the title's box (its text's extent from the font's metrics, which SVG
    does not give) against points sampled along the arrow's Bézier curve."""
    titles, curves = [], []
    for m in _SVG_GROUP.finditer(svg):
        kind, title, body = m.groups()
        if kind == "cluster":
            for anchor, x, y, font, size, text in _SVG_TEXT.findall(body):
                w, fs = text_width(_unescape(text), font, float(size)), float(size)
                x0 = {"start": float(x), "middle": float(x) - w / 2, "end": float(x) - w}[anchor]
                titles.append((_unescape(text), (x0, float(y) - 0.7 * fs, x0 + w, float(y) + 0.1 * fs)))
        else:
            for d in _SVG_PATH.findall(body):
                curves.append((_unescape(title), bezier_points(d)))
    found = []
    for text, (x0, y0, x1, y1) in titles:
        for edge, points in curves:
            if any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in points):
                found.append((text, edge))
    return found


def _unescape(text: str) -> str:
    return text.replace("&#45;", "-").replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&").replace("&#160;", " ")


__all__ = ["PLUMBING_OPS", "duplicate_labels", "floating_boxes", "plumbing_boxes", "title_crossings"]
