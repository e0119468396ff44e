"""Repeated blocks: runs of consecutive, structurally identical units.

For every module of the tree (the model itself included) the children are wired into a
small graph (an edge where a layer of one child feeds a layer of another). Its *cut
points*, the children every path from the main input to the end passes through (the
dominators of a virtual sink), split the children into segments: one per ResNet block in
a ``Sequential`` stage, or, in a flat Keras model, ``[conv, relu, bn, conv, add]``,
``[relu]``, ``[bn]``, ... Each segment gets a structural signature (layer types, kinds,
hyper-parameters, parameter counts, output shapes and wiring; names ignored), and the
sequence of signatures is scanned for tandem repeats of any period up to
:data:`MAX_PERIOD` segments. A run is rotated so its unit starts at a segment holding a
skip connection's merge (a residual block is "body + add + what follows", not
"what follows + next body"). A unit must hold a learned layer.

Three things real architectures add:

- A side input that every module of a stack reads from an earlier one (a mask made
  inside DeBERTa's encoder, T5's position bias from block 0) jumps over the modules in
  between; a segment of modules that each read the one before is split back into one
  segment per module.
- A first module that is the next one plus a few layers reading no hidden state (T5's
  block 0 computes the relative attention bias) counts as the units after it; the block
  names those layers (``first_extra``).
- One module applied N times with the same weights (ALBERT) has one tree node whose
  leaf layers are called N times (``fc``, ``fc#2``...); its layers split into N calls
  that are wired alike and each read the one before: a ``shared`` block.

Symbolic dimensions other than the graph inputs' (``unk__3``, a data-dependent number
of routed tokens in a mixture of experts) compare equal.

A run of one module class is named after it (``BasicBlock``); otherwise the name is
structural: ``TransformerLayer`` (attention, or softmax with two residual merges),
``ResidualBlock``, ``DenseLayer``, ``GatedBlock``, or the types joined by ``+``.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Sequence
from typing import Any

import networkx as nx

from . import ops as opt
from .analysis import Block, Layer, ModuleNode, Skip
from .kinds import LayerKind, SkipKind

MAX_PERIOD = 24
_MAIN_KINDS = frozenset({LayerKind.CONV, LayerKind.LINEAR, LayerKind.ATTENTION, LayerKind.RECURRENT})
_SOURCE = ("modelmap", "source")
_SINK = ("modelmap", "sink")
#: a later call of a leaf module: its path ends in ``name#k`` (core/layers/naming.py)
_CALL = re.compile(r"^(.*)#(\d+)$")
K = LayerKind


def find_blocks(
    layers: Sequence[Layer],
    tree: dict[tuple[str, ...], ModuleNode],
    skips: Sequence[Skip] = (),
) -> list[Block]:
    """Repeated blocks in every module of ``tree`` (see the module docstring).

    Parameters
    ----------
    layers : the analysis' layers (execution order)
    tree : the module tree (``Grouping.tree``)
    skips : the skip connections; they decide where a structural unit starts and its name

    Returns
    -------
    list of Block, outer modules first, in execution order.
    """
    sigs = _Signatures(layers, tree, skips)
    shared = _shared_blocks(tree, sigs)
    inside = [b.parent + (b.members[0],) for b in shared]  # a shared module's calls are one run
    # outer modules first, each level in execution order; leaves and single-child modules
    # hold no run
    containers = [
        path
        for path, node in tree.items()
        if not node.leaf and len(node.children) >= 2 and not any(path[: len(m)] == m for m in inside)
    ]
    containers.sort(key=lambda p: (len(p), sigs.first_rank(p)))
    blocks: list[Block] = []
    for path in containers:
        blocks.extend(_container_blocks(tree[path], tree, sigs))
    blocks.extend(shared)
    blocks.sort(key=lambda b: (len(b.parent), sigs.rank.get(b.units[0][0], 0) if b.units and b.units[0] else 0))
    return blocks


class _Signatures:
    """The layers by *rank* (position in execution order) and the structural hashes of
    layers and modules, names ignored (memoised).

    A module's layers are listed in execution order and nearly always consecutive, so
    they are a range of ranks: wiring them up needs no lookup by name.
    """

    def __init__(self, layers: Sequence[Layer], tree: dict[tuple[str, ...], ModuleNode], skips: Sequence[Skip]) -> None:
        self.tree = tree
        self.layers = layers
        self.names = tuple(layer.name for layer in layers)
        self.rank = {name: i for i, name in enumerate(self.names)}
        self.by_name = {layer.name: layer for layer in layers}
        self.merge_kind: dict[str, SkipKind] = {s.merge: s.kind for s in skips}
        self.is_merge = [layer.name in self.merge_kind for layer in layers]  # by rank
        self.learned = [layer.params > 0 for layer in layers]  # by rank
        #: rank -> the ranks of the layer's inputs (None: not a layer)
        self.inputs = [tuple(self.rank.get(x) for x in layer.inputs) for layer in layers]
        #: rank -> whether a learned layer is upstream (a mask or position table has none)
        self.fed = [False] * len(layers)
        for r, ins in enumerate(self.inputs):
            self.fed[r] = self.learned[r] or any(q is not None and self.fed[q] for q in ins)
        #: symbolic dimensions of the graph inputs; other symbolic dims (``unk__3``, data
        #: dependent sizes such as a mixture of experts' routed tokens) are new in every layer
        self.dims = frozenset(
            d for layer in layers if layer.kind is K.INPUT for d in (layer.output_shape or ()) if isinstance(d, str)
        )
        #: rank -> (the path of the module the layer calls, which call: 1, 2...)
        self.call = [_call(layer.path) for layer in layers]
        #: how many of the ranks before each one are a leaf module's later call (``fc#2``),
        #: and how many are learned
        self.later, self.learned_before = [0], [0]
        for r, (_, k) in enumerate(self.call):
            self.later.append(self.later[-1] + (k > 1))
            self.learned_before.append(self.learned_before[-1] + self.learned[r])
        self._layer: list[str | None] = [None] * len(layers)
        self._module: dict[tuple[str, ...], str] = {}
        self._ranks: dict[tuple[str, ...], Sequence[int]] = {}
        self._structures: dict[tuple, str] = {}

    def ranks(self, path: tuple[str, ...]) -> Sequence[int]:
        """The ranks of a module's layers, in its order: a ``range`` when they are consecutive."""
        r = self._ranks.get(path)
        if r is None:
            names = self.tree[path].layers
            lo = self.rank.get(names[0]) if names else None
            if lo is not None and self.names[lo : lo + len(names)] == names:
                r = range(lo, lo + len(names))
            else:
                r = [self.rank[n] for n in names]
            self._ranks[path] = r
        return r

    def first_rank(self, path: tuple[str, ...]) -> int:
        """Execution position of a module: its first layer's."""
        names = self.tree[path].layers
        return self.rank.get(names[0], 1 << 30) if names else 1 << 30

    def layer(self, r: int) -> str:
        s = self._layer[r]
        if s is None:
            b = self.bare(r)
            s = self._layer[r] = _hash((*b[:3], self.layers[r].params, b[3]))
        return s

    def bare(self, r: int) -> tuple:
        """A layer's structure without its parameter count (a shared layer's later calls
        own no parameters)."""
        layer = self.layers[r]
        attrs = sorted((k, repr(v)) for k, v in layer.attrs.items() if k not in ("pads",))
        return (layer.type, layer.kind.value, attrs, _shape_key(layer.output_shape, self.dims))

    def calls_again(self, path: tuple[str, ...]) -> bool:
        """Whether a module holds at least one later call (``fc#2``) per learned layer."""
        r = self.ranks(path)
        if isinstance(r, range):
            later = self.later[r.stop] - self.later[r.start]
            return later > 0 and later >= self.learned_before[r.stop] - self.learned_before[r.start]
        return sum(self.call[q][1] > 1 for q in r) >= max(1, sum(self.learned[q] for q in r))

    def module(self, path: tuple[str, ...]) -> str:
        s = self._module.get(path)
        if s is None:
            node = self.tree[path]
            if node.leaf:
                s = self.layer(self.rank[node.layers[0]])
            else:
                s = self.structure((node.cls, self.wiring(self.ranks(path))))
            self._module[path] = s
        return s

    def structure(self, key: tuple) -> str:
        """The hash of a structure made of signatures, class names and offsets.

        Modules and segments repeat (every block of a stage is wired the same), so the
        hash is memoised by value: equal strings and integers print alike.
        """
        s = self._structures.get(key)
        if s is None:
            s = self._structures[key] = _hash(key)
        return s

    def wiring(self, ranks: Sequence[int], key: Any = None) -> tuple:
        """Layer signatures (``key(rank)``, :meth:`layer` by default) in order, with each
        layer's inputs as offsets inside ``ranks`` (``-1`` for an input from outside)."""
        key = key or self.layer
        out = []
        if isinstance(ranks, range):  # offset = difference of ranks
            lo, hi = ranks.start, ranks.stop - 1
            for r in ranks:
                ins = tuple(sorted(r - q if q is not None and lo <= q <= hi else -1 for q in self.inputs[r]))
                out.append((key(r), ins))
        else:
            pos = {r: i for i, r in enumerate(ranks)}
            for i, r in enumerate(ranks):
                ins = tuple(sorted(i - pos[q] if q in pos else -1 for q in self.inputs[r]))
                out.append((key(r), ins))
        return tuple(out)


def _container_blocks(node: ModuleNode, tree: dict[tuple[str, ...], ModuleNode], sigs: _Signatures) -> list[Block]:
    # children that left no op (an eval-mode Dropout, a rotary table's module) are no step
    # of the flow: as dead ends they would join everything after them into one segment
    children = sorted((c for c in node.children if _has_ops(c, tree, sigs)), key=sigs.first_rank)
    child_sigs = [sigs.module(c) for c in children]
    if len(set(child_sigs)) == len(child_sigs) and not any(  # a repeated unit repeats some child,
        tree[a].cls and tree[a].cls == tree[b].cls and not tree[a].leaf  # or a variant first
        for a, b in zip(children, children[1:], strict=False)
    ):
        return []
    ranks = {c: sigs.ranks(c) for c in children}
    child_of: dict[int, tuple[str, ...]] = {}  # rank -> child
    for c in children:
        for r in ranks[c]:
            child_of[r] = c
    preds: dict[tuple[str, ...], set[tuple[str, ...]]] = {c: set() for c in children}
    for c in children:
        for r in ranks[c]:
            for q in sigs.inputs[r]:
                src = child_of.get(q)
                if src is not None and src != c:
                    preds[c].add(src)
    inputs = {c for c in children if tree[c].leaf and sigs.by_name[tree[c].name].kind is K.INPUT}
    segments = _split_chains(_segments(children, preds, inputs), preds, tree)
    if len(segments) < 2:
        return []
    seg_ranks = [[r for c in seg for r in ranks[c]] for seg in segments]
    seg_sigs = [_segment_signature(seg, sigs, preds) for seg in segments]
    extra = _first_variants(segments, seg_sigs, tree, sigs)
    for i in extra:  # a first unit with extra layers counts as the units after it
        seg_sigs[i] = seg_sigs[i + 1]
    has_merge = [any(sigs.is_merge[r] for r in rs) for rs in seg_ranks]
    learned = [any(sigs.learned[r] for r in rs) for rs in seg_ranks]
    starts_main = [bool(ranks[seg[0]]) and sigs.layers[ranks[seg[0]][0]].kind in _MAIN_KINDS for seg in segments]
    by_name, merge_kind = sigs.by_name, sigs.merge_kind
    blocks: list[Block] = []
    for start, period, reps in _tandem_runs(seg_sigs, has_merge, starts_main):
        units_segs = [segments[start + k * period : start + (k + 1) * period] for k in range(reps)]
        if not any(learned[start : start + period]):
            continue
        unit_children = [[c for seg in u for c in seg] for u in units_segs]
        units = tuple(tuple(n for c in uc for n in tree[c].layers) for uc in unit_children)
        classes = {tree[c].cls if not tree[c].leaf else "" for c in unit_children[0]}
        if len(classes) == 1 and "" not in classes:  # modules of one class (Swin's block pairs)
            members = tuple(tree[uc[0]].name for uc in unit_children)
            name = classes.pop()
        elif len(unit_children[0]) == 1 and not tree[unit_children[0][0]].leaf:
            members = tuple(tree[uc[0]].name for uc in unit_children)
            name = _structural_name(units[0], by_name, merge_kind)
        else:
            members = tuple(u[0] for u in units)
            name = _structural_name(units[0], by_name, merge_kind)
        signature = _hash(tuple(seg_sigs[start : start + period]))
        first = tuple(sigs.names[r] for r in extra.get(start, ())) if period == 1 else ()
        blocks.append(Block(name, reps, members, node.path, signature[:12], units, first_extra=first))
    return blocks


def _first_variants(
    segments: list[list[tuple[str, ...]]], seg_sigs: list[str], tree: dict[tuple[str, ...], ModuleNode], sigs: _Signatures
) -> dict[int, tuple[int, ...]]:
    """Segments that are a module of the same class as the next one plus a few layers
    (T5's block 0 computes the relative attention bias the later blocks read): position
    -> the ranks of the extra layers. Only the first of a run: the segment before must
    differ from the one after."""
    out: dict[int, tuple[int, ...]] = {}
    for i in range(len(segments) - 1):
        a, b = segments[i], segments[i + 1]
        if len(a) != 1 or len(b) != 1 or seg_sigs[i] == seg_sigs[i + 1]:
            continue
        if i > 0 and seg_sigs[i - 1] == seg_sigs[i + 1]:
            continue
        ranks = _extra_layers(tree[a[0]], tree[b[0]], sigs)
        if ranks:
            out[i] = ranks
    return out


def _extra_layers(a: ModuleNode, b: ModuleNode, sigs: _Signatures) -> tuple[int, ...]:
    """The ranks of the layers only ``a`` has, if they read no hidden state and ``a``
    without them is wired as ``b`` (their outputs then come from outside, as ``b`` reads
    them); else ``()``."""
    if a.leaf or b.leaf or not a.cls or a.cls != b.cls:
        return ()
    ra, rb = list(sigs.ranks(a.path)), sigs.ranks(b.path)
    if not 0 < len(ra) - len(rb) <= max(2, len(rb) // 4):
        return ()
    matcher = difflib.SequenceMatcher(None, [sigs.layer(r) for r in ra], [sigs.layer(r) for r in rb], autojunk=False)
    ops = matcher.get_opcodes()
    if any(tag not in ("equal", "delete") for tag, *_ in ops):
        return ()
    kept = [ra[i] for tag, i1, i2, _, _ in ops if tag == "equal" for i in range(i1, i2)]
    if sigs.wiring(kept) != sigs.wiring(rb):
        return ()
    kept_set = set(kept)
    extra = tuple(r for r in ra if r not in kept_set)
    # an extra input, not an extra branch: the extra layers read no hidden state (ResNet's
    # projection shortcut reads the block input, and its block is not a variant)
    if any(q is not None and q not in extra and sigs.fed[q] for r in extra for q in sigs.inputs[r]):
        return ()
    return extra


def _shared_blocks(tree: dict[tuple[str, ...], ModuleNode], sigs: _Signatures) -> list[Block]:
    """Modules applied several times in a row with the same weights, outermost only."""
    found: list[Block] = []
    for path in sorted((p for p, n in tree.items() if p and not n.leaf), key=lambda p: (len(p), sigs.first_rank(p))):
        if not sigs.calls_again(path) or any(path[: len(b.parent) + 1] == b.parent + (b.members[0],) for b in found):
            continue
        block = _shared_block(tree[path], sigs)
        if block is not None:
            found.append(block)
    return found


def _shared_block(node: ModuleNode, sigs: _Signatures) -> Block | None:
    """``node`` as one shared block, if every learned layer in it is a leaf module
    called the same number of times N >= 2 (``fc``, ``fc#2``...), its layers split into
    N structurally equal calls (parameter counts aside), each reading the one before."""
    ranks = [r for r in sigs.ranks(node.path) if sigs.layers[r].ops]  # op-less layers ran once
    by_base: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for r in ranks:
        base, k = sigs.call[r]
        by_base.setdefault(base, []).append((k, r))
    counts = {len(calls) for calls in by_base.values() if sigs.learned[min(calls)[1]]}
    if len(counts) != 1 or (n := counts.pop()) < 2:
        return None
    call: dict[int, int] = {}  # rank -> call, 1-based
    for calls in by_base.values():
        if len(calls) % n == 0:  # a leaf module called once (or m times) per call
            per = len(calls) // n
            for i, (_, r) in enumerate(sorted(calls)):
                call[r] = i // per + 1
    for r in ranks:  # the other ops: the latest call they read from
        if r not in call:
            ins = [call[q] for q in sigs.inputs[r] if q in call]
            if ins:
                call[r] = max(ins)
    for r in reversed(ranks):  # or the first call that reads them (a mask)
        if r not in call:
            outs = [call[q] for q in (sigs.rank.get(o) for o in sigs.layers[r].outputs) if q in call]
            if outs:
                call[r] = min(outs)
    units = [[r for r in ranks if call.get(r, 1) == k] for k in range(1, n + 1)]
    shape = sigs.wiring(units[0], sigs.bare)
    if any(sigs.wiring(u, sigs.bare) != shape for u in units[1:]):
        return None
    for k in range(1, n):  # in a row: each call reads the one before
        before = set(units[k - 1])
        if not any(q in before for r in units[k] for q in sigs.inputs[r]):
            return None
    names = tuple(tuple(sigs.names[r] for r in u) for u in units)
    name = node.cls or _structural_name(names[0], sigs.by_name, sigs.merge_kind)
    members = tuple(node.name if k == 1 else f"{node.name}#{k}" for k in range(1, n + 1))
    return Block(name, n, members, node.path[:-1], _hash(shape)[:12], names, shared=True)


def _segments(
    children: list[tuple[str, ...]],
    preds: dict[tuple[str, ...], set[tuple[str, ...]]],
    graph_inputs: set[tuple[str, ...]],
) -> list[list[tuple[str, ...]]]:
    """Children (in execution order) split at the cut points of the flow from the main
    entry to the end: the children that every path passes through. ``graph_inputs`` are
    the children that are graph inputs."""
    succs: dict[tuple[str, ...], list[tuple[str, ...]]] = {c: [] for c in children}
    for c, ps in preds.items():
        for p in ps:
            succs[p].append(c)
    entries = [c for c in children if not preds[c]]
    if not entries:
        return [[c] for c in children]
    # the main entry: a graph input if there is one, else the entry reaching the most children
    inputs = [c for c in entries if c in graph_inputs]
    candidates = (inputs or entries)[:8]
    reach_of = {c: _reach(c, succs) for c in candidates} if len(candidates) > 1 else {}
    main = max(candidates, key=lambda c: len(reach_of[c])) if reach_of else candidates[0]
    reach = reach_of.get(main) or _reach(main, succs)
    order = [c for c in children if c in reach]
    pos = {c: i for i, c in enumerate(order)}
    if any(pos[p] >= pos[c] for c in order for p in preds[c] if p in pos):
        return _segments_cyclic(order, preds, main)
    # In a topological order with one entry, a child is a cut point when no edge jumps over it.
    end = len(order)
    cuts = []
    furthest = 0
    for i, c in enumerate(order):
        if furthest <= i:
            cuts.append(i)
        targets = [pos[s] for s in succs[c] if s in pos]
        furthest = max([furthest, *targets] if targets else [furthest, end])
    segs: list[list[tuple[str, ...]]] = []
    bounds = cuts + [end - 1]
    lo = 0
    for b in bounds:  # segment = (previous cut, this cut]
        if b + 1 > lo:
            segs.append(order[lo : b + 1])
            lo = b + 1
    if lo < end:
        segs.append(order[lo:])
    return segs


def _split_chains(
    segments: list[list[tuple[str, ...]]],
    preds: dict[tuple[str, ...], set[tuple[str, ...]]],
    tree: dict[tuple[str, ...], ModuleNode],
) -> list[list[tuple[str, ...]]]:
    """A segment of modules that each read the one before is one segment per module: an
    input that every later module reads from an earlier one (T5's position bias from
    block 0, a mask) jumps over the modules between but does not join them."""
    out: list[list[tuple[str, ...]]] = []
    for seg in segments:
        if len(seg) > 1 and all(not tree[c].leaf for c in seg) and all(a in preds[b] for a, b in zip(seg, seg[1:])):
            out.extend([c] for c in seg)
        else:
            out.append(seg)
    return out


def _reach(start: tuple[str, ...], succs: dict[tuple[str, ...], list[tuple[str, ...]]]) -> set[tuple[str, ...]]:
    seen = {start}
    stack = [start]
    while stack:
        for s in succs[stack.pop()]:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


def _segments_cyclic(
    order: list[tuple[str, ...]], preds: dict[tuple[str, ...], set[tuple[str, ...]]], main: tuple[str, ...]
) -> list[list[tuple[str, ...]]]:
    """The same for a child graph with cycles (a module called twice): dominators of a sink."""
    h = nx.DiGraph()
    h.add_nodes_from(order)
    keep = set(order)
    h.add_edges_from((p, c) for c in order for p in preds[c] if p in keep)
    h.add_edge(_SOURCE, main)
    for c in order:
        if h.out_degree(c) == 0:
            h.add_edge(c, _SINK)
    idom = nx.immediate_dominators(h, _SOURCE)
    cuts: set[Any] = set()
    c = idom.get(_SINK)
    while c is not None and c != _SOURCE:
        cuts.add(c)
        c = idom.get(c)
    anchor: dict[Any, Any] = {}

    def anchor_of(v: Any) -> Any:
        chain = []
        while v not in anchor:
            p = idom.get(v, _SOURCE)
            if p == _SOURCE or p in cuts:
                anchor[v] = p
                break
            chain.append(v)
            v = p
        a = anchor[v]
        for x in chain:
            anchor[x] = a
        return a

    by_anchor: dict[Any, list[tuple[str, ...]]] = {}
    for c in order:
        by_anchor.setdefault(anchor_of(c), []).append(c)
    rank = {c: i for i, c in enumerate(order)}
    return sorted(by_anchor.values(), key=lambda seg: rank[seg[0]])


def _segment_signature(
    seg: list[tuple[str, ...]], sigs: _Signatures, preds: dict[tuple[str, ...], set[tuple[str, ...]]]
) -> str:
    pos = {c: i for i, c in enumerate(seg)}
    items = []
    for i, c in enumerate(seg):
        ins = tuple(sorted(i - pos[p] for p in preds[c] if p in pos))
        items.append((sigs.module(c), ins))
    return sigs.structure(tuple(items))


def _tandem_runs(
    seq: Sequence[str], has_merge: Sequence[bool], starts_main: Sequence[bool]
) -> list[tuple[int, int, int]]:
    """(start, period, repetitions) of maximal runs, left to right, greedy by coverage.

    A run's unit starts at its first segment holding a skip merge, else at its first
    segment starting with a convolution, linear, attention or recurrent layer.

    >>> _tandem_runs(list("xabcabcaby"), [False] * 10, [c == "b" for c in "xabcabcaby"])
    [(2, 3, 2)]
    """
    n = len(seq)
    runs = []
    i = 0
    while i < n - 1:
        best = None  # (cover, -period, end)
        for p in range(1, min(MAX_PERIOD, (n - i) // 2) + 1):
            if seq[i + p] != seq[i]:
                continue
            e = i + p
            while e < n and seq[e] == seq[e - p]:
                e += 1
            reps = (e - i) // p
            if reps >= 2:
                cand = (reps * p, -p, e)
                if best is None or cand > best:
                    best = cand
        if best is None:
            i += 1
            continue
        _, negp, e = best
        p = -negp
        s = i
        for marks in (has_merge, starts_main):
            first = next((k for k in range(i, i + p) if marks[k]), None)
            if first is not None and (e - first) // p >= 2:
                s = first
                break
        reps = (e - s) // p
        runs.append((s, p, reps))
        i = s + reps * p
    return runs


def _structural_name(unit: Sequence[str], by_name: dict[str, Layer], merge_kind: dict[str, SkipKind]) -> str:
    kinds = [by_name[n].kind for n in unit]
    skips = [merge_kind[n] for n in unit if n in merge_kind]
    softmax = any(opt.is_softmax(by_name[n].attrs.get("op")) or opt.is_softmax(by_name[n].type) for n in unit)
    if K.ATTENTION in kinds or (softmax and len(skips) >= 2):
        return "TransformerLayer"
    if SkipKind.IDENTITY in skips or SkipKind.PROJECTION in skips:
        return "ResidualBlock"
    if SkipKind.CONCAT in skips:
        return "DenseLayer"
    if SkipKind.GATE in skips:
        return "GatedBlock"
    types: list[str] = []
    for n in unit:
        t = by_name[n].type
        if t not in types:
            types.append(t)
    return "+".join(types[:4]) + ("+..." if len(types) > 4 else "")


def _has_ops(path: tuple[str, ...], tree: dict[tuple[str, ...], ModuleNode], sigs: _Signatures) -> bool:
    """Whether a module's layers left any op, or it is a graph input or output."""
    return any(sigs.layers[r].ops or sigs.layers[r].kind in (K.INPUT, K.OUTPUT) for r in sigs.ranks(path))


def _call(path: tuple[str, ...]) -> tuple[tuple[str, ...], int]:
    """(the path of the module a layer calls, which call).

    >>> _call(("enc", "enc.fc#2"))
    (('enc', 'enc.fc'), 2)
    """
    m = _CALL.match(path[-1]) if path else None
    return (path[:-1] + (m.group(1),), int(m.group(2))) if m else (path, 1)


def _shape_key(shape: Any, named: frozenset[str] = frozenset()) -> Any:
    """A shape to compare: symbolic dims that are not the graph inputs' become ``"?"``.

    >>> _shape_key(("batch", "unk__7", 32), frozenset({"batch"}))
    ('batch', '?', 32)
    """
    if shape is None:
        return None
    return tuple("?" if isinstance(d, str) and d not in named else d for d in shape)


def _hash(obj: Any) -> str:
    return hashlib.blake2b(repr(obj).encode(), digest_size=8).hexdigest()


__all__ = ["MAX_PERIOD", "find_blocks"]
