"""The layer graph at a depth, as typed records: units (a layer, or a collapsed module) and links.

:func:`collapse` replaces every layer whose module path is longer than ``depth`` by its
ancestor module at ``depth``; the result is a :class:`UnitGraph` of frozen :class:`Unit`
and :class:`Link` records. It is what :meth:`Analysis.collapse
<modelmap.core.analysis.Analysis.collapse>` returns, what the drawings (``exporters/_view``)
and ``analyze --json --depth N`` read, and what :meth:`Analysis.layer_graph
<modelmap.core.analysis.Analysis.layer_graph>` turns into networkx.

Orders, all deterministic: units in the order their first layer appears (execution
order); links in the order their first layer-level connection appears; a unit's
``inputs`` and ``outputs`` in the order of the links that join them.

>>> from modelmap.core.analysis import Layer, ModuleNode
>>> from modelmap.core.kinds import LayerKind as K
>>> layers = [
...     Layer("x", ("x",), "Input", K.INPUT, outputs=("blk.fc",)),
...     Layer("blk.fc", ("blk", "blk.fc"), "Linear", K.LINEAR, 20, ("x",), ("blk.act",), (1, 4)),
...     Layer("blk.act", ("blk", "blk.act"), "ReLU", K.ACTIVATION, 0, ("blk.fc",), ("y",), (1, 4)),
...     Layer("y", ("y",), "Output", K.OUTPUT, inputs=("blk.act",)),
... ]
>>> tree = {("blk",): ModuleNode(("blk",), "blk", "Block")}
>>> g = collapse(layers, tree, {}, depth=1)
>>> [(u.name, u.kind.value, u.params, u.members) for u in g.units]
[('x', 'input', 0, ('x',)), ('blk', 'module', 20, ('blk.fc', 'blk.act')), ('y', 'output', 0, ('y',))]
>>> g.unit("blk").inputs, g.unit("blk").output_shape, g.group["blk.act"]
(('x',), (1, 4), 'blk')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .kinds import LayerKind

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .analysis import Layer, ModuleNode

Shape = tuple  # tuple[int | str | None, ...]


def _in_layout(tensor: Shape | None, layer: Shape | None) -> Shape | None:
    """A module's output shape: its last layer's own when the tensor leaving it is that shape
    transposed (tf2onnx keeps NCHW between Keras layers that compute in NHWC), so that a
    module box and a layer box read in one layout; else the tensor's.

    >>> _in_layout((1, 8, 32, 32), (1, 32, 32, 8)), _in_layout((1, 10), (1, 20))
    ((1, 32, 32, 8), (1, 10))
    """
    if tensor is None or layer is None or len(tensor) != len(layer):
        return tensor
    same = all(isinstance(d, int) for d in (*tensor, *layer)) and sorted(tensor) == sorted(layer)
    return tuple(layer) if same else tensor


def _shape_json(shape: Shape | None) -> list[Any] | None:
    """A shape as JSON: ints, symbolic dims as strings, unknown dims as null."""
    if shape is None:
        return None
    return [d if isinstance(d, (int, str)) or d is None else str(d) for d in shape]


@dataclass(frozen=True, slots=True)
class Unit:
    """A node of the layer graph at a depth: one layer, or a module collapsed at that depth.

    ``name`` is unique in its :class:`UnitGraph` (a layer's name, a module's name, or the
    module's ``/``-joined path when its name is taken). A collapsed module has kind
    ``module``, the module's class as ``type``, the sum of its layers' ``params``, and the
    shape of the last tensor leaving it as ``output_shape``. ``members`` are the leaf layers
    the unit stands for, in execution order; ``inputs``/``outputs`` name other units.
    ``attrs`` are the layer's hyper-parameters when the unit is one layer, else empty.
    """

    name: str
    path: tuple[str, ...]
    type: str
    kind: LayerKind
    params: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    output_shape: Shape | None
    members: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def collapsed(self) -> bool:
        """True for a module standing for the layers below it."""
        return self.kind is LayerKind.MODULE

    def to_dict(self) -> dict[str, Any]:
        """The entry of ``analyze --json --depth N``'s ``layers`` list."""
        return {
            "name": self.name,
            "path": list(self.path),
            "type": self.type,
            "kind": LayerKind(self.kind).value,
            "params": self.params,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "output_shape": _shape_json(self.output_shape),
            "members": list(self.members),
        }


@dataclass(frozen=True, slots=True)
class Link:
    """An arrow ``src -> dst`` between two units: one tensor between them (``tensor``,
    ``shape``; ``""`` when the layers share no named tensor), standing for ``count``
    layer-level connections."""

    src: str
    dst: str
    tensor: str
    shape: Shape | None
    count: int


#: The attributes of a node of :meth:`UnitGraph.to_networkx`, in order.
_NODE_KEYS = ("name", "path", "type", "kind", "params", "output_shape", "members")


@dataclass(frozen=True)
class UnitGraph:
    """The units and links of the layer graph at ``depth`` (``None``: every layer)."""

    depth: int | None
    units: tuple[Unit, ...]
    links: tuple[Link, ...]
    _unit: dict[str, Unit] = field(init=False, repr=False, compare=False)
    _link: dict[tuple[str, str], Link] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_unit", {u.name: u for u in self.units})
        object.__setattr__(self, "_link", {(k.src, k.dst): k for k in self.links})

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units)

    def __contains__(self, name: object) -> bool:
        return name in self._unit

    def unit(self, name: str) -> Unit:
        """The unit called ``name`` (KeyError if none)."""
        return self._unit[name]

    def link(self, src: str, dst: str) -> Link:
        """The link ``src -> dst`` (KeyError if none)."""
        return self._link[(src, dst)]

    def out_links(self, unit: Unit) -> tuple[Link, ...]:
        """The links leaving ``unit``, in the order of its ``outputs``."""
        return tuple(self._link[(unit.name, v)] for v in unit.outputs)

    @property
    def group(self) -> dict[str, str]:
        """Leaf layer name -> the name of the unit standing for it."""
        return {m: u.name for u in self.units for m in u.members}

    def to_networkx(self) -> nx.DiGraph:
        """As a networkx ``DiGraph`` keyed by unit name (see :meth:`Analysis.layer_graph`)."""
        import networkx as nx

        g = nx.DiGraph()
        for u in self.units:
            g.add_node(u.name, **{key: getattr(u, key) for key in _NODE_KEYS})
        for k in self.links:
            g.add_edge(k.src, k.dst, tensor=k.tensor, shape=k.shape, count=k.count)
        return g


@dataclass(slots=True)
class _Draft:
    """A unit while it is being collected."""

    name: str
    path: tuple[str, ...]
    type: str
    kind: LayerKind
    params: int
    output_shape: Shape | None
    members: tuple[str, ...]


def _units(
    layers: list[Layer], tree: Mapping[tuple[str, ...], ModuleNode], depth: int | None
) -> tuple[dict[str, _Draft], dict[str, str]]:
    """The units by name, and the unit of each layer."""
    units: dict[str, _Draft] = {}
    group: dict[str, str] = {}
    for layer in layers:
        if depth is None or len(layer.path) <= depth:
            key = layer.name
            group[layer.name] = key
            units[key] = _Draft(key, layer.path, layer.type, layer.kind, layer.params, layer.output_shape, (key,))
            continue
        mpath = layer.path[:depth]
        node = tree.get(mpath)
        key = node.name if node is not None else "/".join(mpath)
        if key in units and units[key].path != mpath:
            key = "/".join(mpath)
        group[layer.name] = key
        if key not in units:
            units[key] = _Draft(key, mpath, node.cls if node is not None else "", LayerKind.MODULE, 0, None, ())
        draft = units[key]
        draft.params += layer.params
        draft.members = draft.members + (layer.name,)
    return units, group


def collapse(
    layers: list[Layer],
    tree: Mapping[tuple[str, ...], ModuleNode],
    connections: Mapping[tuple[str, str], tuple[str, Shape | None]],
    depth: int | None = None,
) -> UnitGraph:
    """The layer graph of ``layers`` with modules deeper than ``depth`` collapsed.

    ``tree`` is the module tree by path (for a collapsed module's name and class) and
    ``connections`` maps ``(producer layer, consumer layer)`` to one tensor between them.
    A module reused at several places can make the collapsed graph cyclic.

    Raises
    ------
    ValueError
        ``depth`` is less than 1.
    """
    if depth is not None and depth < 1:
        raise ValueError("depth must be at least 1")
    units, group = _units(layers, tree, depth)
    links: dict[tuple[str, str], list[Any]] = {}  # (u, v) -> [tensor, shape, count], first made first
    for layer in layers:
        u = group[layer.name]
        for out in layer.outputs:
            v = group.get(out)
            if v is None or v == u:
                continue
            tensor, shape = connections.get((layer.name, out), ("", layer.output_shape))
            if (u, v) in links:
                links[(u, v)][2] += 1
            else:
                links[(u, v)] = [tensor, shape, 1]
            if units[u].kind == LayerKind.MODULE:
                units[u].output_shape = _in_layout(shape, layer.output_shape)
    inputs: dict[str, list[str]] = {key: [] for key in units}
    outputs: dict[str, list[str]] = {key: [] for key in units}
    for u, v in links:
        outputs[u].append(v)
        inputs[v].append(u)
    by_name = {layer.name: layer for layer in layers}
    frozen = []
    for key, d in units.items():
        layer = by_name.get(key)
        attrs = layer.attrs if layer is not None and len(d.members) <= 1 else {}
        frozen.append(
            Unit(d.name, d.path, d.type, d.kind, d.params, tuple(inputs[key]), tuple(outputs[key]),
                 d.output_shape, d.members, attrs)
        )  # fmt: skip
    return UnitGraph(depth, tuple(frozen), tuple(Link(u, v, t, s, n) for (u, v), (t, s, n) in links.items()))


__all__ = ["Link", "Unit", "UnitGraph", "collapse"]
