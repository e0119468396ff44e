"""Names that stay distinct where Netron shows them.

Netron 9 (``source/view.js``, ``view.Node._add``) draws a node's name (with "Show Names"
on) or its type name cut to the first 10 characters, an ellipsis and the last 10 when it
is longer than 21 characters; a type name is first cut after its last ``.``. Two names
that differ only in the middle therefore look the same. :func:`netron_label` is that
cut; :func:`distinct_names` makes names whose labels differ.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Netron cuts names longer than this ...
LABEL_MAX = 21
#: ... to this many characters at each end, joined by an ellipsis.
LABEL_END = 10


def netron_label(name: str) -> str:
    """What Netron shows for ``name``.

    >>> netron_label("stage2.0.shortcut")
    'stage2.0.shortcut'
    >>> netron_label("stage2/stage2.0/stage2.0.shortcut/Conv")
    'stage2/sta…rtcut/Conv'
    """
    if len(name) <= LABEL_MAX:
        return name
    return f"{name[:LABEL_END]}\u2026{name[-LABEL_END:]}"


def distinct_names(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """``names`` made pairwise distinct, also as Netron labels, and apart from ``taken``.

    A name whose label is already used gets ``#2``, ``#3``... appended; the suffix lands
    in the label's visible tail.

    >>> distinct_names(["relu", "relu", "transformer.h.0.attn.c_proj", "transformer.h.1.attn.c_proj"])
    ['relu', 'relu#2', 'transformer.h.0.attn.c_proj', 'transformer.h.1.attn.c_proj#2']
    """
    used_names = set(taken)
    used_labels = {netron_label(n) for n in used_names}
    out = []
    for name in names:
        cand, k = name, 1
        while cand in used_names or netron_label(cand) in used_labels:
            k += 1
            cand = f"{name}#{k}"
        used_names.add(cand)
        used_labels.add(netron_label(cand))
        out.append(cand)
    return out


def short_name(segment: str, parent: str) -> str:
    """A module's name inside its parent: the qualified name without the parent's prefix.

    A bare index (a ``Sequential`` child) keeps the parent's last part in front.

    >>> short_name("stage2.0.conv1", "stage2.0"), short_name("stage2.0", "stage2")
    ('conv1', 'stage2.0')
    >>> short_name("transformer.h.0", "transformer"), short_name("dense_1", "")
    ('h.0', 'dense_1')
    """
    if parent and segment.startswith(parent + "."):
        rest = segment[len(parent) + 1 :]
        if rest.split(".")[0].isdigit():
            return f"{parent.rsplit('.', 1)[-1]}.{rest}"
        return rest
    return segment


__all__ = ["LABEL_END", "LABEL_MAX", "distinct_names", "netron_label", "short_name"]
