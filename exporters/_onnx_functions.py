"""Nest a flat ONNX graph into model-local functions: one function per module.

Netron draws no hierarchy from ``/``-paths; the one ONNX hierarchy it opens is a node that
calls a model-local function (``FunctionProto``). Model Explorer's ONNX adapter shows each
function as a subgraph of the node that calls it. :func:`nest_modules` turns the module
tree of a flat graph into such calls:

- every module (or leaf layer) with two or more ops becomes a call of a function whose
  body holds its children in execution order: calls of their functions, or single ops;
- identical repeated modules (same body, attributes and input types) call one function;
- a function's inputs are the tensors its ops read from outside (data first, then
  weights and constants: a function body has no initializers), its outputs the tensors
  read outside it; a function used once names its inputs as the caller does, so Netron
  moves the caller's weights into it;
- every tensor made inside a graph or function is named after the node that makes it;
  graph inputs, outputs and initializers keep their names.

A module whose ops are not *convex* (a path leaves it and comes back, as when a module is
called twice with work in between) cannot be one call: its children go to its parent
instead. Nodes with subgraph attributes (``If``, ``Loop``) are not nested (see
:func:`can_nest`). The functions inline back to the flat graph, so onnxruntime computes
exactly the same outputs.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import onnx
from onnx import helper

from ._netron_names import distinct_names, short_name

#: The domain of modelmap's model-local functions.
DOMAIN = "modelmap"

Path = tuple[str, ...]


@dataclass(frozen=True)
class CallInfo:
    """What a call of a module's function shows: its class, metadata and doc string."""

    cls: str
    props: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""


def can_nest(model: onnx.ModelProto) -> bool:
    """False when a node holds a subgraph (its captured names would cross function scopes)."""
    return not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                   for n in model.graph.node for a in n.attribute)


@dataclass
class _Unit:
    """One node of a scope: a single op (``op``) or a call of module ``path``."""

    nodes: list[int]
    path: Path
    op: int | None = None


@dataclass
class _Built:
    """A function body in generic names, its interface in global names, its signature."""

    func: onnx.FunctionProto
    inputs: list[str]
    outputs: list[str]
    sig: str
    path: Path


class _Flat:
    """Read-only facts of the flat graph: producers, readers, types, the module tree."""

    def __init__(self, model: onnx.ModelProto, paths: Sequence[Path]) -> None:
        g = model.graph
        self.nodes = list(g.node)
        self.paths = list(paths)
        self.producer = {t: i for i, n in enumerate(self.nodes) for t in n.output if t}
        self.readers: dict[int, set[int]] = {i: set() for i in range(len(self.nodes))}
        for i, n in enumerate(self.nodes):
            for t in n.input:
                if t in self.producer:
                    self.readers[self.producer[t]].add(i)
        self.outputs = {o.name for o in g.output}
        self.inits = {t.name for t in g.initializer} | {c.name for c in g.sparse_initializer}
        self.types: dict[str, onnx.TypeProto] = {}
        for vi in list(g.input) + list(g.value_info) + list(g.output):
            self.types[vi.name] = vi.type
        for t in g.initializer:
            self.types.setdefault(t.name, helper.make_tensor_type_proto(t.data_type, list(t.dims)))
        self.subtree: dict[Path, list[int]] = {}
        self.children: dict[Path, dict[Path, None]] = {}  # ordered sets
        self.direct: dict[Path, list[int]] = {}
        for i, p in enumerate(self.paths):
            for k in range(len(p) + 1):
                self.subtree.setdefault(p[:k], []).append(i)
                if k < len(p):
                    self.children.setdefault(p[:k], {})[p[: k + 1]] = None
            self.direct.setdefault(p, []).append(i)

    def convex(self, members: list[int]) -> bool:
        """No path from ``members`` leaves them and comes back (nodes are in topological order)."""
        inside, hi = set(members), max(members)
        stack = [r for i in members for r in self.readers[i] if r not in inside and r < hi]
        seen = set(stack)
        while stack:
            j = stack.pop()
            for r in self.readers[j]:
                if r in inside:
                    return False
                if r < hi and r not in seen:
                    seen.add(r)
                    stack.append(r)
        return True

    def interface(self, members: list[int]) -> tuple[list[str], list[str]]:
        """(inputs, outputs) of a set of nodes: data inputs before weights, first use first."""
        inside = set(members)
        data, consts, outs = [], [], []
        for i in members:
            for t in self.nodes[i].input:
                if t and self.producer.get(t) not in inside:
                    bucket = consts if t in self.inits else data
                    if t not in bucket:
                        bucket.append(t)
        for i in members:
            for t in self.nodes[i].output:
                if t and (t in self.outputs or any(r not in inside for r in self.readers[i]
                                                   if t in self.nodes[r].input)):
                    outs.append(t)
        return data + consts, outs


def _units(flat: _Flat, path: Path) -> list[_Unit]:
    """The nodes of ``path``'s body in execution order (non-convex children dissolved)."""
    units = [_Unit([i], path, op=i) for i in flat.direct.get(path, []) if flat.paths[i] == path]
    for child in flat.children.get(path, {}):
        members = flat.subtree[child]
        if len(members) == 1:
            units.append(_Unit(members, child, op=members[0]))
        elif flat.convex(members):
            units.append(_Unit(members, child))
        else:
            units.extend(_units(flat, child))
    return _topological(flat, units)


def _topological(flat: _Flat, units: list[_Unit]) -> list[_Unit]:
    """Units in an order where each comes after the units it reads (first op first on ties)."""
    owner = {i: k for k, u in enumerate(units) for i in u.nodes}
    after: dict[int, set[int]] = {k: set() for k in range(len(units))}
    for k, u in enumerate(units):
        for i in u.nodes:
            for r in flat.readers[i]:
                if r in owner and owner[r] != k:
                    after[k].add(owner[r])
    needs = {k: 0 for k in after}
    for k in after:
        for r in after[k]:
            needs[r] += 1
    heap = [(min(units[k].nodes), k) for k in needs if needs[k] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, k = heapq.heappop(heap)
        order.append(units[k])
        for r in after[k]:
            needs[r] -= 1
            if needs[r] == 0:
                heapq.heappush(heap, (min(units[r].nodes), r))
    return order


def _unit_name(flat: _Flat, unit: _Unit, scope: Path) -> str:
    """A unit's node name inside ``scope``: its module's short name(s), or its op type."""
    parts, parent = [], scope[-1] if scope else ""
    for seg in unit.path[len(scope):]:
        parts.append(short_name(seg, parent))
        parent = seg
    if unit.op is not None and (not parts or flat.subtree.get(unit.path) != [unit.op]):
        parts.append(flat.nodes[unit.op].op_type)
    return "/".join(parts)


class _Scope:
    """Global tensor names -> names inside one graph or function body."""

    def __init__(self, fixed: Mapping[str, str]) -> None:
        self.local = dict(fixed)
        self.used = set(fixed.values())

    def add(self, global_name: str, want: str) -> str:
        name, k = want, 1
        while name in self.used:
            k += 1
            name = f"{want}#{k}"
        self.used.add(name)
        self.local[global_name] = name
        return name


class _Nester:
    def __init__(self, flat: _Flat, calls: Mapping[Path, CallInfo], opsets: list[onnx.OperatorSetIdProto]) -> None:
        self.flat = flat
        self.calls = calls
        self.opsets = opsets
        self.built: dict[Path, _Built] = {}
        self.labels: dict[Path, list[tuple[_Unit, str]]] = {}

    def labelled(self, scope: Path) -> list[tuple[_Unit, str]]:
        """The units of ``scope``'s body with their node names (memoised)."""
        if scope not in self.labels:
            units = _units(self.flat, scope)
            self.labels[scope] = list(zip(units, distinct_names(_unit_name(self.flat, u, scope) for u in units),
                                          strict=True))
        return self.labels[scope]

    def body(self, scope: Path, fixed: Mapping[str, str]) -> tuple[list[onnx.NodeProto], _Scope]:
        """The nodes of ``scope``'s body; ``fixed`` names the tensors that keep theirs."""
        flat, names = self.flat, _Scope(fixed)
        nodes = []
        for unit, label in self.labelled(scope):
            if unit.op is not None:
                node = onnx.NodeProto()
                node.CopyFrom(flat.nodes[unit.op])
                outs = [t for t in node.output]
            else:
                built = self.build(unit.path)
                node = helper.make_node(built.sig, [], [], domain=DOMAIN)
                info = self.calls.get(unit.path)
                if info is not None:
                    node.doc_string = info.doc
                    node.metadata_props.extend(onnx.StringStringEntryProto(key=k, value=v) for k, v in info.props.items())
                node.input.extend(built.inputs)
                outs = built.outputs
            node.name = label
            del node.output[:]
            single = len([t for t in outs if t]) == 1
            for k, t in enumerate(outs):
                node.output.append(t and (names.local.get(t) or names.add(t, label if single else f"{label}:{k}")))
            nodes.append(node)
        for node in nodes:
            ins = [names.local.get(t, t) if t else t for t in node.input]
            del node.input[:]
            node.input.extend(ins)
        return nodes, names

    def build(self, path: Path) -> _Built:
        """The function of module ``path`` in generic names (memoised)."""
        if path in self.built:
            return self.built[path]
        flat = self.flat
        inputs, outputs = flat.interface(flat.subtree[path])
        fixed, k = {}, 0
        for t in inputs:
            if t in flat.inits:
                fixed[t] = _param_name(t, path) or self.const_name(t, path)
            else:
                k += 1
                fixed[t] = "input" if k == 1 else f"input_{k}"
        fixed = dict(zip(fixed, distinct_names(fixed.values()), strict=True))
        nodes, names = self.body(path, fixed)
        func = helper.make_function(
            DOMAIN, "", [names.local[t] for t in inputs], [names.local[t] for t in outputs], nodes, self.opsets,
        )
        func.value_info.extend(_value_info(flat, names.local))
        built = _Built(func, inputs, outputs, _signature(flat, func, inputs), path)
        self.built[path] = built
        return built

    def const_name(self, t: str, path: Path) -> str:
        """A weight without its module's prefix, named after its first reader: ``conv1.W``."""
        for unit, label in self.labelled(path):
            if unit.op is not None:
                node = self.flat.nodes[unit.op]
                if t in node.input:
                    return f"{label}.{_slot_name(node, list(node.input).index(t))}"
            else:
                built = self.build(unit.path)
                if t in built.inputs:
                    return f"{label}.{built.func.input[built.inputs.index(t)]}"
        return "const"


def _slot_name(node: onnx.NodeProto, slot: int) -> str:
    """The op schema's name of input ``slot`` (``W``, ``scale``), else its number."""
    try:
        params = onnx.defs.get_schema(node.op_type, domain=node.domain).inputs
    except onnx.defs.SchemaError:
        return str(slot)
    return params[min(slot, len(params) - 1)].name if params else str(slot)


def _param_name(name: str, path: Path) -> str | None:
    """A weight's name inside module ``path``: without the module's qualified prefix, if it has it."""
    prefix = (path[-1] + ".") if path else ""
    return name[len(prefix):] if prefix and name.startswith(prefix) else None


def _value_info(flat: _Flat, local: Mapping[str, str]) -> list[onnx.ValueInfoProto]:
    out = []
    for g, name in local.items():
        tp = flat.types.get(g)
        if tp is not None:
            vi = onnx.ValueInfoProto(name=name)
            vi.type.CopyFrom(tp)
            out.append(vi)
    return out


def _signature(flat: _Flat, func: onnx.FunctionProto, inputs: list[str]) -> str:
    """A hash of the body without metadata and doc strings, plus the input types."""
    bare = onnx.FunctionProto()
    bare.CopyFrom(func)
    for n in bare.node:
        del n.metadata_props[:]
        n.doc_string = ""
    h = hashlib.sha1(bare.SerializeToString(deterministic=True))
    for t in inputs:
        tp = flat.types.get(t)
        h.update(tp.SerializeToString(deterministic=True) if tp is not None else b"?")
    return "f" + h.hexdigest()[:16]


def nest_modules(
    model: onnx.ModelProto,
    paths: Sequence[Path],
    calls: Mapping[Path, CallInfo],
    generic: Callable[[onnx.NodeProto], None],
) -> onnx.ModelProto:
    """``model``, changed in place, with its module tree as nested model-local functions.

    ``paths[i]`` is the module path of node ``i`` (``()`` for the model's own ops);
    ``calls`` describes the call of each module; ``generic`` strips what is true of one
    instance only from a node of a function that several modules share.
    """
    flat = _Flat(model, paths)
    opsets = [o for o in model.opset_import if o.domain != DOMAIN] + [helper.make_opsetid(DOMAIN, 1)]
    nester = _Nester(flat, calls, opsets)
    g = model.graph
    keep = {t.name: t.name for t in g.initializer}
    keep.update({v.name: v.name for v in list(g.input) + list(g.output)})
    root, names = nester.body((), keep)
    funcs = _emit(nester, root)
    out = model  # changed in place
    del out.graph.node[:], out.graph.value_info[:], out.opset_import[:]
    out.graph.node.extend(root)
    out.graph.value_info.extend(_value_info(flat, {t: n for t, n in names.local.items() if t not in keep}))
    out.opset_import.extend(opsets)
    _finish(out, funcs, nester, generic)
    out.ir_version = max(out.ir_version, 10)
    return out


def _emit(nester: _Nester, root: list[onnx.NodeProto]) -> dict[str, tuple[_Built, list[onnx.NodeProto]]]:
    """Each signature reached from ``root``, once: (its first build, the nodes that call it)."""
    by_sig = {b.sig: b for b in reversed(list(nester.built.values()))}
    order: dict[str, tuple[_Built, list[onnx.NodeProto]]] = {}
    queue = deque(root)
    while queue:
        node = queue.popleft()
        if node.domain != DOMAIN:
            continue
        if node.op_type in order:
            order[node.op_type][1].append(node)
            continue
        built = by_sig[node.op_type]
        order[node.op_type] = (built, [node])
        queue.extend(built.func.node)
    return order


def _finish(model: onnx.ModelProto, funcs: dict, nester: _Nester, generic: Callable[[onnx.NodeProto], None]) -> None:
    """Name the functions, point single-use inputs at the caller's names, add them to ``model``.

    A function called more than once, or called from such a function, stands for several
    instances: ``generic`` strips what is true of one instance from its nodes.
    """
    names = _function_names(funcs, nester.calls)
    shared: set[str] = set()
    for sig, (built, callers) in funcs.items():  # callers come before callees
        func, uses = built.func, len(callers)
        func.name = names[sig]
        info = nester.calls.get(built.path)
        cls = info.cls if info is not None else ""
        if uses == 1:
            _rename_inputs(func, list(callers[0].input))
        if uses > 1 or sig in shared:
            shared.add(sig)
            shared.update(n.op_type for n in func.node if n.domain == DOMAIN)
            for n in func.node:
                generic(n)
            func.doc_string = f"{cls or 'module'}, shared by {uses} calls" if uses > 1 else f"{cls or 'module'}"
        else:
            func.doc_string = f"{cls or 'module'} {built.path[-1]}"
    for node in list(model.graph.node) + [n for b, _ in funcs.values() for n in b.func.node]:
        if node.domain == DOMAIN and node.op_type in names:
            node.op_type = names[node.op_type]
    model.functions.extend(b.func for b, _ in funcs.values())


def _function_names(funcs: dict, calls: Mapping[Path, CallInfo]) -> dict[str, str]:
    """Function names: the module class, with its first user's name where classes repeat."""
    base = {}
    for sig, (built, _) in funcs.items():
        info = calls.get(built.path)
        base[sig] = _ident((info.cls if info is not None and info.cls else "") or built.path[-1])
    counts: dict[str, int] = {}
    for b in base.values():
        counts[b] = counts.get(b, 0) + 1
    wanted = {}
    for sig, b in base.items():
        short = _ident(_short(funcs[sig][0].path))
        wanted[sig] = b if counts[b] == 1 else short if short.startswith(b) else f"{b}_{short}"
    return dict(zip(wanted, (_ident(n) for n in distinct_names(wanted.values())), strict=True))


def _short(path: Path) -> str:
    return short_name(path[-1], path[-2] if len(path) > 1 else "")


def _ident(text: str) -> str:
    """Netron cuts a type name after its last '.', so function names have none."""
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text) or "module"


def _rename_inputs(func: onnx.FunctionProto, actual: list[str]) -> None:
    """Name a function's inputs as its one caller does (other names that clash step aside)."""
    mapping = dict(zip(func.input, actual, strict=True))
    clash = set(actual) - set(func.input)
    for n in func.node:
        for t in n.output:
            if t in clash:
                mapping[t] = f"{t}'"
    def rn(t: str) -> str:
        return mapping.get(t, t) if t else t
    for n in func.node:
        n.input[:] = [rn(t) for t in n.input]
        n.output[:] = [rn(t) for t in n.output]
    func.input[:] = [rn(t) for t in func.input]
    func.output[:] = [rn(t) for t in func.output]
    for vi in func.value_info:
        vi.name = rn(vi.name)


__all__ = ["DOMAIN", "CallInfo", "can_nest", "nest_modules"]
