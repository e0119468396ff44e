"""The graph side of inferred modules (:mod:`.inferred`): candidate groups, the test that a
stretch of layers is a contiguous subgraph, and the groups the graph itself shows.

Each finder takes the flat module's layers in order (``seq``), marks the positions it
groups in ``taken`` and returns its groups; none takes a position already taken, and every
group passes :class:`Contiguity` (one way in, one way out) except where a finder says why a
second way in is sound (a U-Net's decoder level).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from .analysis import Block, Layer, Skip
from .kinds import LayerKind, SkipKind

#: The longest skip (in layers) a block is made of: a block is short, and checking long
#: overlapping spans one by one would be quadratic
MAX_SPAN = 400
#: Numbered merges that end blocks: at least this many share a name (``mixed0``...)
MIN_EXITS = 3
#: The most layers a DenseNet transition (norm, activation, 1x1 conv, pooling) holds
MAX_TRANSITION = 6

_K = LayerKind
#: Layers after a merge that still belong to its block (ReLU, BN; not the next conv)
_TAIL_KINDS = (_K.ACTIVATION, _K.NORM, _K.DROPOUT, _K.IDENTITY)
#: Blocks from skips: residual ones (a concatenation may span a U-Net; a gate sits in a block)
BLOCK_CLASS = {SkipKind.IDENTITY: "ResidualBlock", SkipKind.PROJECTION: "ResidualBlock"}
_EXIT = re.compile(r"^([A-Za-z]+)(\d+)$")  # mixed0, mixed10: a word and a number, nothing else


@dataclass
class Group:
    """A candidate module: layers ``seq[start:stop]`` of the flat module, and its children.

    ``level``: the group stands at a stage's level though it holds layers only (a DenseNet
    transition, a U-Net level): it is never wrapped in a stage or put in a stem or head.
    """

    name: str
    cls: str
    source: str
    start: int
    stop: int
    children: list[Group] = field(default_factory=list)
    level: bool = False


class Contiguity:
    """Whether ``seq[start:stop]`` is a contiguous subgraph: one layer outside feeds it,
    and one of its layers feeds layers outside it."""

    def __init__(self, seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip] = ()) -> None:
        self.seq, self.by_name = seq, by_name
        self.merge_kind = {s.merge: s.kind for s in skips if s.fork in by_name}
        # crossed[p]: a residual skip's body and merge hold positions p - 1 and p
        index = {n: i for i, n in enumerate(seq)}
        steps = [0] * (len(seq) + 2)
        for skip in skips:
            at = [index[n] for n in (*skip.body, *skip.shortcut, skip.merge) if n in index]
            if skip.kind in BLOCK_CLASS and skip.merge in index and len(at) > 1:
                steps[min(at) + 1] += 1
                steps[index[skip.merge] + 1] -= 1
        self.crossed, running = [False] * (len(seq) + 1), 0
        for p in range(len(seq) + 1):
            running += steps[p]
            self.crossed[p] = running > 0

    def whole(self, start: int, stop: int) -> bool:
        """A contiguous subgraph that cuts no residual block (its body and merge are all
        in it or all out: ``conv_a1``, ``relu_a1`` of a body ``conv_a1, relu_a1, conv_b1``
        are half a block, whatever their names share)."""
        return not self.crossed[start] and not self.crossed[stop] and self(start, stop)

    def __call__(self, start: int, stop: int, also: Collection[str] = ()) -> bool:
        """``also``: layers outside that may feed it besides the one way in."""
        inside = set(self.seq[start:stop])
        entries: set[str] = set()
        exits = 0
        for n in self.seq[start:stop]:
            layer = self.by_name[n]
            entries.update(x for x in layer.inputs if x not in inside and x not in also)
            exits += any(x not in inside for x in layer.outputs)
            if len(entries) > 1 or exits > 1:
                return False
        return True


def _take(taken: list[bool], group: Group) -> Group:
    taken[group.start : group.stop] = [True] * (group.stop - group.start)
    return group


def conv_class(types: Sequence[str]) -> str:
    """``InvertedResidual`` for a body whose convolutions are pointwise, depthwise,
    pointwise (MobileNetV2's expand, depthwise and project), else ``""``."""
    convs = [t for t in types if "Conv" in t]
    if len(convs) == 3 and "Depthwise" in convs[1] and "Depthwise" not in convs[0] + convs[2]:
        return "InvertedResidual"
    return ""


# --------------------------------------------------------------------------- numbered exits


def exit_groups(seq: list[str], by_name: dict[str, Layer], taken: list[bool], check: Contiguity) -> list[Group]:
    """Blocks ended by numbered merges: when :data:`MIN_EXITS` merge layers or more are named
    a word and a number (InceptionV3's Concatenates ``mixed0`` ... ``mixed10``), each ends a
    block that starts after the one before (exclusive); the first starts where the
    smallest contiguous subgraph ending at it starts (after the stem). A merge of three
    branches or more ends an ``InceptionBlock``."""
    ends: dict[str, list[int]] = {}
    for i, n in enumerate(seq):
        m = _EXIT.match(n)
        if m and by_name[n].kind is _K.MERGE:
            ends.setdefault(m.group(1), []).append(i)
    out: list[Group] = []
    for at in ends.values():
        if len(at) < MIN_EXITS:
            continue
        start = next((p for p in range(at[0] - 1, max(at[0] - MAX_SPAN, 0), -1) if check(p, at[0] + 1)), None)
        for end in at:
            if start is not None and end > start and not any(taken[start : end + 1]) and check(start, end + 1):
                cls = "InceptionBlock" if len(set(by_name[seq[end]].inputs)) >= 3 else ""  # parallel branches concatenated
                out.append(_take(taken, Group(seq[end], cls, "names", start, end + 1)))
            start = end + 1
    return out


# --------------------------------------------------------------------------- residual skips


def skip_groups(seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip], taken: list[bool], check: Contiguity) -> list[Group]:
    """Residual blocks among the free layers: fork (exclusive) to merge, and the norms and
    activations after the merge; outermost first. Then their twins: the layers right
    before or after such a block that have the types of its body (the block without its
    shortcut: a stride-2 or widening inverted residual), and so on outwards."""
    index = {n: i for i, n in enumerate(seq)}
    spans = []
    for skip in skips:
        f, m = index.get(skip.fork), index.get(skip.merge)
        if f is None or m is None or not 1 < m - f <= MAX_SPAN or skip.kind not in BLOCK_CLASS:
            continue
        stop = m + 1
        while stop < len(seq) and by_name[seq[stop]].kind in _TAIL_KINDS and by_name[seq[stop]].inputs == (seq[stop - 1],):
            stop += 1
        spans.append((f + 1, stop, m, skip.kind))
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[Group] = []
    bodies: list[tuple[Group, list[str]]] = []
    end = 0
    for start, stop, merge, kind in spans:
        if start < end or any(taken[start:stop]) or not check(start, stop):
            continue  # inside (or across) a block already made, or not a subgraph
        body = [by_name[n].type for n in seq[start:merge]]
        out.append(_take(taken, Group("", conv_class(body) or BLOCK_CLASS[kind], "skips", start, stop)))
        bodies.append((out[-1], body))
        end = stop
    while bodies:
        block, body = bodies.pop()
        for start in (block.start - len(body), block.stop):
            stop = start + len(body)
            if start < 0 or stop > len(seq) or any(taken[start:stop]) or [by_name[n].type for n in seq[start:stop]] != body:
                continue
            if check(start, stop):
                out.append(_take(taken, Group("", conv_class(body) or "Block", "skips", start, stop)))
                bodies.append((out[-1], body))
    return sorted(out, key=lambda g: g.start)


# --------------------------------------------------------------------------- concatenations


def _concat_axis(fork: Layer, merge: Layer) -> int | None:
    """The axis a concatenation grows: the one axis where the merge's shape differs from its fork's."""
    a, b = fork.output_shape, merge.output_shape
    if not a or not b or len(a) != len(b):
        return None
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return differ[0] if len(differ) == 1 else None


def _resolution(layer: Layer, axis: int) -> tuple | None:
    """A layer's output shape without the concatenation axis (the channels)."""
    shape = layer.output_shape
    return tuple(d for i, d in enumerate(shape) if i != axis) if shape and axis < len(shape) else None


def _concat_spans(seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip]) -> list[tuple[int, int, int, bool]]:
    """``(fork, merge, axis, across)`` positions of the concat skips of ``seq``; ``across``
    when a layer between them has another resolution (a U-Net's skip from encoder to decoder)."""
    index = {n: i for i, n in enumerate(seq)}
    out = []
    for skip in skips:
        f, m = index.get(skip.fork), index.get(skip.merge)
        if skip.kind is not SkipKind.CONCAT or f is None or m is None or not 1 < m - f <= MAX_SPAN:
            continue
        axis = _concat_axis(by_name[skip.fork], by_name[skip.merge])
        if axis is not None:
            res = _resolution(by_name[skip.merge], axis)
            out.append((f, m, axis, any(_resolution(by_name[n], axis) != res for n in seq[f : m + 1])))
    return out


def dense_groups(seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip], taken: list[bool], check: Contiguity) -> list[Group]:
    """DenseNet's dense blocks among the free layers: a dense layer spans a concat skip at
    one resolution, fork (exclusive) to merge; two dense layers or more, each forking from
    the merge that ends the one before (a growing tensor), are a block, one module of
    layers (dense layers as modules of their own would nest a cluster per layer, whose
    titles the arrows between them cross). After a block, its transition: the layers up to
    the first that changes the resolution, if they hold a convolution (1x1 conv and pooling)."""
    layers = {f: (f + 1, m + 1, axis) for f, m, axis, across in _concat_spans(seq, by_name, skips) if not across}
    merges = {stop - 1 for stop in (v[1] for v in layers.values())}
    out: list[Group] = []
    for fork in sorted(set(layers) - merges):
        chain = [layers[fork]]
        while chain[-1][1] - 1 in layers:  # the next dense layer forks from this one's merge
            chain.append(layers[chain[-1][1] - 1])
        start, stop, axis = chain[0][0], chain[-1][1], chain[0][2]
        if len(chain) < 2 or any(taken[start:stop]) or not all(check(a, b) for a, b, _ in [*chain, (start, stop, axis)]):
            continue
        n = sum(g.cls == "DenseBlock" for g in out) + 1
        out.append(_take(taken, Group(f"dense{n}", "DenseBlock", "concats", start, stop, level=True)))
        end = _transition_end(seq, by_name, taken, stop, axis)
        if end is not None and check(stop, end):
            out.append(_take(taken, Group(f"transition{n}", "Transition", "concats", stop, end, level=True)))
    return out


def _transition_end(seq: list[str], by_name: dict[str, Layer], taken: list[bool], start: int, axis: int) -> int | None:
    """Where the transition starting at ``start`` ends (exclusive): after the first free layer
    that changes the resolution, within :data:`MAX_TRANSITION` layers, with a convolution
    before it; a global pooling (a head's: fewer axes) ends none."""
    res = _resolution(by_name[seq[start - 1]], axis)
    for t in range(start, min(start + MAX_TRANSITION, len(seq))):
        layer = by_name[seq[t]]
        if taken[t]:
            return None
        if _resolution(layer, axis) != res:
            same_rank = res is not None and len(layer.output_shape or ()) == len(res) + 1
            return t + 1 if same_rank and any(by_name[x].kind is _K.CONV for x in seq[start:t]) else None
    return None


def level_groups(seq: list[str], by_name: dict[str, Layer], skips: Sequence[Skip], taken: list[bool], check: Contiguity) -> list[Group]:
    """A U-Net's levels: where concat skips cross a change of resolution, the free layers
    around them are cut into levels, a new level at each layer whose resolution differs from
    the one before (a pooling, an up-convolution). The lowest is the bottleneck, those
    before it encoder levels ``down1``..., those after decoder levels named after the
    encoder level of their resolution (``up1`` takes the skip from ``down1``).

    A decoder level has a second way in: the skip from its encoder level, which enters at
    its concatenation. That is sound: the level is still one function of its inputs (up-
    sample, concatenate the skip, convolve), as a U-Net's up block is written, and still
    has one way out; the skip is drawn as an edge between the two levels' boxes, so
    collapsing them hides no connection.
    """
    spans = [s for s in _concat_spans(seq, by_name, skips) if s[3]]
    if not spans:
        return []
    axis, lo, hi = spans[0][2], min(s[0] for s in spans), max(s[1] for s in spans)
    if any(taken[lo : hi + 1]):
        return []
    while lo > 0 and not taken[lo - 1]:
        lo -= 1
    while hi + 1 < len(seq) and not taken[hi + 1]:
        hi += 1
    res = [_resolution(by_name[n], axis) for n in seq]
    if not all(r and all(isinstance(d, int) for d in r) for r in res[lo : hi + 1]):
        return []  # a shape unknown: no level can be told
    cuts = [lo] + [i for i in range(lo + 1, hi + 1) if res[i] != res[i - 1]] + [hi + 1]
    sizes = [math.prod(res[a]) for a in cuts[:-1]]
    bottom = sizes.index(min(sizes))
    down = {res[a]: k for k, a in enumerate(cuts[:bottom], 1)}
    merges_in = {seq[m]: seq[f] for f, m, _, across in spans if across}
    out: list[Group] = []
    for k, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        if k != bottom:
            name, cls = (f"down{k + 1}", "EncoderLevel") if k < bottom else (f"up{down.get(res[a], k + 1)}", "DecoderLevel")
        else:
            name, cls = "bottleneck", "Bottleneck"
        also = {merges_in[n] for n in seq[a:b] if n in merges_in}
        if b - a >= 2 and name not in {g.name for g in out} and check(a, b, also):
            out.append(_take(taken, Group(name, cls, "concats", a, b, level=True)))
    return out


# --------------------------------------------------------------------------- repeats


def repeat_groups(
    seq: list[str], by_name: dict[str, Layer], blocks: Sequence[Block], taken: list[bool], check: Contiguity,
    short: dict[str, str],
) -> list[Group]:  # fmt: skip
    """The units of the runs of repeated units found in the flat module, where still free,
    and the layers right before a run that have its unit's types (the strided first
    block of a stage: the seed's plain twin has stages of 4, 10, 10 and 4 convolutions).
    ``short``: abbreviations for the class names."""
    pattern = re.compile("|".join(short))
    index = {n: i for i, n in enumerate(seq)}
    out = []
    for block in blocks:
        spans = []
        for unit in block.units:
            at = sorted(index[n] for n in unit if n in index)
            if len(at) >= 2 and at[-1] + 1 - at[0] == len(at):
                spans.append((at[0], at[-1] + 1))
        if spans:
            start, stop = spans[0]
            before = (start - (stop - start), start)  # right after another block only (not a stem)
            if before[0] > 0 and taken[before[0] - 1] and [by_name[n].type for n in seq[before[0] : before[1]]] == [by_name[n].type for n in seq[start:stop]]:
                spans.insert(0, before)
        for start, stop in spans:
            if any(taken[start:stop]) or not check(start, stop):
                continue
            out.append(_take(taken, Group("", pattern.sub(lambda m: short[m.group(0)], block.name), "blocks", start, stop)))
    return out


__all__ = [
    "BLOCK_CLASS", "MAX_SPAN", "Contiguity", "Group", "dense_groups", "exit_groups", "level_groups", "repeat_groups", "skip_groups",
]  # fmt: skip
