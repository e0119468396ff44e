"""Aligning two sequences of comparison units: the edit script between two models.

:func:`canonical_order` lays a unit graph out as a sequence that does not depend on the
order in which the model's author created sibling layers; :func:`align` pairs units of
equal signature, or of one kind with different signatures (a change), and leaves the rest
as additions and removals, at minimal cost.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Unit

#: above this many cells (units of A times units of B) the alignment falls back to difflib
DP_LIMIT = 4_000_000
#: cost of pairing two units of the same kind with different signatures (an insertion or
#: deletion costs 1, so a change is preferred to removing one unit and adding another)
CHANGE_COST = 1.5


#: how many levels of successors tell sibling units apart in :func:`canonical_order`
HORIZON = 3


def canonical_order(g: nx.DiGraph, label: Mapping[Hashable, tuple[str, str]], horizon: int = HORIZON) -> list[Hashable]:
    """A topological order of ``g`` that depends on its structure, not on its node order.

    ``label`` maps each node to ``(kind, signature)``. Among the nodes ready next, the
    smallest key goes first: the kind, then the kinds of its successors ``1..horizon``
    steps ahead, then the signature, then the places its inputs took in the order. Kinds
    come first so that a changed hyper-parameter (a kernel, a channel count) does not
    reorder siblings; looking ahead tells a residual block's body from its shortcut (a
    BatchNorm followed by ReLU and a conv, or by the Add), and the inputs' places tell two
    BatchNorms that both feed the Add apart, whichever was built first. Nodes alike in all
    of this are interchangeable.

    >>> body_first = nx.DiGraph([("x", "conv"), ("conv", "bn_b"), ("bn_b", "relu"), ("relu", "add"),
    ...                          ("x", "bn_a"), ("bn_a", "add")])
    >>> shortcut_first = nx.DiGraph(list(body_first.edges)[::-1])
    >>> kinds = {"x": "input", "conv": "conv", "bn_a": "norm", "bn_b": "norm", "relu": "act", "add": "merge"}
    >>> label = {n: (k, k) for n, k in kinds.items()}
    >>> canonical_order(body_first, label)
    ['x', 'conv', 'bn_b', 'relu', 'bn_a', 'add']
    >>> canonical_order(shortcut_first, label) == canonical_order(body_first, label)
    True

    Raises
    ------
    networkx.NetworkXUnfeasible
        ``g`` has a cycle.
    """
    keys = {}
    for n in g.nodes:
        ahead: list[tuple[str, ...]] = []
        frontier = {n}
        for _ in range(horizon):
            frontier = {s for f in frontier for s in g.successors(f)}
            ahead.append(tuple(sorted(label[s][0] for s in frontier)))
        keys[n] = (label[n][0], tuple(ahead), label[n][1])
    place: dict[Hashable, int] = {}
    waiting = {n: g.in_degree(n) for n in g.nodes}
    ready = [(keys[n], (), i, n) for i, n in enumerate(g.nodes) if not waiting[n]]
    heapq.heapify(ready)
    while ready:
        *_, n = heapq.heappop(ready)
        place[n] = len(place)
        for s in g.successors(n):
            waiting[s] -= 1
            if not waiting[s]:
                heapq.heappush(ready, (keys[s], tuple(sorted(place[p] for p in g.predecessors(s))), len(place), s))
    if len(place) != len(g):
        raise nx.NetworkXUnfeasible("the unit graph has a cycle")
    return list(place)


def align(a: Sequence[Unit], b: Sequence[Unit]) -> list[tuple[int | None, int | None]]:
    """A minimal-cost alignment of two unit sequences as ``(i, j)`` pairs.

    ``(i, j)`` pairs equal or changed units, ``(i, None)`` a removal, ``(None, j)`` an
    addition. Equal signatures cost 0, a change (same kind) :data:`CHANGE_COST`, an
    insertion or deletion 1 (edit-distance dynamic programming). Sequences with more than
    :data:`DP_LIMIT` cells use :class:`difflib.SequenceMatcher`, which is greedy and can
    misalign periodic sequences.
    """
    n, m = len(a), len(b)
    if n * m > DP_LIMIT:
        return _align_difflib(a, b)
    sa = [u.signature for u in a]
    sb = [u.signature for u in b]
    ka = [u.kind for u in a]
    kb = [u.kind for u in b]
    inf = float("inf")
    # cost[i][j]: aligning a[i:] with b[j:]; filled backwards so the traceback runs forwards
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for j in range(m - 1, -1, -1):
        cost[n][j] = cost[n][j + 1] + 1
    for i in range(n - 1, -1, -1):
        row, nxt = cost[i], cost[i + 1]
        row[m] = nxt[m] + 1
        ai, ki = sa[i], ka[i]
        for j in range(m - 1, -1, -1):
            if ai == sb[j]:
                diag = nxt[j + 1]
            elif ki == kb[j]:
                diag = nxt[j + 1] + CHANGE_COST
            else:
                diag = inf
            row[j] = min(diag, nxt[j] + 1, row[j + 1] + 1)
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n or j < m:
        c = cost[i][j]
        if i < n and j < m:
            step = 0.0 if sa[i] == sb[j] else (CHANGE_COST if ka[i] == kb[j] else inf)
            if c == cost[i + 1][j + 1] + step:
                out.append((i, j))
                i += 1
                j += 1
                continue
        if i < n and c == cost[i + 1][j] + 1:
            out.append((i, None))
            i += 1
        else:
            out.append((None, j))
            j += 1
    return out


def _align_difflib(a: Sequence[Unit], b: Sequence[Unit]) -> list[tuple[int | None, int | None]]:
    matcher = difflib.SequenceMatcher(None, [u.signature for u in a], [u.signature for u in b], autojunk=False)
    out: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend((i1 + k, j1 + k) for k in range(i2 - i1))
            continue
        rb = list(range(j1, j2))
        paired: set[int] = set()
        for i in range(i1, i2):
            j = next((j for j in rb if j not in paired and b[j].kind == a[i].kind), None)
            if j is None:
                out.append((i, None))
            else:
                paired.add(j)
                out.append((i, j))
        out.extend((None, j) for j in rb if j not in paired)
    return out


__all__ = ["CHANGE_COST", "DP_LIMIT", "HORIZON", "align", "canonical_order"]
