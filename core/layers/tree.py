"""The module tree: every path prefix of a layer is a module; layers are its leaves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from modelmap._metadata import LayerRecord

from ..analysis import Layer, ModuleNode
from ..graph import ModelGraph
from .records import split_ns


@dataclass(slots=True)
class _Module:
    """A module of the tree while :func:`build_tree` builds it."""

    kids: list[tuple[str, ...]] = field(default_factory=list)  # child paths, in order
    layers: list[str] = field(default_factory=list)  # every layer below, in order
    params: int = 0  # the parameters of the layers below
    layer: Layer | None = None  # the layer at this very path, if any


def build_tree(
    g: ModelGraph,
    layers: Sequence[Layer],
    rec_by_ns: dict[tuple[str, ...], LayerRecord] | None = None,
    own_params: dict[str, int] | None = None,
) -> dict[tuple[str, ...], ModuleNode]:
    """The module tree: every path prefix of a layer is a module; layers are its leaves.

    Module classes come from the ops' ``class_hierarchy`` and the layer table.
    """
    cls_of: dict[tuple[str, ...], str] = {}
    for r_ns, r in (rec_by_ns or {}).items():
        cls_of[r_ns] = r.cls
    # each distinct (namespace, classes) pair once, in the order the ops first show it
    for ns, classes in dict.fromkeys((n.namespace, n.classes) for n in g.op_records):
        for k in range(len(ns)):
            p = ns[: k + 1]
            if p not in cls_of and k < len(classes) and classes[k]:
                cls_of[p] = classes[k]
    # path -> the modules of its prefixes, the model first and the module itself last;
    # created top-down, so a module's children are listed in order of first appearance
    chains: dict[tuple[str, ...], list[_Module]] = {(): [_Module()]}
    for layer in layers:
        c = _chain(chains, layer.path)
        c[-1].layer = layer
        for m in c[:-1]:  # the modules holding the layer
            m.layers.append(layer.name)
            m.params += layer.params
        c[-1].layers.append(layer.name)
    for ns_str, n in (own_params or {}).items():
        ns = split_ns(ns_str)
        for k in range(len(ns) + 1):
            if ns[:k] in chains:
                chains[ns[:k]][-1].params += n
    tree: dict[tuple[str, ...], ModuleNode] = {}
    for path, c in chains.items():
        m = c[-1]
        layer = m.layer
        if layer is not None and not m.kids:
            tree[path] = ModuleNode(path, layer.name, layer.type, (), (layer.name,), layer.params, leaf=True)
        else:
            tree[path] = ModuleNode(
                path, path[-1] if path else "", cls_of.get(path, ""), tuple(m.kids), tuple(m.layers), m.params
            )
    return tree


def _chain(chains: dict[tuple[str, ...], list[_Module]], path: tuple[str, ...]) -> list[_Module]:
    """``chains[path]``, made (with the chains of its prefixes) if missing: a new module is
    listed among its parent's children. A loop, not recursion: paths may be thousands deep."""
    c = chains.get(path)
    if c is not None:
        return c
    k = len(path)
    while path[:k] not in chains:  # the longest prefix already known (the root always is)
        k -= 1
    c = chains[path[:k]]
    for j in range(k + 1, len(path) + 1):
        c[-1].kids.append(path[:j])
        c = chains[path[:j]] = [*c, _Module()]
    return c


__all__ = ["build_tree"]
