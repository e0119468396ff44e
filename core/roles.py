"""The role of every op: on the data flow, or computing shapes, parameters or constants.

See :mod:`~.graph` for what each :class:`~.kinds.NodeRole` means. Two passes over the ops
in topological order: forward, from what each op reads; backward, demoting data ops whose
every use is a shape.
"""

from __future__ import annotations

from .kinds import NodeRole
from .ops import dtype_slot, meta_slot, value_meta_slot
from .node import Node
from .tensors import Source

_FLOW = (NodeRole.DATA, NodeRole.INPUT)


def assign_roles(
    ops: list[Node], reads: list[list[tuple[Source, int]]], order: list[int], feeds_output: set[int]
) -> tuple[list[NodeRole], list[bool]]:
    """Each op's role and ``reads_params``, by file position.

    Forward pass (topological order): data / param / shape / const from what the op
    reads. Backward pass: a data op whose every use is a shape-like slot (or a shape op)
    is a shape op. ``feeds_output`` holds the positions of ops making a graph output.
    """
    roles = [NodeRole.CONST] * len(ops)
    reads_params = [False] * len(ops)
    users: list[list[tuple[int, int]]] = [[] for _ in ops]  # (consumer position, slot) per op
    for i in order:
        op_type = ops[i].op_type
        data = param = shape = False
        for src, slot in reads[i]:
            j = src.op
            if j >= 0:
                src_role = roles[j]
                users[j].append((i, slot))
            else:
                src_role = src.role
            if slot >= 0 and meta_slot(op_type, slot):
                if src_role in (NodeRole.DATA, NodeRole.INPUT, NodeRole.SHAPE) and not dtype_slot(op_type, slot):
                    shape = True
            elif src_role in _FLOW:
                data = True
            elif src_role is NodeRole.SHAPE:
                shape = True
            elif src_role is NodeRole.PARAM:
                param = True
        roles[i] = (
            NodeRole.DATA if data else NodeRole.PARAM if param else NodeRole.SHAPE if shape else NodeRole.CONST
        )
        reads_params[i] = param
    for i in reversed(order):
        if roles[i] is not NodeRole.DATA or i in feeds_output or not users[i]:
            continue
        if all(_shape_use(ops[c].op_type, roles[c], slot) for c, slot in users[i]):
            roles[i] = NodeRole.SHAPE
    return roles, reads_params


def _shape_use(op_type: str, role: NodeRole, slot: int) -> bool:
    """Whether an op of ``op_type`` and ``role`` uses its input ``slot`` for a shape only."""
    if slot >= 0 and value_meta_slot(op_type, slot):
        return True
    return role is NodeRole.SHAPE and not (slot >= 0 and meta_slot(op_type, slot))


__all__ = ["assign_roles"]
