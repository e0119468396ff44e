"""What a diagram shows: an :class:`~modelmap.core.Analysis` reduced to boxes and arrows.

:func:`build_view` is the one place that decides which nodes, edges and clusters a
drawing has, for every diagram format (DOT and what Graphviz renders from it,
Mermaid): the layer graph at the chosen depth, repeated blocks folded into their
first repetition marked ``x N``, skip connections marked on the edges that carry
their shortcut, and the module tree as nested clusters. The text generators only
lay this out in their own syntax.

The view never holds escaped text: names are raw, and each generator escapes them
with its format's one function from :mod:`._escape`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelmap.core import ops
from modelmap.core.kinds import EdgeKind, LayerKind

from . import _paper
from ._options import FOLD_AUTO_LAYERS, DrawOptions

if TYPE_CHECKING:  # pragma: no cover

    from modelmap.core import Analysis

#: A display name longer than this is shortened with an ellipsis (full text in tooltips).
MAX_NAME = 40


#: How each skip kind is named in words (diagram labels, legends, ONNX doc strings).
SKIP_WORDS = {kind: kind.skip.words for kind in EdgeKind if kind.skip is not None}


@dataclass
class ViewNode:
    """A box: a layer, a collapsed module, a graph input/output, or a folded block."""

    id: str
    key: str  # the name of its unit in Analysis.collapse(depth)
    name: str
    path: tuple[str, ...]
    type: str
    kind: LayerKind
    params: int
    shape: tuple[Any, ...] | None
    attrs: dict[str, Any] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    cluster: tuple[str, ...] = ()  # key of the cluster holding it
    repeat: int = 1  # > 1: stands for this many repetitions of a block
    repeat_span: str = ""  # "stage2.1 ... stage2.4"
    repeat_note: str = ""  # "shared weights"
    inner_skips: tuple[EdgeKind, ...] = ()  # skips hidden inside a collapsed module
    mark: str = ""  # a key of _style.MARKS ("added", "changed": draw --diff), "" for none
    role: str = ""  # the name line of a paper-style label ("c_attn"), "" for none (see _paper.name_roles)
    then: str = ""  # the activation written into this box ("ReLU"), "" for none (see _paper.absorb_activations)
    inferred: bool = False  # a module modelmap grouped (core/inferred.py): its name is ours, not the user's


@dataclass
class ViewEdge:
    src: str
    dst: str
    kind: EdgeKind = EdgeKind.DATA
    shape: tuple[Any, ...] | None = None
    label: str = ""


@dataclass
class ViewCluster:
    """A module (or a folded run of units) drawn as a box around its nodes."""

    id: str
    key: tuple[str, ...]
    name: str
    cls: str
    nodes: list[str] = field(default_factory=list)  # node ids directly inside
    children: list[ViewCluster] = field(default_factory=list)
    repeat: int = 1
    repeat_span: str = ""
    repeat_note: str = ""


@dataclass
class View:
    title: str
    direction: str
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    root: ViewCluster  # key (); its own box is never drawn
    depth: int | None
    folded: bool
    notes: list[str] = field(default_factory=list)

    @property
    def skip_kinds(self) -> list[EdgeKind]:
        """Skip kinds drawn as edges, in legend order."""
        present = {e.kind for e in self.edges if e.kind.is_skip}
        return [k for k in EdgeKind if k in present]

    def node(self, node_id: str) -> ViewNode:
        return self._by_id()[node_id]

    def _by_id(self) -> dict[str, ViewNode]:
        return {n.id: n for n in self.nodes}

    def clusters(self) -> Iterable[ViewCluster]:
        """Every cluster below the root, depth first."""
        stack = list(reversed(self.root.children))
        while stack:
            c = stack.pop()
            yield c
            stack.extend(reversed(c.children))


# ------------------------------------------------------------------- text helpers


def display_name(text: str, limit: int = MAX_NAME, middle: bool = False) -> str:
    """One line of at most ``limit`` characters (whitespace collapsed, ellipsis at the end,
    or in the ``middle`` so that a name's distinguishing tail stays)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    if middle:
        tail = (limit - 1) // 2
        return text[: limit - 1 - tail] + "\u2026" + text[len(text) - tail :]
    return text[: limit - 1] + "\u2026"


def shape_text(shape: tuple[Any, ...] | list[Any] | None) -> str:
    """``(1, 64, 32, 32)`` -> ``1×64×32×32``; unknown dims as ``?``; ``""`` if unknown."""
    if shape is None:
        return ""
    if len(shape) == 0:
        return "scalar"
    return "\u00d7".join("?" if d is None else display_name(str(d), 12) for d in shape)


def params_text(n: int) -> str:
    """``36928`` -> ``36.9K params``."""
    if n < 1000:
        return f"{n} params"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit} params"
    return f"{n} params"  # pragma: no cover


#: Layers whose width (channels, features, units) the label shows.
_SIZED_KINDS = (LayerKind.CONV, LayerKind.LINEAR, LayerKind.EMBEDDING, LayerKind.RECURRENT)
_IO_KINDS = (LayerKind.INPUT, LayerKind.OUTPUT)


def hyper_text(node: ViewNode) -> str:
    """A short summary of a layer's hyper-parameters: ``3×3/2``, ``64``."""
    attrs = node.attrs or {}
    parts = []
    k = attrs.get("kernel_shape")
    if isinstance(k, (list, tuple)) and k:
        parts.append("\u00d7".join(str(d) for d in k))
        s = attrs.get("strides")
        if isinstance(s, (list, tuple)) and s and any(d != 1 for d in s):
            parts[-1] += "/" + ("\u00d7".join(str(d) for d in s) if len(set(s)) > 1 else str(s[0]))
    if node.kind in _SIZED_KINDS:
        for key in ("channels", "features", "units"):
            v = attrs.get(key)
            if isinstance(v, int):
                parts.append(str(v))
                break
    return ", ".join(parts)


def merge_symbol(node: ViewNode) -> str | None:
    """The glyph of a merge layer (``+``, ``×``, ``concat``), or None for other layers."""
    return ops.merge_symbol(node.type) if node.kind == LayerKind.MERGE else None


def node_label(node: ViewNode, options: DrawOptions, show_names: bool = True) -> str:
    """The lines of a node's label, raw (each format escapes them its own way).

    ``show_names`` False (the paper style) shows the box's ``role`` (its short name) only
    where :func:`._paper.name_roles` gave it one.
    """
    if node.kind in _IO_KINDS:
        lines = [display_name(node.name if show_names else node.role or node.name)]
        if options.shapes and node.shape is not None:
            lines.append(shape_text(node.shape))
        return "\n".join(lines)
    kind_line = display_name(node.type or node.kind, 32)
    hyper = hyper_text(node)
    if hyper:
        kind_line += f" {hyper}"
    name = node.name if show_names else node.role
    if node.then:
        kind_line += f", {node.then}"
    if not show_names and node.repeat > 1:  # paper: "ResidualBlock × 4" on one line
        kind_line += f" {_times(node.repeat, node.repeat_note)}"
    if not show_names and name and node.kind is LayerKind.MODULE and node.type in _paper.CONTAINERS:
        kind_line = ""  # paper: a container box is named by its role ("stage1"), not "Sequential"
    lines = [line for line in (display_name(name, middle=True) if name else "", kind_line) if line]
    if options.shapes and node.shape is not None:
        lines.append(shape_text(node.shape))
    if options.params and node.params:
        lines.append(params_text(node.params))
    if show_names:
        lines += [f"+ {SKIP_WORDS[kind]}" for kind in node.inner_skips]
    elif node.inner_skips:  # paper: one line
        lines.append(_skips_line(node.inner_skips))
    if show_names and node.repeat > 1:
        times = _times(node.repeat, node.repeat_note)
        lines.append(f"{times}  ({node.repeat_span})" if node.repeat_span else times)
    return "\n".join(lines)


def _times(count: int, note: str) -> str:
    """``× 4``, or ``× 2, shared weights``."""
    return f"\u00d7 {count}, {note}" if note else f"\u00d7 {count}"


def _skips_line(kinds: tuple[EdgeKind, ...]) -> str:
    """``+ projection, identity shortcut``: the skips' words on one line, a shared last word once."""
    words = [SKIP_WORDS[kind] for kind in kinds]
    heads, tails = zip(*(w.rsplit(" ", 1) if " " in w else (w, "") for w in words))
    if len(words) > 1 and len(set(tails)) == 1 and tails[0]:
        return "+ " + ", ".join(heads) + f" {tails[0]}"
    return "+ " + ", ".join(words)


def cluster_label(cluster: ViewCluster, show_names: bool = True) -> str:
    """A cluster's title: ``stage1 · Sequential``, or ``× 4  ResidualBlock  (stage2.1 … stage2.4)``."""
    name = display_name(cluster.name if show_names else _paper.cluster_name(cluster))
    # the paper style leaves out container classes: "stage1", a short title arrows pass by
    says = cluster.cls and cluster.cls.lower() != cluster.name.lower() and (show_names or cluster.cls not in _paper.CONTAINERS)
    text = f"{name} \u00b7 {display_name(cluster.cls, 32)}" if says else name
    if cluster.repeat > 1:
        text = f"{_times(cluster.repeat, cluster.repeat_note)}  {display_name(cluster.cls or cluster.name, 32)}"
        if show_names and cluster.repeat_span:
            text += f"  ({cluster.repeat_span})"
    return text


# ------------------------------------------------------------------------ building


#: The deepest module nesting a drawing shows (deeper modules are collapsed).
MAX_NESTING = 64


def build_view(analysis: Analysis, options: DrawOptions) -> View:
    """The boxes, arrows and clusters of ``analysis`` drawn with ``options``."""
    depth = analysis.view_depth(options.depth)
    if depth is not None and depth >= analysis.max_depth:
        depth = None
    capped = (depth or analysis.max_depth) > MAX_NESTING
    if capped:  # no drawing nests clusters hundreds deep; the renderers' parsers recurse
        depth = MAX_NESTING
    units = analysis.collapse(depth)
    group = units.group
    fold = options.fold if options.fold is not None else len(units) > FOLD_AUTO_LAYERS

    nodes: dict[str, ViewNode] = {}
    for i, unit in enumerate(units):
        nodes[unit.name] = ViewNode(
            id=f"n{i}",
            key=unit.name,
            name=unit.name,
            path=unit.path,
            type=unit.type,
            kind=unit.kind,
            params=unit.params,
            shape=tuple(unit.output_shape) if unit.output_shape is not None else None,
            attrs=dict(unit.attrs),
            members=unit.members,
            cluster=unit.path[:-1],  # the module holding it
            inferred=unit.kind is LayerKind.MODULE and bool(getattr(analysis.tree.get(unit.path), "inferred", "")),
        )
    edges: dict[tuple[str, str], ViewEdge] = {}
    for unit in units:  # arrows by source, in the order each source's outputs are listed
        for link in units.out_links(unit):
            edges[(link.src, link.dst)] = ViewEdge(
                nodes[link.src].id, nodes[link.dst].id, shape=tuple(link.shape) if link.shape is not None else None
            )

    notes: list[str] = [f"modules deeper than {MAX_NESTING} levels collapsed"] if capped else []
    synthetic: dict[tuple[str, ...], ViewCluster] = {}
    alias: dict[str, str] = {}  # a folded-away node -> the node of the first repetition
    if fold:
        _fold(analysis, group, nodes, edges, synthetic, alias, notes)
    _mark_skips(analysis, group, nodes, edges, alias)
    paper = options.style == "paper"
    if paper:
        _paper.contract(nodes, edges, _paper.plumbing(analysis, nodes, edges))
        _paper.contract(nodes, edges, _paper.rotary(nodes, edges))
    _paper.place_opless(analysis, nodes, edges)
    if paper:
        _paper.absorb_activations(nodes, edges)

    kept = list(nodes.values())
    id_of = {n.key: n.id for n in kept}
    alive = set(id_of.values())
    edge_list = [e for e in edges.values() if e.src in alive and e.dst in alive]
    root = _clusters(analysis, kept, synthetic)
    if paper:
        _paper.name_roles(root, {n.id: n for n in kept}, lambda n: node_label(n, options, show_names=False), edge_list)
        _paper.name_outputs(kept)
    title = options.title if options.title is not None else model_title(analysis)
    return View(title=title or "", direction=options.direction, nodes=kept, edges=edge_list, root=root,
                depth=depth, folded=fold, notes=notes)


#: Graph names exporters give every model; they say nothing, so they make no title.
GENERIC_GRAPH_NAMES = frozenset(
    {"", "main_graph", "torch_jit", "torch-jit-export", "tf2onnx", "model", "graph", "functional", "sequential"}
)


def model_title(analysis: Analysis) -> str:
    """The model's graph name as a title (shortened: it is outside data), or "" for a generic one."""
    name = analysis.model.graph.name if analysis.model is not None else ""
    return "" if name.strip().lower() in GENERIC_GRAPH_NAMES else display_name(name, 4 * MAX_NAME, middle=True)


def _fold(
    analysis: Analysis,
    group: dict[str, str],
    nodes: dict[str, ViewNode],
    edges: dict[tuple[str, str], ViewEdge],
    synthetic: dict[tuple[str, ...], ViewCluster],
    alias: dict[str, str],
    notes: list[str],
) -> None:
    """Replace every run of repeated units by its first unit, marked ``x count``.

    Blocks are folded outermost first; a block whose units were already folded
    away by an enclosing block, or whose units share nodes at this depth, is left
    (a shared module collapsed into one box is marked ``x count, shared weights``).
    Arrows out of the last repetition leave from the same position of the first. A
    first unit with extra layers (T5's block 0) is drawn apart and the rest folded.
    """
    for b_index, block in enumerate(sorted(analysis.blocks, key=lambda b: len(b.parent))):
        units, members = block.units, block.members
        note = "shared weights" if block.shared else ""
        if block.first_extra:
            units, members = units[1:], members[1:]
            note = "without " + ", ".join(display_name(x.rsplit(".", 1)[-1], 24) for x in block.first_extra)
        count = len(units)
        if count < 2 or len(block.units) != block.count:
            continue
        unit_keys = [[group.get(leaf) for leaf in unit] for unit in units]
        if any(k is None or k not in nodes for unit in unit_keys for k in unit):
            continue  # part of a unit was folded away by an enclosing block
        sets = [set(u) for u in unit_keys]
        if any(sets[i] & sets[j] for i in range(len(sets)) for j in range(i + 1, len(sets))):
            one = set().union(*sets)
            if block.shared and len(one) == 1:  # the shared module is one box
                node = nodes[next(iter(one))]
                node.repeat, node.repeat_span, node.repeat_note = count, "", note
            if not block.shared or len(one) == 1:
                continue  # units collapsed together at this depth: nothing to fold
            sets = _unshare(unit_keys, sets, edges)
        first = unit_keys[0]
        to_first = {key: first[pos] for unit in unit_keys[1:] if len(unit) == len(first) for pos, key in enumerate(unit)}
        removed = set().union(*sets[1:])
        for (u, v), e in list(edges.items()):
            if u not in removed and v not in removed:
                continue
            del edges[(u, v)]
            if u in removed and v not in removed and v not in sets[0]:
                nu = to_first.get(u)  # what follows the run
                if nu is not None and (nu, v) not in edges:
                    edges[(nu, v)] = ViewEdge(nodes[nu].id, e.dst, shape=e.shape)
            elif v in removed and u not in removed and u not in sets[0]:
                nv = to_first.get(v)  # an outside input every repetition reads
                if nv is not None and (u, nv) not in edges:
                    edges[(u, nv)] = ViewEdge(e.src, nodes[nv].id, shape=e.shape)
        for key in removed:
            del nodes[key]
            if key in to_first:
                alias[key] = to_first[key]
        # a shared module's calls have one name
        span = "" if block.shared else f"{display_name(members[0], 24)} \u2026 {display_name(members[-1], 24)}"
        module_path = block.parent + (members[0],)
        if len(set(first)) == 1:
            node = nodes[first[0]]  # one box per unit: a collapsed module or a single layer
            node.repeat, node.repeat_span, node.repeat_note = count, span, note
        elif module_path in analysis.tree and all(nodes[k].path[: len(module_path)] == module_path for k in first):
            synthetic[module_path] = ViewCluster(
                "", module_path, members[0], block.name, repeat=count, repeat_span=span, repeat_note=note
            )
        else:
            fk = block.parent + (f"\x00fold{b_index}",)
            synthetic[fk] = ViewCluster(
                "", fk, block.name, block.name, repeat=count, repeat_span=span, repeat_note=note
            )
            for key in set(first):
                if nodes[key].cluster == block.parent:
                    nodes[key].cluster = fk
        where = "/".join(block.parent) or "the model"
        notes.append(f"folded {count} x {block.name}{', ' + note if note else ''} in {where} into one")


def _unshare(
    unit_keys: list[list[str | None]], sets: list[set[str | None]], edges: dict[tuple[str, str], ViewEdge]
) -> list[set[str | None]]:
    """A shared module's calls share the boxes of its parts collapsed at this depth: the
    later calls keep only their own boxes, and arrows from one call into the next (a loop
    once folded) go."""
    at = {key: pos for pos, key in reversed(list(enumerate(unit_keys[0])))}
    for u, v in [(u, v) for u, v in edges if u in at and v in at and at[u] > at[v]]:
        del edges[(u, v)]
    return [sets[0]] + [s - sets[0] for s in sets[1:]]


def _mark_skips(
    analysis: Analysis,
    group: dict[str, str],
    nodes: dict[str, ViewNode],
    edges: dict[tuple[str, str], ViewEdge],
    alias: dict[str, str],
) -> None:
    """Mark the edges that carry each skip's shortcut with the skip's kind.

    A skip inside a folded-away repetition is not drawn; one that starts in the last
    repetition of a folded run starts from the same place in the first.
    """
    for skip in analysis.skips:
        kind = EdgeKind.of(skip.kind)
        fork, merge = group.get(skip.fork), group.get(skip.merge)
        if merge not in nodes:
            continue  # folded away with a repetition
        fork = alias.get(fork, fork) if fork is not None else None
        if fork not in nodes:
            continue
        body = {group.get(b) for b in skip.body} - {None}
        if fork == merge or body <= {fork, merge}:
            node = nodes[merge]
            if kind not in node.inner_skips:
                node.inner_skips = node.inner_skips + (kind,)
            continue
        chain = [fork]
        for s in skip.shortcut:
            k = group.get(s)
            if k in nodes and k != chain[-1]:
                chain.append(k)
        if chain[-1] != merge:
            chain.append(merge)
        for i, (u, v) in enumerate(zip(chain, chain[1:], strict=False)):
            e = edges.get((u, v))
            if e is None:
                e = edges[(u, v)] = ViewEdge(nodes[u].id, nodes[v].id)
            if e.kind is EdgeKind.DATA:
                e.kind = kind
            if i == len(chain) - 2:
                e.label = kind.value


def _clusters(analysis: Analysis, nodes: list[ViewNode], synthetic: dict[tuple[str, ...], ViewCluster]) -> ViewCluster:
    """The module tree around ``nodes``, as nested clusters (ids c0, c1... depth first)."""
    root = ViewCluster("", (), "", "")
    made: dict[tuple[str, ...], ViewCluster] = {(): root}

    def get(key: tuple[str, ...]) -> ViewCluster:
        if key in made:
            return made[key]
        parent = get(key[:-1])
        if key in synthetic:
            c = synthetic[key]
        else:
            mod = analysis.tree.get(key)
            c = ViewCluster("", key, mod.name if mod is not None else key[-1], mod.cls if mod is not None else "")
        made[key] = c
        parent.children.append(c)
        return c

    for n in nodes:
        get(n.cluster).nodes.append(n.id)
    # a synthetic fold cluster whose nodes all left it (nothing kept) stays unmade
    counter = 0
    stack = list(reversed(root.children))
    while stack:
        c = stack.pop()
        c.id = f"c{counter}"
        counter += 1
        stack.extend(reversed(c.children))
    return root


def node_tooltip(node: ViewNode) -> str:
    """Full, untruncated text about a node (tooltips, titles)."""
    parts = ["/".join(node.path) or node.name, node.type]
    if node.shape is not None:
        parts.append(shape_text(node.shape))
    if node.params:
        parts.append(f"{node.params:,} params")
    if node.repeat > 1:
        note = f", {node.repeat_note}" if node.repeat_note else ""
        parts.append(f"x {node.repeat}{note}" + (f" ({node.repeat_span})" if node.repeat_span else ""))
    return " | ".join(p for p in parts if p)


__all__ = [
    "EdgeKind",
    "SKIP_WORDS",
    "View",
    "ViewCluster",
    "ViewEdge",
    "ViewNode",
    "build_view",
    "cluster_label",
    "display_name",
    "hyper_text",
    "merge_symbol",
    "node_label",
    "node_tooltip",
    "params_text",
    "shape_text",
]
