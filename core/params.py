"""Parameter counts per layer and in total, equal to the framework's own count.

The framework's layer table (:class:`modelmap._metadata.LayerRecord`) is the truth when
present: PyTorch counts ``p.numel()`` over parameters (buffers such as BatchNorm running
statistics excluded), Keras ``count_params()`` (moving statistics included). Without it
(a plain ONNX file) a parameter is a floating-point initializer with more than one element,
read at a data slot by an op on the data flow or by a parameter computation (an embedding
lookup); each initializer is counted once, for the first layer that reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from modelmap._metadata import LayerRecord

from .graph import ModelGraph, Node
from .kinds import NodeRole

#: roles of ops whose reads are not parameters (shape and constant computations)
_UNCOUNTED = (NodeRole.SHAPE, NodeRole.CONST)


def initializer_params(g: ModelGraph, layer_ops: Mapping[str, Sequence[str]]) -> tuple[dict[str, int], int]:
    """Per-layer and total parameter counts from the initializers alone.

    Parameters
    ----------
    g : ModelGraph
    layer_ops : mapping
        Layer name -> its op ids, layers in execution order.

    Returns
    -------
    (dict layer name -> count, total)
        The total also counts parameters read by ops that belong to no layer.

    Examples
    --------
    >>> import onnx
    >>> from modelmap.core.graph import build_graph
    >>> m = onnx.parser.parse_model('''<ir_version: 8, opset_import: ["" : 17]>
    ... g (float[1,2] x) => (float[1,3] y) <float[2,3] W = {1., 2., 3., 4., 5., 6.}, float[3] b = {0., 0., 1.}, float s = {2.0}> {
    ...   h = MatMul(x, W)  z = Add(h, b)  y = Mul(z, s) }''')
    >>> g = build_graph(m)
    >>> initializer_params(g, {"fc": g.ops[:2], "scale": g.ops[2:]})
    ({'fc': 9, 'scale': 0}, 9)
    """
    by_id = g.by_id
    return node_params(g, {name: [by_id[nid] for nid in ops] for name, ops in layer_ops.items()})


def node_params(g: ModelGraph, layer_nodes: Mapping[str, Sequence[Node]]) -> tuple[dict[str, int], int]:
    """:func:`initializer_params` for layers given by their op records (:class:`Node`)."""
    inits = g.initializers
    seen: set[str] = set()

    def first_reads(ops: Iterable[Node]) -> int:
        """Values of the initializers ``ops`` read that no earlier op counted (shared weights once)."""
        total = 0
        for d in ops:
            if d.role in _UNCOUNTED:
                continue
            for p in d.params:
                if p not in seen:
                    seen.add(p)
                    total += inits[p].numel
        return total

    per_layer = {name: first_reads(ops) for name, ops in layer_nodes.items()}
    # ops in no layer still read weights the model owns
    grand = sum(per_layer.values()) + first_reads(g.op_records)
    return per_layer, grand


def record_params(
    records: Sequence[LayerRecord],
    layer_record: Mapping[str, LayerRecord],
    container_layers: Mapping[str, Sequence[str]],
) -> tuple[dict[str, int], int, dict[str, int]]:
    """Per-layer and total counts from the framework's layer table.

    ``layer_record`` maps a layer name to its record (the first call of a shared layer
    only, so shared weights count once). A container's own parameters (a ViT's
    ``pos_embed``) go to the first functional layer listed for it in
    ``container_layers`` (record namespace -> layer names), else stay with the container.

    Returns (layer name -> count, total, container namespace -> parameters kept by it).
    """
    per_layer = {name: r.params for name, r in layer_record.items()}
    kept: dict[str, int] = {}
    for r in records:
        if r.leaf or not r.params:
            continue
        target = next(iter(container_layers.get(r.namespace, ())), None)
        if target is not None:
            per_layer[target] = per_layer.get(target, 0) + r.params
        else:
            kept[r.namespace] = kept.get(r.namespace, 0) + r.params
    total = sum(r.params for r in records)
    return per_layer, total, kept


__all__ = ["initializer_params", "node_params", "record_params"]
