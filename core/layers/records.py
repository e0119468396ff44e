"""The records layer grouping works with: its result, and a layer while it is being built."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelmap._metadata import SEP, LayerRecord

from ..analysis import Layer, ModuleNode, Shape
from ..graph import ModelGraph, Node
from ..kinds import LayerKind


@dataclass
class Grouping:
    """The result of :func:`~modelmap.core.layers.group_layers`."""

    layers: list[Layer]
    op_layer: dict[str, str]  # node id (ops, inputs, outputs) -> layer name
    tree: dict[tuple[str, ...], ModuleNode]
    connections: dict[tuple[str, str], tuple[str, Any]]
    params: int
    records: dict[str, LayerRecord] = field(default_factory=dict)  # layer name -> record


@dataclass(slots=True)
class Group:
    """The ops of one layer: a call of a leaf module, or a functional op with its helpers."""

    ops: list[Node]
    ns: tuple[str, ...]
    fn: bool  # a functional op's layer
    name: str = ""
    path: tuple[str, ...] = ()
    record: LayerRecord | None = None
    call: int = 1
    order: float = 0.0
    main: Node | None = None  # the op that names and describes the layer


@dataclass(slots=True, eq=False)
class Entry:
    """A layer while :func:`~modelmap.core.layers.group_layers` puts its record together."""

    name: str
    path: tuple[str, ...]
    order: float  # execution position
    type: str = ""
    kind: LayerKind = LayerKind.OTHER
    ops: tuple[str, ...] = ()
    shape: Shape | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    senders: list[str] = field(default_factory=list)  # layers with a connection into this one
    in_list: list[tuple[int, int, str]] = field(default_factory=list)  # (op index, slot, sender) of each
    leaving: tuple[int, Any] | None = None  # (op index, shape) of the last tensor leaving the layer
    inputs: tuple[str, ...] = ()
    receivers: list[Entry] = field(default_factory=list)  # layers this one connects into
    rank: int = 0  # position in the final order


@dataclass(eq=False)
class Build:
    """What the steps of :func:`~modelmap.core.layers.group_layers` share, filled in step by step."""

    g: ModelGraph
    framework: str
    records: list[LayerRecord]
    rec_by_ns: dict[tuple[str, ...], LayerRecord] = field(default_factory=dict)  # first record per namespace
    groups: list[Group] = field(default_factory=list)  # in execution order
    annotated: bool = False  # the ops carry namespaces
    input_records: list[LayerRecord] = field(default_factory=list)
    opless: list[LayerRecord] = field(default_factory=list)  # leaf records that left no op
    used: set[str] = field(default_factory=set)  # layer names taken
    leaf_names: dict[tuple[str, ...], str] = field(default_factory=dict)  # leaf namespace -> layer name
    op_layer: dict[str, str] = field(default_factory=dict)
    layer_at: list[Entry | None] = field(default_factory=list)  # node number -> its layer
    op_entries: list[Entry] = field(default_factory=list)  # one per group
    input_entries: list[Entry] = field(default_factory=list)
    output_entries: list[Entry] = field(default_factory=list)
    conn: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    wired: list[Entry] = field(default_factory=list)  # layers with a connection in, by their first one
    name_of_record: dict[str, str] = field(default_factory=dict)  # record name -> layer name
    opless_inputs: dict[str, list[str]] = field(default_factory=dict)  # opless layer -> its inbound layers
    inputs_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by name, when opless layers are rewired

    def __post_init__(self) -> None:
        for r in self.records:
            ns = split_ns(r.namespace)
            if ns and ns not in self.rec_by_ns:
                self.rec_by_ns[ns] = r


def split_ns(ns: str) -> tuple[str, ...]:
    """A namespace string as its segments (``"a/b"`` -> ``("a", "b")``)."""
    return tuple(s for s in ns.split(SEP) if s) if ns else ()


__all__ = ["Build", "Entry", "Group", "Grouping", "split_ns"]
