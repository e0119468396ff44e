"""The public data model of an analysis: layers, skips, blocks, the module tree.

An :class:`Analysis` is what :func:`modelmap.analyze` returns and what every exporter
reads. It holds plain frozen records (:class:`Layer`, :class:`Skip`, :class:`Rejection`,
:class:`Block`, :class:`ModuleNode`) that name layers by their unique display name, plus
the op-level :class:`~modelmap.core.graph.ModelGraph` they were computed from.
The algorithms live in their own modules (``graph``, ``layers``, ``skips``, ``blocks``,
``params``); this module only holds data and its views.

The JSON of ``modelmap analyze --json`` (:meth:`Analysis.to_dict`)
------------------------------------------------------------------

One object, keys always in this order::

    {
      "framework": "pytorch" | "keras" | "onnx",
      "converter": "torch.onnx dynamo",          # how the ONNX came to be
      "op_count": 123,                           # ONNX nodes in the main graph
      "params": 11173962,                        # the framework's own count
      "param_bytes": 44695848,                   # params x their element size (core/costs.py)
      "macs": 557889536,                         # multiply-accumulates of one forward pass
      "depth": null,                             # or N when layers are collapsed at depth N
      "layers": [                                # execution order
        {"name": "layer1.0.conv1",               # unique display name
         "path": ["layer1", "layer1.0", "layer1.0.conv1"],   # position in the module tree
         "type": "Conv2d",                       # framework class, else the ONNX op type
         "kind": "conv",                         # LayerKind value
         "params": 36864,
         "macs": 2359296,                        # multiply-accumulates (core/costs.py)
         "output_bytes": 16384,                  # bytes of the tensors it hands on
         "inputs": ["maxpool"],                  # layer names (graph inputs are layers of kind "input")
         "outputs": ["layer1.0.bn1"],
         "output_shape": [1, 64, 8, 8],          # ints; symbolic dims as strings; null if unknown
         "ops": 1,                               # number of ONNX nodes in the layer
         "attrs": {"kernel_shape": [3, 3], ...}},
        ...],
      "skips": [                                 # skip connections, DESIGN.md's definition
        {"kind": "identity" | "projection" | "concat" | "gate",
         "merge": "layer1.0/add",                # the layer holding the merge op
         "fork": "maxpool",                      # the layer producing the fork tensor
         "body": ["layer1.0.conv1", ...],        # layers on the learned branch(es)
         "shortcut": []},                        # layers on the shortcut ([] = unchanged)
        ...],
      "blocks": [                                # runs of structurally identical units
        {"name": "BasicBlock", "count": 2, "parent": ["layer1"],
         "members": ["layer1.0", "layer1.1"],    # one per repetition
         "units": [["layer1.0.conv1", ...], ...], # the leaf layers of each repetition
         "signature": "3f2a9c0d1e4b"},           # structural hash, names ignored
        ...],
      "rejections": [                            # merge ops that are not skips, and why
                                                 # (the CLI prints these with --explain only)
        {"merge": "fc", "op": "node_Add_12", "reason": "Add at fc: ..."}, ...]
    }

With ``--depth N`` the ``layers`` list holds the nodes of :meth:`Analysis.layer_graph`
at that depth (modules deeper than N collapsed into one entry of kind ``module``,
with a ``members`` list); skips and blocks still name leaf layers.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    import onnx

    from .costs import Costs
    from .graph import ModelGraph

from .kinds import LayerKind, SkipKind

Shape = tuple  # tuple[int | str | None, ...]


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: a leaf module / Keras layer, or a functional op outside any leaf.

    ``name`` is unique within the analysis. ``inputs``/``outputs`` name other layers;
    graph inputs and outputs are layers of kind ``input``/``output``. ``ops`` are the
    ONNX node names that make up the layer (empty for a layer that left no op, such as
    a Keras Dropout). ``attrs`` holds comparable hyper-parameters (``kernel_shape``,
    ``strides``, ``channels``, ``features``, ``group``, ...).
    """

    name: str
    path: tuple[str, ...]
    type: str
    kind: LayerKind
    params: int = 0
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    output_shape: Shape | None = None
    ops: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def parent(self) -> tuple[str, ...]:
        """Path of the module holding this layer (``()`` for the model itself)."""
        return self.path[:-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": list(self.path),
            "type": self.type,
            "kind": self.kind.value,
            "params": self.params,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "output_shape": _shape_json(self.output_shape),
            "ops": len(self.ops),
            "attrs": _jsonable(dict(self.attrs)),
        }


@dataclass(frozen=True, slots=True)
class Skip:
    """A skip connection: ``merge`` joins ``fork``'s tensor with a branch derived from it.

    All four fields name layers. ``shortcut`` is empty when the fork tensor reaches the
    merge unchanged (identity, concat, gate).
    """

    kind: SkipKind
    merge: str
    fork: str
    body: tuple[str, ...]
    shortcut: tuple[str, ...] = ()
    op: str = ""  # the ONNX merge node

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "merge": self.merge,
            "fork": self.fork,
            "body": list(self.body),
            "shortcut": list(self.shortcut),
        }


@dataclass(frozen=True, slots=True)
class Rejection:
    """A merge op that is not a skip connection, with one readable sentence why."""

    merge: str
    op: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"merge": self.merge, "op": self.op, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Block:
    """A run of ``count`` consecutive, structurally identical units inside ``parent``.

    ``name`` is the class of the repeated module (``BasicBlock``) or a generated
    structural name (``ResidualBlock``, ``TransformerLayer``, ``Conv2D+ReLU``).
    ``members`` has one entry per repetition (the module's name, or the first layer of
    the unit); ``units`` lists each repetition's leaf layers. ``signature`` is a
    structural hash that ignores names.
    """

    name: str
    count: int
    members: tuple[str, ...]
    parent: tuple[str, ...]
    signature: str
    units: tuple[tuple[str, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "parent": list(self.parent),
            "members": list(self.members),
            "units": [list(u) for u in self.units],
            "signature": self.signature,
        }


@dataclass(frozen=True, slots=True)
class ModuleNode:
    """A node of the module tree: the model (path ``()``), a container, or a leaf layer.

    ``children`` are the paths of child modules in execution order; ``layers`` are the
    names of every leaf layer in the subtree, in execution order; ``params`` is their sum
    (plus the module's own parameters, if any).
    """

    path: tuple[str, ...]
    name: str
    cls: str
    children: tuple[tuple[str, ...], ...] = ()
    layers: tuple[str, ...] = ()
    params: int = 0
    leaf: bool = False


@dataclass(repr=False)
class Analysis:
    """Everything modelmap knows about one model. See the module docstring for the JSON.

    Attributes
    ----------
    framework, converter : str
        Where the model came from (``pytorch``/``keras``/``onnx``) and how it became ONNX.
    model : onnx.ModelProto
        The annotated model after shape inference (``value_info`` filled in).
    graph : ModelGraph
        The op-level graph; ``Layer.ops`` are its node ids.
    layers : list[Layer]
        In execution order, graph inputs first and outputs last.
    skips, rejections : list[Skip], list[Rejection]
        Skip connections, and every other merge op with the reason it is not one.
    blocks : list[Block]
        Runs of repeated units, outer modules first.
    params, op_count : int
        Total parameters (the framework's count) and ONNX nodes in the main graph.
    tree : dict[tuple[str, ...], ModuleNode]
        The module tree by path; ``()`` is the model.
    connections : dict
        ``(producer layer, consumer layer) -> (tensor name, shape)`` of one tensor between them.
    depth : int or None
        Default depth of :meth:`to_dict` and :meth:`summary`.
    """

    framework: str
    converter: str
    model: onnx.ModelProto
    graph: ModelGraph
    layers: list[Layer]
    skips: list[Skip]
    blocks: list[Block]
    rejections: list[Rejection]
    params: int
    op_count: int
    tree: dict[tuple[str, ...], ModuleNode]
    #: (producer layer, consumer layer) -> (tensor name, tensor shape) of one tensor between them
    connections: dict[tuple[str, str], tuple[str, Shape | None]] = field(default_factory=dict)
    #: default depth of :meth:`to_dict` and :meth:`summary` (None: every layer)
    depth: int | None = None

    def __repr__(self) -> str:
        return (
            f"<Analysis {self.framework}: {len(self.layers)} layers, {self.op_count} ops, "
            f"{self.params:,} params, {len(self.skips)} skips, {len(self.blocks)} repeated blocks>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows the diagram (SVG through Graphviz) and this text summary."""
        from modelmap.exporters import repr_mimebundle

        return repr_mimebundle(self, include, exclude)

    @functools.cached_property
    def costs(self) -> Costs:
        """MACs per layer and in total, output and parameter bytes (:mod:`.costs`), on first use."""
        from .costs import compute_costs

        return compute_costs(self)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass at the example input's shapes."""
        return self.costs.macs

    # -- lookups -----------------------------------------------------------------
    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (KeyError if none)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def layer_map(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    @property
    def max_depth(self) -> int:
        """The deepest layer path length (1 for a flat model)."""
        return max((len(layer.path) for layer in self.layers), default=0)

    # -- views -------------------------------------------------------------------
    def layer_graph(self, depth: int | None = None) -> nx.DiGraph:
        """The layer graph, or modules collapsed at ``depth``.

        Nodes are keyed by name and carry ``name``, ``path``, ``type``, ``kind``,
        ``params``, ``output_shape`` and ``members`` (the leaf layers a node stands
        for). A layer whose path is longer than ``depth`` is replaced by its ancestor
        module at ``depth`` (of kind ``module``, type = the module's class). Edges carry
        ``tensor`` and ``shape`` of one tensor between the two nodes and ``count``, the
        number of layer-level connections they stand for. A module reused at several
        places can make the collapsed graph cyclic.
        """
        import networkx as nx

        if depth is not None and depth < 1:
            raise ValueError("depth must be at least 1")
        g = nx.DiGraph()
        group: dict[str, str] = {}
        for layer in self.layers:
            if depth is None or len(layer.path) <= depth:
                key = layer.name
                group[layer.name] = key
                g.add_node(
                    key,
                    name=layer.name,
                    path=layer.path,
                    type=layer.type,
                    kind=layer.kind,
                    params=layer.params,
                    output_shape=layer.output_shape,
                    members=(layer.name,),
                )
                continue
            mpath = layer.path[:depth]
            node = self.tree.get(mpath)
            key = node.name if node is not None else "/".join(mpath)
            if key in g and g.nodes[key]["path"] != mpath:
                key = "/".join(mpath)
            group[layer.name] = key
            if key not in g:
                g.add_node(
                    key,
                    name=key,
                    path=mpath,
                    type=node.cls if node is not None else "",
                    kind=LayerKind.MODULE,
                    params=0,
                    output_shape=None,
                    members=(),
                )
            data = g.nodes[key]
            data["params"] += layer.params
            data["members"] = data["members"] + (layer.name,)
        shapes = {layer.name: layer.output_shape for layer in self.layers}
        tensors = self.connections
        for layer in self.layers:
            u = group[layer.name]
            for out in layer.outputs:
                v = group.get(out)
                if v is None or v == u:
                    continue
                tensor, shape = tensors.get((layer.name, out), ("", shapes.get(layer.name)))
                if g.has_edge(u, v):
                    g.edges[u, v]["count"] += 1
                else:
                    g.add_edge(u, v, tensor=tensor, shape=shape, count=1)
                if g.nodes[u]["kind"] == LayerKind.MODULE:
                    g.nodes[u]["output_shape"] = shape
        return g

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The ``analyze --json`` object (see the module docstring); JSON-serialisable.

        ``depth`` defaults to :attr:`depth`.
        """
        depth = self.depth if depth is None else depth
        if depth is None:
            layers = [layer.to_dict() for layer in self.layers]
        else:
            g = self.layer_graph(depth)
            layers = []
            for key, d in g.nodes(data=True):
                entry = {
                    "name": d["name"],
                    "path": list(d["path"]),
                    "type": d["type"],
                    "kind": LayerKind(d["kind"]).value,
                    "params": d["params"],
                    "inputs": list(g.predecessors(key)),
                    "outputs": list(g.successors(key)),
                    "output_shape": _shape_json(d["output_shape"]),
                    "members": list(d["members"]),
                }
                layers.append(entry)
        from .costs import with_costs

        layers = with_costs(self, self.costs, layers)
        return {
            "framework": self.framework,
            "converter": self.converter,
            "op_count": self.op_count,
            "params": self.params,
            "param_bytes": self.costs.param_bytes,
            "macs": self.costs.macs,
            "depth": depth,
            "layers": layers,
            "skips": [s.to_dict() for s in self.skips],
            "blocks": [b.to_dict() for b in self.blocks],
            "rejections": [r.to_dict() for r in self.rejections],
        }

    def summary(self, depth: int | None = None, explain: bool = False) -> str:
        """A readable table of the layers, then the skips, blocks and totals.

        ``depth`` (default :attr:`depth`) collapses deeper modules; ``explain`` adds why
        each merge op that is not a skip connection was rejected.
        """
        d = self.to_dict(depth)
        rows = [("Layer", "Type", "Output shape", "Params", "MACs", "Inputs")]
        for e in d["layers"]:
            indent = "  " * (len(e["path"]) - 1) if e["path"] else ""
            rows.append(
                (
                    indent + e["name"],
                    e["type"],
                    _shape_text(e["output_shape"]),
                    f"{e['params']:,}",
                    f"{e['macs']:,}",
                    ", ".join(e["inputs"]),
                )
            )
        widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
        lines = []
        for i, r in enumerate(rows):
            cells = [r[j].ljust(widths[j]) if j < 3 else r[j].rjust(widths[j]) for j in range(5)]
            lines.append("  ".join(cells + [r[5]]).rstrip())
            if i == 0:
                lines.append("-" * (sum(widths) + 10 + 12))
        lines.append("")
        lines.append(
            f"{self.framework} model via {self.converter or 'onnx'}: {len(self.layers)} layers, "
            f"{self.op_count} ONNX ops, {self.params:,} parameters"
        )
        lines.append(f"MACs: {d['macs']:,}; parameter bytes: {d['param_bytes']:,}")
        counts: dict[str, int] = {}
        for s in self.skips:
            counts[s.kind.value] = counts.get(s.kind.value, 0) + 1
        detail = ", ".join(f"{n} {k}" for k, n in counts.items())
        lines.append(f"skip connections: {len(self.skips)}" + (f" ({detail})" if detail else ""))
        for s in self.skips:
            via = f" via {', '.join(s.shortcut)}" if s.shortcut else ""
            lines.append(f"  {s.kind.value:<10} {s.fork} -> {s.merge}{via} (body: {len(s.body)} layers)")
        if self.blocks:
            lines.append(f"repeated blocks: {len(self.blocks)}")
            for b in self.blocks:
                where = "/".join(b.parent) or "model"
                lines.append(f"  {b.name} x{b.count} in {where}: {', '.join(b.members)}")
        if explain:
            lines.append(f"merges that are not skip connections: {len(self.rejections)}")
            for r in self.rejections:
                lines.append(f"  {r.reason}")
        return "\n".join(lines)


def _shape_json(shape: Shape | None) -> list[Any] | None:
    if shape is None:
        return None
    return [d if isinstance(d, (int, str)) or d is None else str(d) for d in shape]


def _shape_text(shape: list[Any] | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


__all__ = [
    "Analysis",
    "Block",
    "Layer",
    "LayerKind",
    "ModuleNode",
    "Rejection",
    "Skip",
    "SkipKind",
]
