"""The public data model of an analysis: layers, skips, blocks, the module tree.

An :class:`Analysis` is what :func:`modelmap.analyze` returns and the only thing exporters
read. It is frozen and holds frozen records (:class:`Layer`, :class:`Skip`,
:class:`Rejection`, :class:`Block`, :class:`ModuleNode`) that name layers by their unique
display name, plus the op-level :class:`~modelmap.core.graph.ModelGraph` they were computed
from, which stays internal to the core. Exporters read it through:

- :meth:`Analysis.collapse` -- the layer graph at a depth as typed records
  (:class:`~.units.UnitGraph` of :class:`~.units.Unit` and :class:`~.units.Link`);
  :meth:`Analysis.layer_graph` is the same as networkx;
- :meth:`Analysis.ops`, :meth:`Analysis.op`, :meth:`Analysis.tensor` -- a layer's ONNX ops
  (:class:`Op`: type, attributes, input/output :class:`Tensor` with shape and dtype,
  parameters read);
- :attr:`Analysis.model` -- the annotated model after shape inference (inferred once);
- :attr:`Analysis.depth` / :meth:`Analysis.view_depth` -- the depth views show by default.

The algorithms live in their own modules (``graph``, ``layers``, ``skips``, ``blocks``,
``params``, ``units``); this module only holds data and its views.

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
                                                 # only when true / non-empty:
                                                 # "shared": true (one module applied
                                                 # count times, same weights: ALBERT)
                                                 # "first_extra": [...] (layers only the
                                                 # first unit has: T5's position bias)
        ...],
      "rejections": [                            # merge ops that are not skips, and why
                                                 # (the CLI prints these with --explain only)
        {"merge": "fc", "op": "node_Add_12", "reason": "Add at fc: ..."}, ...]
    }

With ``--depth N`` the ``layers`` list holds the units of :meth:`Analysis.collapse`
at that depth (modules deeper than N collapsed into one entry of kind ``module``,
with a ``members`` list, and no ``ops`` or ``attrs``); skips and blocks still name leaf layers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    import onnx

    from .costs import Costs
    from .graph import ModelGraph

from .kinds import LayerKind, SkipKind
from .units import Link, Shape, Unit, UnitGraph, _shape_json
from .units import collapse as collapse_units


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

    ``shared``: one module applied ``count`` times with the same weights (ALBERT's
    layer group); ``members`` are its calls (``m``, ``m#2``, ...) and ``units`` each
    call's layers, position for position (a layer that left no op, such as a Dropout,
    is in no unit). ``first_extra``: layers only the first unit has (T5's block 0
    computes the relative attention bias the others read); the units match once those
    are left out.
    """

    name: str
    count: int
    members: tuple[str, ...]
    parent: tuple[str, ...]
    signature: str
    units: tuple[tuple[str, ...], ...] = ()
    shared: bool = False
    first_extra: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "count": self.count,
            "parent": list(self.parent),
            "members": list(self.members),
            "units": [list(u) for u in self.units],
            "signature": self.signature,
        }
        if self.shared:
            d["shared"] = True
        if self.first_extra:
            d["first_extra"] = list(self.first_extra)
        return d


@dataclass(frozen=True, slots=True)
class ModuleNode:
    """A node of the module tree: the model (path ``()``), a container, or a leaf layer.

    ``children`` are the paths of child modules in execution order; ``layers`` are the
    names of every leaf layer in the subtree, in execution order; ``params`` is their sum
    (plus the module's own parameters, if any). ``inferred``: a module the framework does not
    have, put in a flat model by :mod:`.inferred`, and from what (``names``, ``skips``,
    ``blocks``, ``shapes``); ``""`` for the framework's own.
    """

    path: tuple[str, ...]
    name: str
    cls: str
    children: tuple[tuple[str, ...], ...] = ()
    layers: tuple[str, ...] = ()
    params: int = 0
    leaf: bool = False
    inferred: str = ""


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor of the main graph: its name, shape, element type and the op making it.

    ``shape`` holds ints, symbolic dims as strings and ``None`` for unknown dims, and is
    ``None`` itself when even the rank is unknown; ``dtype`` is ONNX's element type name in
    lower case (``float``, ``int64``; ``""`` when unknown). ``producer`` is the id of the op
    that makes the tensor (see :meth:`Analysis.op`); ``None`` for graph inputs,
    initializers, and the empty name of an omitted optional input or output.
    """

    name: str
    shape: Shape | None = None
    dtype: str = ""
    producer: str | None = None
    initializer: bool = False


@dataclass(frozen=True, slots=True)
class Op:
    """One ONNX op, as :meth:`Analysis.ops` lists a layer's.

    ``id`` is the op's id (the entries of :attr:`Layer.ops`), ``name`` its ONNX node name.
    ``inputs`` and ``outputs`` are by slot (an omitted optional one is a tensor named
    ``""``); ``params`` names the parameter initializers it reads at data slots (not
    Reshape's shape or Resize's scales); ``attrs`` are its ONNX attributes as Python
    values, graph attributes left out.
    """

    id: str
    op_type: str
    domain: str
    name: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    params: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.outputs)


@dataclass(frozen=True, repr=False)
class Analysis:
    """Everything modelmap knows about one model. See the module docstring for the JSON.

    An Analysis is frozen: build another with :meth:`with_depth` rather than changing one.
    Exporters read it through its records and methods, never through :attr:`graph`.

    Attributes
    ----------
    framework, converter : str
        Where the model came from (``pytorch``/``keras``/``onnx``) and how it became ONNX.
    model : onnx.ModelProto
        The annotated model after shape inference (``value_info`` filled in). Shape
        inference has run once, here: an exporter needing shapes reads this model as it is.
    graph : ModelGraph
        The op-level graph the analyses ran on; ``Layer.ops`` are its node ids. Internal to
        the core: read ops and tensors through :meth:`ops`, :meth:`op` and :meth:`tensor`.
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
        The depth views of this analysis show unless told otherwise (:meth:`view_depth`):
        ``mm.analyze(..., depth=N)`` sets it; ``None`` shows every layer.
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
    #: default depth of :meth:`to_dict`, :meth:`summary` and drawings (None: every layer)
    depth: int | None = None
    #: what the views compute once: "layers" (name -> Layer) and a UnitGraph per depth
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.depth is not None and self.depth < 1:
            raise ValueError("depth must be at least 1")

    def __repr__(self) -> str:
        return (
            f"<Analysis {self.framework}: {len(self.layers)} layers, {self.op_count} ops, "
            f"{self.params:,} params, {len(self.skips)} skips, {len(self.blocks)} repeated blocks>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter shows the diagram and this text summary, through the display hook that
        :mod:`modelmap.exporters` provides (the core imports no exporter)."""
        from modelmap._registry import display_hook

        show = display_hook.get()
        if show is None:
            return {"text/plain": self.summary()}
        return show(self, include, exclude)

    def with_depth(self, depth: int | None) -> Analysis:
        """The same analysis with views at ``depth`` by default (see :attr:`depth`)."""
        return replace(self, depth=depth)

    def view_depth(self, depth: int | None = None) -> int | None:
        """The depth a view shows when asked for ``depth``: ``depth`` if given, else :attr:`depth`."""
        return self.depth if depth is None else depth

    @property
    def costs(self) -> Costs:
        """MACs per layer and in total, output and parameter bytes (:mod:`.costs`), on first use."""
        costs = self._cache.get("costs")
        if costs is None:
            from .costs import compute_costs

            costs = self._cache["costs"] = compute_costs(self)
        return costs

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one forward pass at the example input's shapes."""
        return self.costs.macs

    # -- lookups -----------------------------------------------------------------
    def layer(self, name: str) -> Layer:
        """The layer called ``name`` (KeyError if none)."""
        return self._layers()[name]

    def _layers(self) -> dict[str, Layer]:
        by_name = self._cache.get("layers")
        if by_name is None:
            by_name = self._cache["layers"] = {}
            for layer in self.layers:
                by_name.setdefault(layer.name, layer)
        return by_name

    @property
    def layer_map(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}

    @property
    def max_depth(self) -> int:
        """The deepest layer path length (1 for a flat model)."""
        return max((len(layer.path) for layer in self.layers), default=0)

    def ops(self, layer: str | Layer) -> tuple[Op, ...]:
        """The ops of ``layer`` (a name or a :class:`Layer`), in the order of its ``ops``.

        A layer that left no op (a Keras Dropout, a graph input) has none.
        """
        name = layer if isinstance(layer, str) else layer.name
        return tuple(self.op(op_id) for op_id in self.layer(name).ops)

    def op(self, op_id: str) -> Op:
        """The op with id ``op_id`` (an entry of some ``Layer.ops``; KeyError if none)."""
        node = self.graph.by_id.get(op_id)
        if node is None or not node.is_op:
            raise KeyError(op_id)
        tensor = self.tensor
        return Op(
            id=node.id,
            op_type=node.op_type,
            domain=node.domain,
            name=node.name,
            inputs=tuple(map(tensor, node.inputs)),
            outputs=tuple(map(tensor, node.outputs)),
            params=node.params,
            attrs=node.attrs,
        )

    def tensor(self, name: str) -> Tensor:
        """The tensor called ``name`` in the main graph (KeyError if none; ``""`` is the
        omitted optional tensor)."""
        if not name:
            return Tensor("")
        info = self.graph.tensors[name]
        producer = info.producer
        if producer is not None and not self.graph.by_id[producer].is_op:
            producer = None  # a graph input
        return Tensor(name, info.shape, info.dtype, producer, info.initializer)

    # -- views -------------------------------------------------------------------
    def collapse(self, depth: int | None = None) -> UnitGraph:
        """The layer graph with modules deeper than ``depth`` collapsed, as typed records.

        ``depth`` None keeps every layer (one :class:`~.units.Unit` per layer). A layer whose
        path is longer than ``depth`` is replaced by its ancestor module at ``depth`` (a
        unit of kind ``module``, type = the module's class). Computed once per depth.

        Raises
        ------
        ValueError
            ``depth`` is less than 1.
        """
        view = self._cache.get(("units", depth))
        if view is None:
            view = collapse_units(self.layers, self.tree, self.connections, depth)
            self._cache[("units", depth)] = view
        return view

    def layer_graph(self, depth: int | None = None) -> nx.DiGraph:
        """The layer graph, or modules collapsed at ``depth``, as a networkx ``DiGraph``.

        :meth:`collapse` in networkx: nodes are keyed by unit name and carry ``name``,
        ``path``, ``type``, ``kind``, ``params``, ``output_shape`` and ``members`` (the
        leaf layers a node stands for); edges carry ``tensor`` and ``shape`` of one tensor
        between the two nodes and ``count``, the number of layer-level connections they
        stand for. A module reused at several places can make the collapsed graph cyclic.
        A new graph each call: change it freely.
        """
        return self.collapse(depth).to_networkx()

    def to_dict(self, depth: int | None = None) -> dict[str, Any]:
        """The ``analyze --json`` object (see the module docstring); JSON-serialisable.

        ``depth`` defaults to :attr:`depth`.
        """
        depth = self.view_depth(depth)
        if depth is None:
            layers = [layer.to_dict() for layer in self.layers]
        else:
            layers = [unit.to_dict() for unit in self.collapse(depth).units]
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
            **self._inferred_json(),
        }

    def _inferred_json(self) -> dict[str, Any]:
        """``inferred_modules`` (see the module docstring), only when there are any."""
        found = [{"path": list(p), "class": m.cls, "source": m.inferred} for p, m in self.tree.items() if m.inferred]
        return {"inferred_modules": found} if found else {}

    def summary(self, depth: int | None = None, explain: bool = False) -> str:
        """A readable table of the layers, then the skips, blocks and totals.

        ``depth`` (default :attr:`depth`) collapses deeper modules; ``explain`` adds why
        each merge op that is not a skip connection was rejected.
        """
        d = self.to_dict(depth)
        lines = _layer_table(d["layers"])
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
                note = ", shared weights" if b.shared else ""
                if b.first_extra:
                    note += f", the first with {', '.join(b.first_extra)}"
                lines.append(f"  {b.name} x{b.count}{note} in {where}: {', '.join(b.members)}")
        if explain:
            lines.append(f"merges that are not skip connections: {len(self.rejections)}")
            for r in self.rejections:
                lines.append(f"  {r.reason}")
        return "\n".join(lines)


def _layer_table(entries: list[dict[str, Any]]) -> list[str]:
    """The summary's table: name (indented by depth), type, output shape, params, MACs, inputs."""
    rows = [("Layer", "Type", "Output shape", "Params", "MACs", "Inputs")]
    for e in entries:
        indent = "  " * (len(e["path"]) - 1) if e["path"] else ""
        rows.append((indent + e["name"], e["type"], _shape_text(e["output_shape"]), f"{e['params']:,}",
                     f"{e['macs']:,}", ", ".join(e["inputs"])))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    lines = []
    for i, r in enumerate(rows):
        cells = [r[j].ljust(widths[j]) if j < 3 else r[j].rjust(widths[j]) for j in range(5)]
        lines.append("  ".join(cells + [r[5]]).rstrip())
        if i == 0:
            lines.append("-" * (sum(widths) + 10 + 12))
    return lines


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
    "Link",
    "ModuleNode",
    "Op",
    "Rejection",
    "Skip",
    "SkipKind",
    "Tensor",
    "Unit",
    "UnitGraph",
]
