"""Cluster titles clear of arrows: measured on Graphviz's layout, fixed where an arrow crosses.

Graphviz writes a cluster's title in a band at the top of the cluster, left-justified here,
and routes arrows into the cluster straight through that band. When the title is wider
than the room left of the arrow (a narrow cluster: ``× 2  GPT2Block`` over a column of
boxes), the arrow runs through its text. Where the title sits does not change the layout,
but its width does: Graphviz makes a cluster at least as wide as its title.

So :func:`clear_titles` works from the layout. It reads in the SVG every title an arrow
runs through (within :data:`GAP`) and moves it to a corner of its cluster no arrow
crosses: top or bottom (most clusters have several arrows in and one out), left or
right. Where no corner is free, the title is wrapped onto two lines (``attn ·`` over
``GPT2Attention``: half as wide, one line taller); where that is not enough, it gets an
empty cell as wide as its text beside it (an HTML-like label), so that its cluster is at
least twice as wide as the title. After each change the figure is laid out again and
the title moved to a corner that is now free. Titles crossed only after that (a
neighbour moved) are treated in turn, for at most :data:`ROUNDS` rounds, and the layout
with the fewest crossed titles is kept. A title placed elsewhere is predicted from the
drawn one mirrored in its cluster's middle; every round measures the new layout, so a
wrong prediction costs a round, not a crossing.

Reading the SVG: a cluster is a ``<g class="cluster">`` whose ``<title>`` is its DOT
name (``cluster_c3``), outlined by one path or polygon and titled by ``<text>``
elements; an arrow is a ``<g class="edge">`` with its Bézier path. A title's extent is
computed from the fonts' metrics (:func:`text_width`); SVG does not say it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Widths of the printable ASCII characters (32-126) in thousandths of an em: Adobe's metrics of
#: Times-Roman and Helvetica, which Liberation Serif and Sans (fontconfig's Times and Helvetica
#: on Linux) and Times New Roman and Arial share.
_AFM = {
    "Times": "250 333 408 500 500 833 778 333 333 333 500 564 250 333 250 278 " + "500 " * 10
    + "278 278 564 564 564 444 921 722 667 667 722 611 556 722 722 333 389 722 611 889 722 722 556 722 667 556 611 "
    "722 722 944 722 722 611 333 278 333 469 500 333 444 500 444 500 444 333 500 500 278 278 500 278 778 500 500 "
    "500 500 333 389 278 500 500 722 500 500 444 480 200 480 541",
    "Helvetica": "278 278 355 556 556 889 667 222 333 333 389 584 278 333 278 278 " + "556 " * 10
    + "278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 500 667 556 833 722 778 667 778 722 667 611 "
    "722 667 944 667 667 611 278 278 278 469 556 222 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 "
    "556 556 333 500 278 556 500 722 500 500 500 334 260 334 584",
}
_WIDTHS = {font: [int(w) for w in table.split()] for font, table in _AFM.items()}
#: Others: a middle dot, a times sign, a no-break space; anything else counts as wide.
_OTHER = {"\u00b7": 278, "\u00d7": 584, "\u00a0": 278}
_WIDE = 1000
#: Layouts tried after the first, at most (each is one Graphviz run).
ROUNDS = 3
#: Points kept between a title and an arrow passing beside it (the spacer adds twice this on
#: either side, so that an arrow down the middle of a widened cluster clears the title).
GAP = 3.0

_GROUP = re.compile(r'<g id="[^"]*" class="(cluster|edge)">\s*<title>([^<]*)</title>(.*?)</g>', re.S)
_TEXT = re.compile(
    r'<text text-anchor="(start|middle|end)" x="(-?[\d.]+)" y="(-?[\d.]+)"[^>]*font-family="([^"]*)"[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>'
)
_OUTLINE = re.compile(r'<(?:path|polygon) [^>]*\b(?:d|points)="([^"]*)"')
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_EDGE_PATH = re.compile(r'<path [^>]*\bd="M([^"]*)"')


#: Where a title may go, in the order tried: top left (Graphviz's place here), top right,
#: bottom left, bottom right. A placement is ``labelloc`` + ``labeljust``, and a trailing
#: ``n`` when the title is wrapped onto two lines, ``w`` when it is widened (see
#: :func:`clear_titles`).
PLACES = ("tl", "tr", "bl", "br")

Arrows = list[list[tuple[float, float]]]


@dataclass(frozen=True)
class Title:
    """One cluster's title as laid out, in SVG coordinates (y grows downwards): the cluster's
    outline and the box its text was drawn in. The title at another corner is that box
    mirrored in the cluster's middle (the same inset from the other side)."""

    cluster: str  # the view cluster's id ("c3")
    left: float
    right: float
    top: float
    bottom: float
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def place(self) -> str:
        """Where the title was drawn (``tl``, ``tr``, ``bl`` or ``br``)."""
        loc = "t" if self.y0 - self.top < self.bottom - self.y1 else "b"
        return loc + ("l" if self.x0 - self.left <= self.right - self.x1 else "r")

    def box(self, place: str) -> tuple[float, float, float, float]:
        """The title's x0, y0, x1, y1 at ``place``."""
        x0, y0, x1, y1 = self.x0, self.y0, self.x1, self.y1
        if place[0] != self.place[0]:
            y0, y1 = self.top + self.bottom - y1, self.top + self.bottom - y0
        if place[1] != self.place[1]:
            x0, x1 = self.left + self.right - x1, self.left + self.right - x0
        return x0, y0, x1, y1

    def crossed(self, place: str, arrows: Arrows) -> bool:
        """Whether an arrow runs through the title at ``place`` (or within :data:`GAP` of it)."""
        x0, y0, x1, y1 = self.box(place)
        return any(x0 - GAP <= x <= x1 + GAP and y0 <= y <= y1 for arrow in arrows for x, y in arrow)


def text_width(text: str, font: str, font_size: float) -> float:
    """``text``'s width in points in ``font`` (Times, or else Helvetica's wider metrics) at ``font_size``.

    >>> round(text_width("× 2  GPT2Block", "Times", 9), 1)
    59.5
    """
    table = _WIDTHS.get(font, _WIDTHS["Helvetica"])
    return font_size / 1000 * sum(table[ord(c) - 32] if " " <= c <= "~" else _OTHER.get(c, _WIDE) for c in text)


def read_layout(svg: str) -> tuple[dict[str, Title], Arrows]:
    """The cluster titles (by view cluster id) and the arrows (as points) of a Graphviz SVG."""
    titles: dict[str, Title] = {}
    arrows = []
    for kind, name, body in _GROUP.findall(svg):
        if kind == "edge":
            arrows += [bezier_points(d) for d in _EDGE_PATH.findall(body)]
            continue
        texts = _TEXT.findall(body)
        outline = _OUTLINE.search(body)
        if not texts or not outline or not name.startswith("cluster_"):
            continue
        points = [float(v) for v in _NUMBER.findall(outline.group(1))]
        size = max(float(t[4]) for t in texts)
        boxes = []
        for anchor, x, _, font, fs, text in texts:
            w = text_width(_unescape(text), font, float(fs))
            start = float(x) - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
            boxes.append((start, start + w))
        y0 = min(float(t[2]) for t in texts) - 0.8 * size  # a line's ascent over its baseline...
        y1 = max(float(t[2]) for t in texts) + 0.2 * size  # ...and its descent under it
        cid = name.removeprefix("cluster_")
        titles[cid] = Title(cid, min(points[::2]), max(points[::2]), min(points[1::2]), max(points[1::2]),
                            min(b[0] for b in boxes), y0, max(b[1] for b in boxes), y1)
    return titles, arrows


def crossed_titles(svg: str, places: dict[str, str] | None = None) -> set[str]:
    """The ids of the clusters whose title an arrow runs through, each title where ``places``
    puts it (top left where it says nothing)."""
    return _crossed(read_layout(svg), places or {})


def _crossed(layout: tuple[dict[str, Title], Arrows], places: dict[str, str]) -> set[str]:
    titles, arrows = layout
    return {cid for cid, t in titles.items() if t.crossed(places.get(cid, "tl"), arrows)}


def clear_titles(svg: str, render: Callable[[dict[str, str]], str], widen: bool = True) -> tuple[dict[str, str], str]:
    """Where to put the crossed titles (cluster id -> placement, see :data:`PLACES`) and the
    SVG of that layout.

    ``svg`` is the figure as first laid out; ``render(places)`` lays it out again with the
    titles placed, wrapped or widened as ``places`` says. A crossed title first moves to a
    corner of its cluster that no arrow crosses; where there is none it is wrapped onto two
    lines (``n``), then widened (``w``), and after each new layout it moves to a free corner
    if one now exists. Returns ``({}, svg)`` when no title is crossed. ``widen`` False
    never widens (the figure keeps its width).
    """
    resort = {"": "n", "n": "w" if widen else "n", "w": "w"}  # a title's next resort after each
    layout = read_layout(svg)
    crossed = _crossed(layout, {})
    best: tuple[int, dict[str, str], str] = (len(crossed), {}, svg)
    places: dict[str, str] = {}
    for _ in range(ROUNDS):
        if all(resort[places.get(cid, "tl")[2:]] == places.get(cid, "tl")[2:] for cid in crossed):
            break  # every crossed title has had the last resort allowed already
        titles, arrows = layout
        for cid in crossed:
            now = places.get(cid, "tl")
            free = _free_place(titles.get(cid), arrows)
            places[cid] = free + now[2:] if free else now[:2] + resort[now[2:]]
        svg = render(places)
        layout = titles, arrows = read_layout(svg)
        moved = {cid: (_free_place(titles.get(cid), arrows, p[:2]) or p[:2]) + p[2:] for cid, p in places.items()}
        if moved != places:  # a title changes corner, not the layout: draw it there
            places = moved
            svg = render(places)
            layout = read_layout(svg)
        crossed = _crossed(layout, places)
        if len(crossed) < best[0]:
            best = (len(crossed), dict(places), svg)
    return best[1], best[2]


def _free_place(title: Title | None, arrows: Arrows, now: str = "") -> str | None:
    """``now`` if no arrow crosses ``title`` there, else the first placement no arrow crosses, if any."""
    if title is None:
        return None
    return next((place for place in (now, *PLACES) if place and not title.crossed(place, arrows)), None)


def bezier_points(d: str, steps: int = 12) -> list[tuple[float, float]]:
    """Points along the cubic Bézier path ``d`` (Graphviz writes ``x,y C x,y x,y x,y ...``)."""
    nums = [float(v) for v in _NUMBER.findall(d)]
    pts = list(zip(nums[::2], nums[1::2], strict=False))
    out = pts[:1]
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i : i + 4]
        for s in range(1, steps + 1):
            t = s / steps
            a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t**3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return out


def _unescape(text: str) -> str:
    return html.unescape(text).replace("\u00a0", " ")


__all__ = ["PLACES", "Title", "bezier_points", "clear_titles", "crossed_titles", "read_layout", "text_width"]
