"""Aligning two sequences of comparison units: the edit script between two models.

:func:`align` pairs units of equal signature, or of one kind with different signatures
(a change), and leaves the rest as additions and removals, at minimal cost.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .compare import Unit

#: above this many cells (units of A times units of B) the alignment falls back to difflib
DP_LIMIT = 4_000_000
#: cost of pairing two units of the same kind with different signatures (an insertion or
#: deletion costs 1, so a change is preferred to removing one unit and adding another)
CHANGE_COST = 1.5


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


__all__ = ["CHANGE_COST", "DP_LIMIT", "align"]
