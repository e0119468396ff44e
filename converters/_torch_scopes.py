"""Namespaces from what the torch exporters leave: dynamo ``name_scopes``, TorchScript node names.

Imports no torch: :mod:`.onnx_file` uses it on ``.onnx`` files that torch wrote.

The dynamo exporter leaves on every node ``pkg.torch.onnx.name_scopes`` and
``pkg.torch.onnx.class_hierarchy``, Python list literals in strings, one entry per level
of the module call stack::

    name_scopes     "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']"
    class_hierarchy "['m.Net', 'torch.nn.modules.container.Sequential', 'm.Block',
                      'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']"

The first entry is the root module (scope ``''``), the last the FX node (the ATen op);
the levels between are the qualified names of the modules being called, which become
the ``namespace`` (and their class names the ``class_hierarchy``). The exporter also
writes a ``namespace`` key of its own (``": m.Net/layer1: torch...Sequential/..."``),
which we overwrite. The TorchScript route has no such metadata: its node names
(``/layer1/layer1.0/conv1/Conv``, a repeated call of ``relu`` shows up as ``relu_1``) are
resolved against ``named_modules()``. Nodes that carry neither (made by the constant
folder) are placed by :mod:`._neighbours`.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from modelmap import _metadata as md
from modelmap._errors import ModelLoadError

from ._neighbours import place_by_neighbours

SCOPES_KEY = "pkg.torch.onnx.name_scopes"
CLASSES_KEY = "pkg.torch.onnx.class_hierarchy"
#: Exporter metadata we drop: bulky, and full of this machine's file paths.
#: Exporter metadata we drop: the FX node's text repeats the op. The stack trace (source file
#: and line of each op) stays: Netron shows it, and it is what a user follows back to the code.
NOISY_KEYS = ("pkg.torch.onnx.fx_node",)


def annotate_from_scopes(proto: Any) -> None:
    """Annotate nodes from the dynamo exporter's ``name_scopes``/``class_hierarchy``."""
    for node in proto.graph.node:
        props = {p.key: p.value for p in node.metadata_props}
        scopes, classes = props.get(SCOPES_KEY), props.get(CLASSES_KEY)
        kept = [p for p in node.metadata_props if p.key not in NOISY_KEYS and p.key != md.NAMESPACE]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
        if scopes is not None:
            namespace, hierarchy = module_levels(scopes, classes)
            md.annotate_node(node, namespace, hierarchy)


def module_levels(scopes: str, classes: str | None) -> tuple[list[str], list[str]]:
    """Module levels of one node: drop the root ``''`` scope and the trailing FX node.

    >>> module_levels("['', 'layer1', 'layer1.0', 'conv2d']", "['N', 'a.Sequential', 'a.Block', 'aten.conv2d.default']")
    (['layer1', 'layer1.0'], ['Sequential', 'Block'])
    """
    names = string_list(scopes, SCOPES_KEY)
    types = string_list(classes, CLASSES_KEY) if classes else []
    if len(types) != len(names):
        types = [""] * len(names)
    if names and names[0] == "":
        names, types = names[1:], types[1:]
    names, types = names[:-1], types[:-1]
    return names, [short_class(t) for t in types]


#: A longer literal is not one the exporter wrote (a module path thousands of levels deep).
MAX_LITERAL = 1 << 20


def string_list(text: str, key: str) -> list[str]:
    """``text``, a Python list literal of strings, as a list; anything else is a ModelLoadError.

    Only literals are read (``ast.literal_eval``: no name is looked up, nothing is called),
    and only up to :data:`MAX_LITERAL` characters, so no input can run code, exhaust the
    parser's recursion or its memory.

    >>> string_list("['', 'layer1']", SCOPES_KEY)
    ['', 'layer1']
    >>> string_list("__import__('os')", SCOPES_KEY)
    Traceback (most recent call last):
    ...
    modelmap._errors.ModelLoadError: a node's pkg.torch.onnx.name_scopes is not a Python list of strings: "__import__('os')"
    """
    value: Any = None
    if len(text) <= MAX_LITERAL:
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ModelLoadError(f"a node's {key} is not a Python list of strings: {shown!r}")
    return value


def annotate_from_node_names(proto: Any, model: Any) -> None:
    """Annotate TorchScript-exported nodes from ``/a/b/Op`` names and ``named_modules()``.

    Names are those of :func:`._torch_export.positional_adapter`, after
    :func:`._torch_export.strip_adapter_names`.
    """
    children = {name: {child for child, _ in m.named_children()} for name, m in model.named_modules()}
    types = {name: type(m).__name__ for name, m in model.named_modules()}
    for node in proto.graph.node:
        parts = [p for p in node.name.split("/") if p]
        if not node.name.startswith("/") or not parts:
            continue  # a node the folder made: fill_from_neighbours places it
        qualified = resolve_scopes(parts[:-1], children)
        md.annotate_node(node, qualified, [types[q] for q in qualified])


def resolve_scopes(segments: list[str], children: dict[str, set[str]]) -> list[str]:
    """Turn TorchScript scope segments into qualified module names.

    A segment names a child of the module above it (``conv1``, or ``layer.0`` when the
    ModuleList ``layer`` was not called); a child of a container is named after the
    container's own segment (``layer1/layer1.0``, ``0/0.1``); a repeated call has a
    ``_N`` suffix (``relu_1``). Resolution stops at the first segment that names no module.

    >>> resolve_scopes(["layer1", "layer1.0", "relu_1"], {"": {"layer1"}, "layer1": {"0"}, "layer1.0": {"relu"}, "layer1.0.relu": set()})
    ['layer1', 'layer1.0', 'layer1.0.relu']
    >>> resolve_scopes(["0", "0.0", "0.0.0"], {"": {"0"}, "0": {"0"}, "0.0": {"0"}, "0.0.0": set()})
    ['0', '0.0', '0.0.0']
    """
    out: list[str] = []
    current = previous = ""
    for seg in segments:
        found = resolve_segment(current, previous, seg, children)
        if found is None:
            break
        out.append(found)
        current, previous = found, seg
    return out


def resolve_segment(current: str, previous: str, seg: str, children: dict[str, set[str]]) -> str | None:
    """The qualified name of a module below ``current`` that ``seg`` names, if any
    (``previous``: the segment that named ``current``)."""
    names = [seg]
    if previous and seg.startswith(previous + "."):
        names.insert(0, seg[len(previous) + 1 :])  # the container's child
    bases = [current]
    while bases[-1]:
        bases.append(bases[-1].rpartition(".")[0])
    for base in bases:  # the module above first; its ancestors for older exporters' names
        for name in names:
            candidates = [name]
            m = re.fullmatch(r"(.*)_\d+", name)
            if m:
                candidates.append(m.group(1))
            for cand in candidates:
                qualified = f"{base}.{cand}" if base else cand
                if qualified in children and is_below(qualified, current):
                    return qualified
    return None


def is_below(name: str, ancestor: str) -> bool:
    """True if qualified module ``name`` lies strictly below ``ancestor``."""
    return name != ancestor and (not ancestor or name.startswith(ancestor + "."))


def fill_from_neighbours(proto: Any) -> None:
    """Give nodes without annotation (made by the folder) the namespace of their neighbours.

    Rules in :mod:`._neighbours`; a node keeps a ``namespace`` it has, even an empty one
    (an op of the root module). Class names come from the annotated nodes.
    """
    nodes = list(proto.graph.node)
    known = [md.node_namespace(n) if has_namespace(n) else None for n in nodes]
    classes: dict[tuple[str, ...], tuple[str, ...]] = {(): ()}
    for names, types in filter(None, known):
        for depth in range(len(names) + 1):
            classes.setdefault(names[:depth], types[:depth])
    placed = place_by_neighbours(proto.graph, [k[0] if k else None for k in known])
    for node, k, namespace in zip(nodes, known, placed):
        if k is None:
            md.annotate_node(node, namespace, classes[namespace])


def has_namespace(node: Any) -> bool:
    """True if the node carries a ``namespace`` key (possibly empty: a root-level op)."""
    return any(p.key == md.NAMESPACE for p in node.metadata_props)


def short_class(qualified: str) -> str:
    """``torch.nn.modules.conv.Conv2d`` -> ``Conv2d``."""
    return str(qualified).rsplit(".", 1)[-1]
