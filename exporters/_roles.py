"""Paper roles for boxes whose names the exporter made up from an op type.

A functional op's layer is named after its op (``matmul``, ``matmul_1``, ``div_2``): a
name that says nothing a paper would print. :func:`._paper.name_roles` gives such a
box a role found in the graph instead:

- :func:`attention_role`: a matrix product a softmax normalises gives the attention
  ``scores``; one reading a softmax's result is its ``context`` (the weighted sum of
  the values);
- :func:`tell_apart`: boxes of one cluster that still read the same are named by the
  layers they read (``scores (query_proj · pos_key_proj)``, ``of in_proj``), looking
  back through made-up boxes of one input; what still reads the same is numbered in
  drawing order (``#1``, ``#2``).

Both work on the view's boxes by id with their arrows in (``ins``) and out (``outs``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from modelmap.core import ops
from modelmap.core.kinds import LayerKind

if TYPE_CHECKING:  # pragma: no cover
    from ._view import ViewNode

Links = dict[str, list[str]]

#: How many boxes a softmax may be from the product it normalises or reads (a scale, a
#: mask, a position bias added, a dropout between).
REACH = 4

#: How many made-up boxes of one input :func:`tell_apart` looks back through for a name.
LOOK_BACK = 3


def attention_role(node: ViewNode, by_id: dict[str, ViewNode], ins: Links, outs: Links) -> str:
    """``context`` for a parameter-free matrix product reading a softmax's result,
    ``scores`` for one whose result a softmax normalises, else ``""``."""
    if not _product(node) or node.params:
        return ""
    if _reaches_softmax(node.id, by_id, ins):
        return "context"
    if ops.is_softmax(node.then) or _reaches_softmax(node.id, by_id, outs):
        return "scores"
    return ""


def _reaches_softmax(start: str, by_id: dict[str, ViewNode], step: Links) -> bool:
    """Whether a softmax (a box or one written into a box) is within :data:`REACH` boxes of
    ``start`` along ``step``, passing only parameter-free boxes that are no product."""
    frontier = [start]
    for _ in range(REACH):
        frontier = [v for u in frontier for v in step.get(u, ())]
        if any(ops.is_softmax(by_id[v].type) or ops.is_softmax(by_id[v].then) for v in frontier):
            return True
        frontier = [v for v in frontier if _passes(by_id[v])]
    return False


def _product(node: ViewNode) -> bool:
    """Whether a box is a matrix product (by kind, or by op: a MatMul reading a weight's
    derivative is classed linear)."""
    return node.kind is LayerKind.MATMUL or ops.OP_KINDS.get(node.type) is LayerKind.MATMUL


def _passes(node: ViewNode) -> bool:
    return not node.params and node.repeat == 1 and node.kind is not LayerKind.MODULE and not _product(node)


def tell_apart(group: list[ViewNode], by_id: dict[str, ViewNode], ins: Links, named: Callable[[ViewNode], str]) -> None:
    """Give the made-up boxes ``group`` (one label, one cluster) roles that differ.

    ``named(node)`` is a box's name as a paper prints it, ``""`` for a made-up one. A box
    is named by what it reads (see the module docstring) when that tells it from the
    others; the rest are numbered after their role.
    """
    order = {key: i for i, key in enumerate(by_id)}
    said = {node.id: _reads(node, by_id, ins, named, order) for node in group}
    counts: dict[str, int] = {}
    for text in said.values():
        counts[text] = counts.get(text, 0) + 1
    left = [node for node in group if not said[node.id] or counts[said[node.id]] > 1]
    for node in group:
        text = said[node.id]
        if text and counts[text] == 1:
            node.role = f"{node.role} ({text})" if node.role else f"of {text}"
    if len(left) > 1:
        for i, node in enumerate(left, 1):
            node.role = f"{node.role} #{i}" if node.role else f"#{i}"


def _reads(
    node: ViewNode, by_id: dict[str, ViewNode], ins: Links, named: Callable[[ViewNode], str], order: dict[str, int]
) -> str:
    """The names of the boxes ``node`` reads, in drawing ``order``, joined with ``·`` (``""`` for none)."""
    names: list[str] = []
    for src in sorted(ins.get(node.id, ()), key=order.__getitem__):  # in drawing order
        for _ in range(LOOK_BACK):
            box = by_id[src]
            name = named(box)
            if name or box.params or box.kind is LayerKind.MERGE or len(ins.get(src, ())) != 1:
                break
            src = ins[src][0]
        if name and name not in names:
            names.append(name)
    return " \u00b7 ".join(names)


__all__ = ["LOOK_BACK", "REACH", "attention_role", "tell_apart"]
