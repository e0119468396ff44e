"""What a reader sees as a box: plumbing absorbed, op-less layers placed, labels that differ.

Three steps of :func:`~._view.build_view`, all on the view's dicts of boxes and arrows
(keyed by unit name) before clusters are made:

- :func:`plumbing` and :func:`contract`: in the paper style, a layer that is exporter
  plumbing (all its ops reshape, transpose, cast, compute shapes or masks: see
  :data:`PLUMBING_OPS`), a layer that left no op and has no weights (an eval-mode
  Dropout), and a merge glyph with a single input (a scale or a mask added to one
  tensor) get no box: each arrow into it is joined to each arrow out of it, keeping the
  skip kind either carried;
- :func:`place_opless`: a layer that left no op and has no arrow (a PyTorch Dropout: the
  framework's table names it, the graph has no trace of it) is put on the data path
  where it was called, after the layer called before it in the same module; one with
  weights that other ops read (Mamba's ``dt_proj``) points at the boxes reading them;
- :func:`name_roles`: the paper style names a box by its short name (``c_attn``,
  ``q_proj``, ``attn``) when the name says more than its type, and whenever two boxes of
  one cluster share a type; a name made up from an op type by a role from the graph;
- :func:`cluster_name`: a cluster's title names its module within its parent (``attn``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from modelmap.core import ops
from modelmap.core.kinds import LayerKind

from . import _roles

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

    from ._view import View, ViewCluster, ViewEdge, ViewNode

_K = LayerKind
#: Ops that only move, cast or index data, compute shapes, constants or masks: plumbing.
PLUMBING_OPS: frozenset[str] = frozenset(
    {op for op, kind in ops.OP_KINDS.items() if kind in (_K.RESHAPE, _K.IDENTITY, _K.SHAPE, _K.CONSTANT, _K.DROPOUT)}
    - {"DepthToSpace", "SpaceToDepth", "Col2Im"}
    | set("Where IsNaN IsInf Equal Less Greater LessOrEqual GreaterOrEqual Not And Or Xor Trilu".split())
)

Edges = dict[tuple[str, str], "ViewEdge"]

#: Container classes a paper title leaves out (``stage1``, not ``stage1 · Sequential``).
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict", "Functional", "Model"})


def plumbing(analysis: Analysis, nodes: dict[str, ViewNode], edges: Edges) -> list[str]:
    """The boxes (unit names, in view order) the paper style absorbs into arrows."""
    fan_in: dict[str, int] = {}
    for _, v in edges:
        fan_in[v] = fan_in.get(v, 0) + 1
    found = []
    for key, node in nodes.items():
        if node.kind in (_K.INPUT, _K.OUTPUT, _K.MODULE) or len(node.members) != 1 or node.repeat > 1:
            continue
        layer = analysis.layer(node.members[0])
        if not layer.ops and not layer.params:  # a layer with weights never vanishes (place_opless)
            found.append(key)
        elif node.kind is _K.MERGE and fan_in.get(key, 0) < 2 and not node.inner_skips and not layer.params:
            found.append(key)
        elif node.kind is not _K.EMBEDDING and not layer.params and _all_plumbing(analysis, layer):
            found.append(key)
    return found


#: Rotary position arithmetic, ``x * cos + cat(-x2, x1) * sin``: a Neg feeding a Concat
#: feeding an Add or Sub (its multiplications by the tables are single-input glyphs).
_ROTATE_HALF = ("Neg", "Concat", ("Add", "Sub"))


def rotary(nodes: dict[str, ViewNode], edges: Edges) -> list[str]:
    """The boxes of rotary position arithmetic (in view order), which the paper style absorbs
    into the attention as it absorbs the rotary table's plumbing: every ``Neg -> Concat ->
    Add`` chain of parameter-free boxes (rotate half), and a Concat that joins the rotated
    part with the part left as it was (a partial rotary: GPT-NeoX, Phi)."""
    outs, _ = _adjacency(edges)

    def of(key: str, types: str | tuple[str, ...]) -> list[str]:
        return [v for v in outs.get(key, ()) if nodes[v].type in types and not nodes[v].params and nodes[v].repeat == 1]

    neg, cat, add = _ROTATE_HALF
    found = set()
    for key, node in nodes.items():
        if node.type == neg and not node.params and node.repeat == 1:
            for c in of(key, cat):
                for m in of(c, add):
                    found |= {key, c, m}
    adds = [k for k in found if nodes[k].type in add]
    found |= {c for k in adds for c in of(k, cat)}
    return [k for k in nodes if k in found]


def _all_plumbing(analysis: Analysis, layer: object) -> bool:
    """Whether every op of ``layer`` is plumbing: a plumbing op, or one that makes only
    integer or boolean tensors (position ids from a CumSum over a padding mask, RoBERTa)."""
    return all(op.op_type in PLUMBING_OPS or _indices(op) for op in analysis.ops(layer))  # type: ignore[arg-type]


def _indices(op: object) -> bool:
    outputs = getattr(op, "outputs", ())
    return bool(outputs) and all(str(t.dtype).startswith(("int", "uint", "bool")) for t in outputs)


def contract(nodes: dict[str, ViewNode], edges: Edges, keys: Iterable[str]) -> None:
    """Remove the boxes ``keys``, joining every arrow into one to every arrow out of it.

    A joined arrow is a skip of the kind either part carried (the later part's label);
    an arrow already there between the same boxes keeps its place and takes the skip kind.
    """
    from ._view import ViewEdge

    into: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    for u, v in edges:
        out.setdefault(u, []).append(v)
        into.setdefault(v, []).append(u)
    for key in keys:
        srcs = [u for u in into.pop(key, []) if (u, key) in edges]
        dsts = [v for v in out.pop(key, []) if (key, v) in edges]
        for u in srcs:
            first = edges.pop((u, key))
            for v in dsts:
                if u == v:
                    continue
                second = edges[(key, v)]
                kind = second.kind if second.kind.is_skip else first.kind
                label = second.label or first.label
                joined = edges.get((u, v))
                if joined is None:
                    edges[(u, v)] = ViewEdge(first.src, second.dst, kind=kind, shape=second.shape, label=label)
                    out.setdefault(u, []).append(v)
                    into.setdefault(v, []).append(u)
                elif kind.is_skip and not joined.kind.is_skip:
                    joined.kind, joined.label = kind, label
        for v in dsts:
            edges.pop((key, v), None)
        del nodes[key]


#: Boxes an activation may be written into (not a graph input or output, a glyph, a module).
_TAKES_ACTIVATION = frozenset(_K) - {_K.INPUT, _K.OUTPUT, _K.MERGE, _K.MODULE, _K.ACTIVATION}


def absorb_activations(nodes: dict[str, ViewNode], edges: Edges) -> None:
    """Write an activation into the box of the layer it directly follows (``Conv2d 3×3, 64,
    ReLU``), as papers do: when that layer feeds the activation only, in the same module,
    on a plain arrow, and neither is folded. Its arrows out leave from that layer's box."""
    from ._view import ViewEdge

    outs, ins = _adjacency(edges)
    for key in list(nodes):
        node = nodes[key]
        srcs = ins.get(key, [])
        if node.kind is not _K.ACTIVATION or node.repeat > 1 or node.inner_skips or len(srcs) != 1:
            continue
        prev = nodes.get(srcs[0])
        if (prev is None or prev.kind not in _TAKES_ACTIVATION or prev.repeat > 1 or prev.then
                or outs.get(prev.key) != [key] or prev.cluster != node.cluster or edges[(prev.key, key)].kind.is_skip):
            continue
        prev.then, prev.shape = _activation_name(node.type), node.shape
        del edges[(prev.key, key)]
        outs[prev.key] = []
        for v in outs.pop(key, []):
            e = edges.pop((key, v))
            edges[(prev.key, v)] = ViewEdge(prev.id, e.dst, kind=e.kind, shape=e.shape, label=e.label)
            outs[prev.key].append(v)
            ins[v] = [prev.key if u == key else u for u in ins[v]]
        del nodes[key]


def _adjacency(edges: Edges) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Each box's arrows out and in, by key, in ``edges`` order."""
    outs: dict[str, list[str]] = {}
    ins: dict[str, list[str]] = {}
    for u, v in edges:
        outs.setdefault(u, []).append(v)
        ins.setdefault(v, []).append(u)
    return outs, ins


def _activation_name(kind: str) -> str:
    """``NewGELUActivation`` -> ``NewGELU``: the class name without an ``Activation`` suffix."""
    return kind[: -len("Activation")] if kind.endswith("Activation") and len(kind) > len("Activation") else kind


#: Above this many op-less boxes (only a hostile layer table has them), those without arrows
#: are left out instead of placed: placing them is quadratic in their number
MAX_PLACED = 256


def place_opless(analysis: Analysis, nodes: dict[str, ViewNode], edges: Edges) -> None:
    """Put every op-less box without arrows where it is used (see the module docstring).

    A module whose weights other ops read points at their boxes ("weights"; "positions"
    for a position table: DeBERTa's ``rel_embeddings``); a module owning weights that
    others use under another name (a tied embedding: BART's ``shared``) at the boxes of
    its class that use them ("tied"); a rotary or positional table at
    the first box of every attention module ("positions"). Anything else goes after
    the next module the framework called (taking over its arrows in: GPT-2's ``drop``
    between ``wte + wpe`` and ``h.0.ln_1``); with none, after the layer called before it
    in its module, or the first of its module, before the layer called after it.
    A box wired on one side only (from the framework's table) takes over the other
    side: its producer's later arrows out, or its reader's latest arrow in.
    """
    from ._view import ViewEdge

    opless = [k for k, n in nodes.items() if _opless(analysis, n)]
    readers = _weight_readers(analysis, nodes) if any(nodes[k].params for k in opless) else {}
    if len(opless) > MAX_PLACED:  # a hostile layer table: placing is quadratic, leave them out
        linked = {k for pair in edges for k in pair}
        for k in opless:
            if k not in linked:
                del nodes[k]
        return
    order = list(nodes)
    rank = {k: i for i, k in enumerate(order)}
    for pos, key in enumerate(order):
        node = nodes[key]
        if not _opless(analysis, node):
            continue
        ins = [u for u, v in edges if v == key]
        outs = [v for u, v in edges if u == key]
        if ins and not outs:  # what it hands on is read after it: by its producer's later readers
            later = [(u, v) for u, v in edges if u in ins and v != key and rank.get(v, -1) > pos]
            _move(edges, later, src=node)
        elif outs and not ins:  # it hands on what its readers' latest other producer made
            made = [(u, v) for u, v in edges if v in outs and u != key and u in rank]
            last = max((rank[u] for u, _ in made), default=None)
            _move(edges, [(u, v) for u, v in made if rank[u] == last], dst=node)
        elif not ins:
            users, label = _users(analysis, nodes, node, readers)
            for user in users:
                edges[(key, user)] = ViewEdge(node.id, nodes[user].id, label=label)
            reader = None if users else _next_module(nodes, edges, order, pos)
            if reader is not None:  # it ran just before the next module: hand that one its input
                _move(edges, [(u, v) for u, v in edges if v == reader], dst=node)
                edges[(key, reader)] = ViewEdge(node.id, nodes[reader].id)
            elif not users:
                _splice(nodes, edges, order, pos)


def _opless(analysis: Analysis, node: ViewNode) -> bool:
    """Whether a box is one layer that left no op (a graph input or output is no layer)."""
    return node.kind not in (_K.INPUT, _K.OUTPUT) and len(node.members) == 1 and not analysis.layer(node.members[0]).ops


def _move(edges: Edges, pairs: list[tuple[str, str]], src: ViewNode | None = None, dst: ViewNode | None = None) -> None:
    """Let the arrows ``pairs`` leave from ``src`` (or reach ``dst``) instead, with a plain
    arrow joining the old end to the new one."""
    from ._view import ViewEdge

    for u, v in pairs:
        e = edges.pop((u, v))
        if src is not None:
            edges.setdefault((src.key, v), ViewEdge(src.id, e.dst, kind=e.kind, shape=e.shape, label=e.label))
        else:
            assert dst is not None
            edges.setdefault((u, dst.key), ViewEdge(e.src, dst.id, kind=e.kind, shape=e.shape, label=e.label))


def _users(
    analysis: Analysis, nodes: dict[str, ViewNode], node: ViewNode, readers: dict[str, list[str]]
) -> tuple[list[str], str]:
    """The boxes using an op-less module's weights or tables, and how to label the arrows.

    First the boxes whose ops read its weights (Mamba's ``dt_proj.weight`` read by a
    MatMul: "weights"; DeBERTa's relative position table: "positions"), then, for a tied
    embedding whose weights the exporter named after another module, the parameter-free
    boxes of its class ("tied").
    """
    found = [k for k in readers.get(node.members[0], ()) if k != node.key]
    if found:
        return found, "positions" if _TABLE.search(f"{node.type} {node.name}") else "weights"
    if node.params:
        tied = [k for k, n in nodes.items() if n.type == node.type and not n.params and n is not node]
        return [k for k in tied if analysis.layer(nodes[k].members[0]).ops if len(nodes[k].members) == 1], "tied"
    if not _TABLE.search(f"{node.type} {node.name}"):
        return [], ""
    firsts: dict[tuple[str, ...], str] = {}
    for key, other in nodes.items():
        for i in range(1, len(other.path) + 1):
            mod = analysis.tree.get(other.path[:i])
            if mod is not None and "attention" in mod.cls.lower():
                firsts.setdefault(other.path[:i], key)
                break
    return list(firsts.values()), "positions"


def _weight_readers(analysis: Analysis, nodes: dict[str, ViewNode]) -> dict[str, list[str]]:
    """Module name -> the boxes (in view order) whose ops read a parameter named under it
    (``layers.0.mixer.conv1d.weight``: PyTorch names initializers by module and attribute)."""
    found: dict[str, list[str]] = {}
    for key, node in nodes.items():
        for member in node.members:
            for op in analysis.ops(member):
                for param in op.params:
                    users = found.setdefault(param.rsplit(".", 1)[0], [])
                    if not users or users[-1] != key:
                        users.append(key)
    return found


def _next_module(nodes: dict[str, ViewNode], edges: Edges, order: list[str], pos: int) -> str | None:
    """The first box after ``order[pos]`` that is a module's layer (not a functional op)
    with arrows in, in its module: the framework called that module next."""
    ins = {v for _, v in edges}
    cluster = nodes[order[pos]].cluster
    for key in order[pos + 1 :]:
        node = nodes.get(key)
        if node is not None and key in ins and node.cluster[: len(cluster)] == cluster and not _functional(node):
            return key
    return None


def _functional(node: ViewNode) -> bool:
    """Whether a box is a functional op's layer (``h.0/add``, ``matmul_1``), by its name."""
    return node.type in ops.OP_KINDS and _TRAILING.sub("", short_name(node)) == ops.op_slug(node.type)


def _unnamed(node: ViewNode) -> bool:
    """Whether a box's name is no name a reader gave: a position (``stage2.1``), a framework's
    number (``conv2d_2``), or one modelmap made up for a module it inferred (``block3``)."""
    return _index_only(node) or _auto_named(node) or node.inferred


def _auto_named(node: ViewNode) -> bool:
    """Whether a box's name is the one a framework numbers from its class (Keras'
    ``conv2d_2`` for Conv2D, ``batch_normalization_1``): it tells a reader nothing."""
    name = re.sub(r"_\d+$", "", short_name(node)).replace("_", "").lower()
    return bool(name) and name == (node.type or "").replace("_", "").lower()


_TABLE = re.compile(r"rotary|positional|position_emb|rel_emb|relative", re.IGNORECASE)


def _splice(nodes: dict[str, ViewNode], edges: Edges, order: list[str], pos: int) -> None:
    """Put the box ``order[pos]`` on the data path next to the layer called before (or after) it."""
    from ._view import ViewEdge

    key = order[pos]
    node = nodes[key]
    outs = {u for u, _ in edges}
    ins = {v for _, v in edges}
    before = [k for k in reversed(order[:pos]) if k in outs and k in nodes]
    after = [k for k in order[pos + 1 :] if k in ins and k in nodes]
    prev = next((k for k in before if nodes[k].cluster == node.cluster), None)
    nxt = next((k for k in after if nodes[k].cluster == node.cluster), None)
    if prev is None and nxt is None:
        prev = before[0] if before else None
        nxt = after[0] if prev is None and after else None
    if prev is not None:
        for (u, v), e in list(edges.items()):
            if u == prev:
                del edges[(u, v)]
                edges[(key, v)] = ViewEdge(node.id, e.dst, kind=e.kind, shape=e.shape, label=e.label)
        edges[(prev, key)] = ViewEdge(nodes[prev].id, node.id)
    elif nxt is not None:
        for (u, v), e in list(edges.items()):
            if v == nxt:
                del edges[(u, v)]
                edges[(u, key)] = ViewEdge(e.src, node.id, kind=e.kind, shape=e.shape, label=e.label)
        edges[(key, nxt)] = ViewEdge(node.id, nodes[nxt].id)


def input_order(view: View) -> tuple[list[str], list[tuple[str, str]], set[tuple[str, str]]]:
    """Where the graph inputs go: the ids drawn side by side at the top, left to right in
    the model's order; ``(box, input)`` pairs that put an input below a box; and the
    arrows that must not pull their head up (``(src, dst)`` ids).

    An input whose first consumers sit in a top-level module that also reads from another
    top-level module not fed by it (a decoder reading the encoder's output) is drawn after
    that module: the encoder comes before its decoder, and the arrows from the encoder
    into the decoder leave the decoder's layers where its own data flow puts them.
    """
    top = {nid: c.id for c in view.root.children for nid in _cluster_ids(c)}
    succ: dict[str, list[str]] = {}
    for e in view.edges:
        succ.setdefault(e.src, []).append(e.dst)
    first: list[str] = []
    after: list[tuple[str, str]] = []
    loose: set[tuple[str, str]] = set()
    for node in view.nodes:
        if node.kind is not _K.INPUT:
            continue
        fed = {top[v] for v in succ.get(node.id, ()) if v in top}
        below = _reachable(node.id, succ)
        cross = [(e.src, e.dst) for e in view.edges if top.get(e.dst) in fed and top.get(e.src) not in fed | {None}]
        cross = [(u, v) for u, v in cross if u not in below]
        if cross and first:
            after.append((cross[-1][0], node.id))
            loose.update(cross)
        else:
            first.append(node.id)
    return first, after, loose


def _cluster_ids(cluster: ViewCluster) -> list[str]:
    out = list(cluster.nodes)
    for child in cluster.children:
        out += _cluster_ids(child)
    return out


def _reachable(start: str, succ: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for v in succ.get(stack.pop(), ()):
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return seen


# --------------------------------------------------------------------------- labels

_TRAILING = re.compile(r"[_\d#]+$")


def short_name(node: ViewNode) -> str:
    """A box's name within its module: ``h.0.attn.c_attn`` in ``h.0.attn`` -> ``c_attn``."""
    if not node.path:
        return node.name
    return _within(node.path[-2] if len(node.path) > 1 else "", node.path[-1]).rsplit("/", 1)[-1]


def _within(parent: str, name: str) -> str:
    """``name`` without its parent's prefix, unless only a number would be left (``stage3.0``)."""
    if parent and name.startswith(parent + "."):
        rest = name[len(parent) + 1 :]
        if not rest.isdigit():
            return rest
    return name


def _says_more(node: ViewNode) -> bool:
    """Whether a box's short name says more than its type (``c_attn`` for Conv1D, not ``relu``)."""
    if node.kind is _K.MODULE and _index_only(node):
        return False
    name = _TRAILING.sub("", short_name(node)).replace("_", "").lower()
    kind = (node.type or "").replace("_", "").lower()
    if not name or node.type in ops.OP_KINDS and ops.op_slug(node.type).replace("_", "") == name:
        return False  # a functional op's slug
    return not (name in kind or name.startswith(kind))


#: A name an exporter made up for a value (``clone_11``, ``layer_norm_4``, ``view_69``).
_MADE_UP = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z][a-z0-9]*)*_\d+$")


def name_outputs(nodes: list[ViewNode]) -> None:
    """Give the graph outputs whose names the exporter made up (``clone_11``) the role
    ``output`` (``output 1``, ``output 2``... when there are several), in view order."""
    made = [n for n in nodes if n.kind is _K.OUTPUT and _MADE_UP.match(n.name)]
    outputs = sum(1 for n in nodes if n.kind is _K.OUTPUT)
    for i, node in enumerate(made, 1):
        node.role = f"output {i}" if outputs > 1 else "output"


def _index_only(node: ViewNode) -> bool:
    """Whether a box's name ends in its position (``stage2.1``, ``layers.0``): it names no
    role, and once folded (``× 4``) it names one repetition only."""
    name = node.path[-1] if node.path else node.name
    return "." in name and name.rsplit(".", 1)[1].isdigit()


def name_roles(root: ViewCluster, by_id: dict[str, ViewNode], label: object, edges: Iterable[ViewEdge] = ()) -> None:
    """Set ``role`` (the name line of a paper label) on the boxes that need one.

    ``label(node)`` gives a box's label, ``edges`` are the arrows drawn. A box gets its
    short name when the name says more than its type, and so do all boxes of a cluster
    that share a type (``conv1``, ``conv2``, ``shortcut``; not a name no reader gave,
    :func:`_unnamed`); what still reads the same gets the shortest end of its name that
    tells it apart (``blocks.0``, :func:`distinct_tails`). A name the exporter made up
    from an op type (``matmul_1``) is never shown: such a box gets a role from the graph
    (:mod:`._roles`), ``scores`` or ``context`` in an attention, and one telling it from
    its cluster's look-alikes.
    """
    outs, ins = _adjacency({(e.src, e.dst): e for e in edges})
    stack = [root]
    while stack:
        cluster = stack.pop()
        stack.extend(cluster.children)
        members = [by_id[i] for i in cluster.nodes if by_id[i].kind not in (_K.INPUT, _K.OUTPUT)]
        by_type: dict[str, list[ViewNode]] = {}
        for node in members:
            if not _is_glyph(node):
                by_type.setdefault(node.type, []).append(node)
        for node in members:
            if _functional(node):
                node.role = _roles.attention_role(node, by_id, ins, outs)
            elif _says_more(node) or len(by_type.get(node.type, ())) > 1 and not _unnamed(node):
                node.role = short_name(node)
        seen: dict[str, list[ViewNode]] = {}
        for node in members:
            if not _is_glyph(node):
                seen.setdefault(label(node), []).append(node)  # type: ignore[operator]
        for group in seen.values():
            if len(group) > 1:
                named = [node for node in group if not _functional(node)]
                for node, tail in zip(named, distinct_tails([node.name for node in named]), strict=True):
                    node.role = tail
                made = [node for node in group if _functional(node)]
                if len(made) > 1:
                    _roles.tell_apart(made, by_id, ins, lambda n: "" if _functional(n) else short_name(n))


def distinct_tails(names: list[str]) -> list[str]:
    """The shortest dotted ends of ``names`` that tell them apart, never a bare position:

    >>> distinct_tails(["encoder.layers.0.blocks.0", "encoder.layers.0.blocks.1"])
    ['blocks.0', 'blocks.1']
    >>> distinct_tails(["enc.block.0.attn", "dec.block.0.attn"])
    ['enc.block.0.attn', 'dec.block.0.attn']
    """
    parts = [name.split(".") for name in names]
    for k in range(1, max((len(p) for p in parts), default=0) + 1):
        tails = [".".join(p[-k - (1 if len(p) > k and p[-k].isdigit() else 0) :]) for p in parts]
        if len(set(tails)) == len(tails):
            return tails
    return list(names)


def cluster_name(cluster: ViewCluster) -> str:
    """A module's name within its parent module: ``h.0.attn`` in ``h.0`` -> ``attn``."""
    key = [k for k in cluster.key if not k.startswith("\x00")]
    if len(key) > 1 and cluster.name == key[-1]:
        return _within(key[-2], key[-1])
    return cluster.name


def _is_glyph(node: ViewNode) -> bool:
    return node.kind is _K.MERGE and node.repeat == 1 and ops.merge_symbol(node.type) in ("+", "\u00d7")


__all__ = ["CONTAINERS", "PLUMBING_OPS", "absorb_activations", "cluster_name", "contract", "distinct_tails", "input_order", "name_outputs", "name_roles", "place_opless", "plumbing", "rotary", "short_name"]
