"""The data flow of a model graph by node number, and dominators over it.

:meth:`ModelGraph.data_flow() <modelmap.core.graph.ModelGraph.data_flow>` lists, for each
node by its number in :attr:`ModelGraph.nodes <modelmap.core.graph.ModelGraph.nodes>`
(graph inputs first, then the ops in topological order), the numbers of the nodes whose
tensors it reads at data slots. Analyses that walk the whole data flow (skip
connections) work on these lists: indexing a list is much cheaper than looking a node up
by name in a dict of a hundred thousand entries, and the lists stay small in memory.

Because the numbering is topological, immediate dominators take one pass
(:func:`immediate_dominators`): the immediate dominator of a node is the nearest common
ancestor, in the dominator tree built so far, of its predecessors.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the virtual source that feeds every node without predecessors
SOURCE = -1


@dataclass(slots=True)
class DataFlow:
    """The data flow over ``input`` and ``data`` nodes, by node number.

    Attributes
    ----------
    members : list[int]
        The numbers of the graph inputs and data ops, in increasing order.
    preds : list[list[int]]
        Node number -> the distinct data-flow nodes it reads at data slots, in order of
        first use (empty for the graph inputs and for nodes off the data flow).
    """

    members: list[int]
    preds: list[list[int]]


def immediate_dominators(
    preds: list[list[int]], members: list[int] | None = None, root: int = SOURCE
) -> dict[int, int]:
    """Immediate dominators in a DAG whose nodes are numbered in topological order.

    Parameters
    ----------
    preds : list of lists
        Node -> its predecessors (every predecessor has a smaller number).
    members : list of int, optional
        The subgraph to work on, in increasing order, ``root`` included: only edges
        between members count. By default every node, with ``root`` the virtual
        :data:`SOURCE` feeding each node that has no predecessor.
    root : int
        The start node (:data:`SOURCE` for the whole graph). Every member must be
        reachable from it, so it has the smallest number of them all.

    Returns
    -------
    dict
        Node -> its immediate dominator, for every member but ``root``: the same as
        ``networkx.immediate_dominators`` on that graph, in one pass.

    Examples
    --------
    >>> preds = [[], [0], [0], [1, 2], []]   # a diamond 0 -> 1, 2 -> 3, and a lone node 4
    >>> immediate_dominators(preds)
    {0: -1, 1: 0, 2: 0, 3: 0, 4: -1}
    >>> immediate_dominators(preds, [1, 3], root=1)
    {3: 1}
    """
    idom: dict[int, int] = {}
    inside = None if members is None else set(members)
    for v in range(len(preds)) if members is None else members:
        if v == root:
            continue
        best = None
        for p in preds[v]:
            if inside is not None and p not in inside:
                continue
            best = p if best is None else _common_dominator(best, p, idom)
        idom[v] = root if best is None else best
    return idom


def _common_dominator(a: int, b: int, idom: dict[int, int]) -> int:
    """The nearest common ancestor of ``a`` and ``b`` in the dominator tree built so far.

    A node's dominators have smaller numbers, so the larger of the two climbs; the root
    has the smallest number and never climbs.
    """
    while a != b:
        if a > b:
            a = idom[a]
        else:
            b = idom[b]
    return a


__all__ = ["SOURCE", "DataFlow", "immediate_dominators"]
