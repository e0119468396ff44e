"""An interactive, self-contained HTML view of a model (``.html``).

``modelmap draw MODEL -o model.html`` writes one file that opens from disk or inside
Jupyter without any network request. It opens at the top-level modules with repeated
blocks folded ``x N``; a click expands a module or unfolds a run in place, and the
layout is redone by ELK (``elkjs``, vendored in ``assets/`` with its licence). Skip
connections are drawn by kind with a legend; hovering or clicking a box shows its type,
output shape, parameters (MACs when the analysis has them) and, for a merge, why it is
or is not a skip. A search box finds a layer by name and brings it into view; the view
pans, zooms and exports itself as SVG or PNG.

Asked for a page (``fit``, or ``style="paper"``: 7 x 9 in), it opens at the depth and
folding the other formats draw for that page, a folded run whose repetition is more than
one box drawn as its first, titled ``x N``; the paper style is the paper figure's look and
text box by box, and its SVG/PNG export is that figure (:mod:`._html_figure`). ``depth``
and ``fold`` given set the first view too.

Only what is visible is laid out: a collapsed module or a folded run is one box, so a
model of 50,000 ops opens as fast as one of fifty. The model goes into the page as
compact JSON (columns, a string table), see :func:`build_data`.

Safety: nothing from a model can run as script. The data sits in a
``<script type="application/json">`` block with ``<``, ``>``, ``&`` and U+2028/U+2029
escaped (:func:`._escape.script_json`) and is read with ``JSON.parse``; the page builds
its DOM with ``textContent`` only; a Content-Security-Policy allows exactly the page's
two scripts (by hash) and no network at all.

Jupyter: :func:`repr_html_bundle` returns the page as a sandboxed ``<iframe srcdoc>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from modelmap.core.kinds import LayerKind

from ._escape import script_json, xml_text
from ._html_figure import figure_graph, first_view, paper_figure
from ._options import DrawOptions
from ._style import EDGE_STYLES, KIND_FILL
from ._view import SKIP_WORDS, EdgeKind, model_title, hyper_text, shape_text

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

ASSETS = Path(__file__).with_name("assets")

#: Runs of more than this many repetitions unfold a page at a time (see html_view.js).
UNFOLD_PAGE = 8
#: A module with more entries (children; a run counts once) than 1.5 times this draws this many
#: at a time, the rest as "N more" boxes: an ONNX file without hierarchy has every op at the top.
WINDOW = 60


# ----------------------------------------------------------------------------- what the view reads


@dataclass
class TreeNode:
    """One node of the module tree as the view draws it (a module or a leaf layer)."""

    name: str
    key: str  # the box's data-path: the layer name, or the module's name
    parent: int  # index of the parent node, -1 for the model
    cls: str  # module class, or the layer's type
    kind: LayerKind  # MODULE for containers
    params: int = 0
    shape: str = ""  # output shape as text, "" if unknown
    hyper: str = ""  # hyper-parameters as text ("3×3/2, 64")
    macs: int | None = None


@dataclass
class Source:
    """Everything the HTML view needs, with layers as indices into ``nodes`` (pre-order)."""

    title: str
    framework: str
    converter: str
    op_count: int
    params: int
    nodes: list[TreeNode]
    edges: list[tuple[int, int]]  # leaf -> leaf data flow
    skips: list[tuple[str, int, int, tuple[int, ...], tuple[int, ...]]]  # kind, fork, merge, shortcut, body
    blocks: list[tuple[str, int, list[list[int]]]]  # name, parent node, each unit's children of the parent
    notes: dict[int, list[str]] = field(default_factory=dict)  # merge node -> why it is not a skip
    index: dict[tuple[str, ...], int] = field(default_factory=dict)  # module or layer path -> node


def read_analysis(analysis: Analysis) -> Source:
    """THE ONE PLACE THAT READS THE ANALYSIS (module tree, layers, skips, blocks, rejections).

    When the Analysis interface changes, only this function and its two helpers below
    (:func:`_tree_node`, :func:`_unit_children`) change. It walks
    ``analysis.tree`` depth first in execution order, so that every module's subtree is
    a contiguous range of node indices (the page relies on it).
    """
    layers = analysis.layers
    by_path = {tuple(layer.path): layer for layer in layers}
    tree = analysis.tree
    extra: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in by_path:  # layers missing from the tree hang under their nearest ancestor
        if path not in tree:
            anc = next(path[:i] for i in range(len(path) - 1, -1, -1) if path[:i] in tree or i == 0)
            extra.setdefault(anc, []).append(path)
    nodes: list[TreeNode] = []
    index: dict[tuple[str, ...], int] = {}
    shapes: dict[Any, str] = {}  # shape -> text, each distinct shape formatted once
    stack: list[tuple[tuple[str, ...], int]] = [((), -1)]
    while stack:
        path, parent = stack.pop()
        index[path] = len(nodes)
        mod, layer = tree.get(path), by_path.get(path)
        nodes.append(_tree_node(path, parent, mod, layer, shapes))
        kids = list(mod.children if mod is not None else ()) + extra.get(path, [])
        stack.extend((c, index[path]) for c in reversed(kids))
    at = {layer.name: index[tuple(layer.path)] for layer in layers}
    edges = [(at[layer.name], at[o]) for layer in layers for o in layer.outputs if o in at]
    skips = [
        (s.kind.value, at[s.fork], at[s.merge],
         tuple(at[x] for x in s.shortcut if x in at), tuple(at[x] for x in s.body if x in at))
        for s in analysis.skips if s.fork in at and s.merge in at
    ]
    blocks = []
    for b in analysis.blocks:
        parent = tuple(b.parent)
        if parent in index:  # a first unit with extra layers (T5's block 0) stands apart, as in the figures
            units = [_unit_children(unit, index[parent], at, nodes) for unit in b.units[1 if b.first_extra else 0:]]
            blocks.append((b.name, index[parent], units))
    notes: dict[int, list[str]] = {}
    for r in analysis.rejections:
        if r.merge in at:
            notes.setdefault(at[r.merge], []).append(r.reason)
    return Source(model_title(analysis) or "model", analysis.framework, analysis.converter,
                  analysis.op_count, analysis.params, nodes, edges, skips, blocks, notes, index)


def _tree_node(path: tuple[str, ...], parent: int, mod: Any, layer: Any, shapes: dict[Any, str]) -> TreeNode:
    """A module-tree node (``mod``) and, for a leaf, its layer, as the view draws it."""
    if layer is not None and (mod is None or mod.leaf or not mod.children):
        kind = LayerKind(layer.kind)
        shape = layer.output_shape
        if shape not in shapes:
            shapes[shape] = shape_text(shape)
        return TreeNode(
            name=layer.name, key=layer.name, parent=parent, cls=layer.type, kind=kind, params=int(layer.params),
            shape=shapes[shape], hyper=hyper_text(SimpleNamespace(attrs=layer.attrs, kind=kind)),
            macs=getattr(layer, "macs", None),
        )
    name = mod.name if mod is not None and mod.name else "/".join(path)
    return TreeNode(name=name, key=name, parent=parent, cls=mod.cls if mod is not None else "", kind=LayerKind.MODULE,
                    params=int(mod.params) if mod is not None else 0)


def _unit_children(unit: Any, parent: int, layers_at: dict[str, int],
                   nodes: list[TreeNode]) -> list[int]:
    """The children of node ``parent`` that one repetition's leaf layers sit in, in order."""
    out: list[int] = []
    for name in unit:
        i = layers_at.get(name, -1)
        chain = []
        while i >= 0 and i != parent:
            chain.append(i)
            i = nodes[i].parent
        if i == parent and chain and chain[-1] not in out:
            out.append(chain[-1])
    return out


# ----------------------------------------------------------------------------- the compact data


class _Strings:
    """A string table: each distinct string once, referred to by index (-1 for "")."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        if not s:
            return -1
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.items)
            self.items.append(s)
        return i


def build_data(source: Source, options: DrawOptions, initial: dict[str, Any] | None = None,
               paper: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON object the page reads: node columns, edges, skips, blocks, notes, styles.

    ``initial`` is the first view, ``{"depth": N or null, "fold": bool, "page": "7 x 9 in" or
    null}`` (see :func:`._html_figure.first_view`; default: ``options``' depth and folding);
    ``paper`` the paper style's boxes (:func:`._html_figure.paper_figure`), null in the
    detailed style.

    Kept compact for models of 50k ops: nodes are in pre-order and ``up[i]`` is
    ``i - parent(i)`` (0 for the model); a name that is its parent's name plus ``.`` or
    ``/`` and more is stored as the rest, with ``pre[i]`` 1 or 2 (else 0); ``cls``,
    ``kind``, ``shape`` and ``hyper`` index ``strings`` (-1: none); ``keys`` holds the
    data-paths that differ from the name. ``edges`` is a flat list of pairs
    ``(u - previous u, v - u)``; a skip is ``[kind, merge, merge - fork,
    [merge - shortcut layer...], [merge - body layer...]]``.
    """
    strings = _Strings()
    nodes = source.nodes
    macs = [n.macs for n in nodes]
    names, pre = _short_names(nodes)
    return {
        "version": 1,
        "title": source.title,
        "framework": source.framework,
        "converter": source.converter,
        "ops": source.op_count,
        "params": source.params,
        "options": _page_options(options),
        "initial": initial or {"depth": options.depth, "fold": options.fold is not False, "page": None},
        "paper": paper,
        "style": _page_style(),
        "name": names,
        "pre": pre,
        "up": [i - n.parent if n.parent >= 0 else 0 for i, n in enumerate(nodes)],
        "cls": [strings(n.cls) for n in nodes],
        "kind": [strings(n.kind) for n in nodes],
        "nparams": [n.params for n in nodes],
        "shape": [strings(n.shape) for n in nodes],
        "hyper": [strings(n.hyper) for n in nodes],
        "keys": {str(i): k for i, k in _unique_keys(nodes).items()},
        "macs": macs if any(m is not None for m in macs) else None,
        "edges": _edge_deltas(source.edges),
        "skips": [[strings(k), m, m - f, [m - x for x in sc], [m - x for x in body]]
                  for k, f, m, sc, body in source.skips],
        "blocks": _valid_blocks(source, strings),
        "notes": {str(i): reasons for i, reasons in source.notes.items()},
        "strings": strings.items,
    }


_SEPARATORS = ("", ".", "/")  # pre[i] -> what joins a parent's name and the rest


def _short_names(nodes: list[TreeNode]) -> tuple[list[str], list[int]]:
    names: list[str] = []
    pre: list[int] = []
    for n in nodes:
        p = nodes[n.parent].name if n.parent > 0 else ""
        flag = _SEPARATORS.index(n.name[len(p)]) if p and len(n.name) > len(p) + 1 and n.name.startswith(p) \
            and n.name[len(p)] in "./" else 0
        names.append(n.name[len(p) + 1:] if flag else n.name)
        pre.append(flag)
    return names, pre


def _edge_deltas(edges: list[tuple[int, int]]) -> list[int]:
    out: list[int] = []
    last = 0
    for u, v in edges:
        out += (u - last, v - u)
        last = u
    return out


def _unique_keys(nodes: list[TreeNode]) -> dict[int, str]:
    """Nodes whose data-path must differ from their name, so that every box's is unique."""
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for i, n in enumerate(nodes):
        key = n.key if i else ""
        if key in seen:
            key = f"{key}#{i}"
            out[i] = key
        elif key != n.name:
            out[i] = key
        seen[key] = i
    return out


def _valid_blocks(source: Source, strings: _Strings) -> list[list[Any]]:
    """Blocks the page can fold: >= 2 non-empty units, no child in two units or two blocks."""
    taken: set[int] = set()
    out = []
    for name, parent, units in source.blocks:
        flat = [c for u in units for c in u]
        if len(units) < 2 or any(not u for u in units) or len(set(flat)) != len(flat) or taken & set(flat):
            continue
        taken.update(flat)
        out.append([strings(name), parent, units])
    return out


def _page_options(options: DrawOptions) -> dict[str, Any]:
    return {
        "direction": "RIGHT" if options.direction == "LR" else "DOWN",
        "shapes": options.shapes,
        "params": options.params,
        "legend": options.legend,
        "paper": options.style == "paper",
        "page": UNFOLD_PAGE,
        "window": WINDOW,
    }


def _page_style() -> dict[str, Any]:
    """Colours shared with the other diagram formats (``_style``)."""
    edges = {
        k.value: {"colour": s.colour, "gray": s.gray, "width": s.width, "dash": s.dasharray}
        for k, s in EDGE_STYLES.items()
    }
    return {"fills": dict(KIND_FILL), "edges": edges, "words": {k.value: w for k, w in SKIP_WORDS.items()},
            "kinds": [k.value for k in EdgeKind if k.is_skip]}


# ----------------------------------------------------------------------------- the page


@lru_cache(maxsize=None)
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def _inline_script(text: str) -> str:
    """A script's text, checked to be safe between ``<script>`` tags."""
    if re.search(r"</script|<!--", text, re.IGNORECASE):
        raise ValueError("an inlined script contains </script or <!--")
    return text


def html_page(data: dict[str, Any], title: str) -> str:
    """The whole page for ``data`` (see :func:`build_data`)."""
    elk = _inline_script(_asset("elk.bundled.js"))
    view = _inline_script(_asset("html_view.js"))
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(elk)} {_csp_hash(view)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; "
        "connect-src 'none'; font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    )
    fills = {
        "CSP": xml_text(csp),
        "TITLE": xml_text(title),
        "STYLE": _asset("html_view.css"),
        "DATA": script_json(data),
        "ELK": elk,
        "VIEW": view,
    }
    # one pass, so that nothing filled in is read for markers again
    return re.sub(r"@@([A-Z]+)@@", lambda m: fills[m.group(1)], _asset("html_view.html"))


def generate_html(analysis: Analysis, options: DrawOptions | None = None) -> str:
    """The interactive HTML view of ``analysis``: one self-contained page."""
    options = options or DrawOptions()
    source = read_analysis(analysis)
    if options.title is not None:
        source.title = options.title
    initial = first_view(analysis, options)
    paper = None
    if options.style == "paper":
        paper = paper_figure(analysis, source, options, initial)
    elif initial["page"]:  # --fit in the detailed style: the figure's arrows too (op-less layers on the data path)
        figure_graph(analysis, source, options)
    return html_page(build_data(source, options, initial, paper), f"{source.title} \u2014 modelmap")


def repr_html_bundle(analysis: Analysis, options: DrawOptions | None = None, height: int = 640) -> dict[str, str]:
    """Jupyter's ``text/html``: the page in a sandboxed ``<iframe srcdoc>``.

    The iframe keeps the page's Content-Security-Policy and scripts apart from the
    notebook's (``allow-scripts`` without ``allow-same-origin``: an opaque origin);
    ``allow-downloads`` lets the SVG/PNG export save files.
    """
    page = generate_html(analysis, options)
    iframe = (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts allow-downloads" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ddd;border-radius:4px" '
        'title="modelmap interactive view"></iframe>'
    )
    return {"text/html": iframe}


__all__ = ["Source", "TreeNode", "build_data", "generate_html", "html_page", "read_analysis", "repr_html_bundle"]
