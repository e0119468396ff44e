"""Layers: ops grouped by namespace, their connections, and the module tree.

Rules, in order:

1. An op whose ``namespace`` names a *leaf* (a namespace no other op's namespace extends,
   and that the framework's layer table does not call a container) belongs to that leaf
   layer. A leaf module called several times (torchvision's shared ``relu``) becomes one
   layer per call: the first keeps the name, later calls are ``name#2``, ``name#3``.
2. A data-flow op outside any leaf (the ``Add`` in a BasicBlock's ``forward``, a root
   ``flatten``) is a layer of its own, named ``<parent>/<op>`` (``layer1.0/add``) or
   ``<op>`` at the root; in an ONNX file without namespaces, by its node name.
3. Shape, constant and parameter computations outside any leaf join the layer of the op
   that reads them.
4. Graph inputs and outputs are layers of kind ``input``/``output``; layers the
   framework lists but that left no op (a Keras ``Dropout``) are layers without ops,
   wired from the table's ``inbound`` names.

Connections follow tensors between layers; shape and constant tensors and shape-like input
slots (Reshape's second input) are not connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelmap._metadata import SEP, LayerRecord

from . import ops as opt
from .analysis import Layer, LayerKind, ModuleNode, Shape
from .graph import CONST, DATA, INPUT, PARAM, SHAPE, ModelGraph, Node, unique_name
from .params import node_params, record_params

K = LayerKind
_PRIORITY = {k: i for i, k in enumerate(opt.KIND_PRIORITY)}  # kind -> its place in KIND_PRIORITY


@dataclass
class Grouping:
    """The result of :func:`group_layers`."""

    layers: list[Layer]
    op_layer: dict[str, str]  # node id (ops, inputs, outputs) -> layer name
    tree: dict[tuple[str, ...], ModuleNode]
    connections: dict[tuple[str, str], tuple[str, Any]]
    params: int
    records: dict[str, LayerRecord] = field(default_factory=dict)  # layer name -> record


@dataclass(slots=True)
class _Group:
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
class _Entry:
    """A layer while :func:`group_layers` puts its record together."""

    name: str
    path: tuple[str, ...]
    order: float  # execution position
    type: str = ""
    kind: LayerKind = K.OTHER
    ops: tuple[str, ...] = ()
    shape: Shape | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    senders: list[str] = field(default_factory=list)  # layers with a connection into this one
    in_list: list[tuple[int, int, str]] = field(default_factory=list)  # (op index, slot, sender) of each
    leaving: tuple[int, Any] | None = None  # (op index, shape) of the last tensor leaving the layer
    inputs: tuple[str, ...] = ()
    receivers: list[_Entry] = field(default_factory=list)  # layers this one connects into
    rank: int = 0  # position in the final order


@dataclass(slots=True)
class _Module:
    """A module of the tree while :func:`build_tree` builds it."""

    kids: list[tuple[str, ...]] = field(default_factory=list)  # child paths, in order
    layers: list[str] = field(default_factory=list)  # every layer below, in order
    params: int = 0  # the parameters of the layers below
    layer: Layer | None = None  # the layer at this very path, if any


def group_layers(g: ModelGraph, records: Sequence[LayerRecord] | None = None, framework: str = "onnx") -> Grouping:
    """Group the ops of ``g`` into layers (see the module docstring).

    Parameters
    ----------
    g : ModelGraph
    records : list of LayerRecord, optional
        The framework's layer table (``modelmap._metadata.model_layers``).
    framework : str
        ``pytorch``, ``keras`` or ``onnx``: which class table names kinds.

    Returns
    -------
    Grouping
    """
    ops = g.op_records
    records = list(records or [])
    rec_by_ns: dict[tuple[str, ...], LayerRecord] = {}
    for r in records:
        ns = _split(r.namespace)
        if ns and ns not in rec_by_ns:
            rec_by_ns[ns] = r

    op_ns = {n.namespace for n in ops}
    annotated = any(op_ns)
    nonleaf: set[tuple[str, ...]] = set()
    for ns in list(op_ns) + list(rec_by_ns):
        for k in range(1, len(ns)):
            nonleaf.add(ns[:k])

    def is_leaf(ns: tuple[str, ...]) -> bool:
        if not ns or ns in nonleaf:
            return False
        r = rec_by_ns.get(ns)
        return r.leaf if r is not None else True

    # 1-2: leaf layers and functional data ops; group_of[op index] = the leaf's namespace
    # (a tuple) or the op that makes a functional layer (a Node)
    group_of: list[tuple[str, ...] | Node | None] = [None] * len(ops)
    for n in ops:
        ns = n.namespace
        if ns and is_leaf(ns):
            group_of[n.index] = ns
        elif n.role == DATA:
            group_of[n.index] = n
    # 3: auxiliary ops outside leaves join their first reader
    for n in reversed(ops):
        if group_of[n.index] is not None:
            continue
        best = None  # index of the first reader in a layer
        for c in _readers(g, n):
            if c.kind == "op" and group_of[c.index] is not None and (best is None or c.index < best):
                best = c.index
        if best is not None:
            group_of[n.index] = group_of[best]
        elif n.role == PARAM:
            group_of[n.index] = n

    by_key: dict[tuple[str, ...] | Node, list[Node]] = {}
    for n, key in zip(ops, group_of):
        if key is not None:
            by_key.setdefault(key, []).append(n)

    groups: list[_Group] = []
    for key, members in by_key.items():
        if isinstance(key, tuple):  # a leaf module
            for call, ops_ in enumerate(_split_calls(g, members), start=1):
                groups.append(_Group(ops=ops_, ns=key, fn=False, record=rec_by_ns.get(key), call=call))
        else:
            groups.append(_Group(ops=members, ns=key.namespace, fn=True))
    for grp in groups:  # execution order: a layer runs when its first data op does
        data_idx = [n.index for n in grp.ops if n.role == DATA]
        grp.order = min(data_idx) if data_idx else min(n.index for n in grp.ops)
    groups.sort(key=lambda grp: grp.order)
    for grp in groups:
        grp.main = _main_op(grp.ops)

    # 4: layers that left no op
    covered = {grp.ns for grp in groups if not grp.fn} if records else set()
    input_records = [r for r in records if opt.is_input_class(r.cls)]
    opless = [
        r
        for r in records
        if r.leaf and not opt.is_input_class(r.cls) and _split(r.namespace) and _split(r.namespace) not in covered
    ]

    # names
    used: set[str] = set()
    base_count: dict[str, int] = {}
    for grp in groups:
        if not grp.fn and grp.call == 1:
            b = _leaf_base(grp.ns, grp.record)
            base_count[b] = base_count.get(b, 0) + 1
    for r in opless:
        b = _leaf_base(_split(r.namespace), r)
        base_count[b] = base_count.get(b, 0) + 1
    leaf_names: dict[tuple[str, ...], str] = {}

    def leaf_name(ns: tuple[str, ...], rec: LayerRecord | None) -> str:
        if ns in leaf_names:
            return leaf_names[ns]
        base = _leaf_base(ns, rec)
        name = base if base_count.get(base, 0) <= 1 else SEP.join(ns)
        name = unique_name(name, used, sep="#")
        leaf_names[ns] = name
        return name

    for grp in groups:
        if not grp.fn and grp.call == 1:
            grp.name = leaf_name(grp.ns, grp.record)
            grp.path = grp.ns
    for r in opless:
        leaf_name(_split(r.namespace), r)
    for grp in groups:
        if not grp.fn and grp.call > 1:
            grp.name = unique_name(f"{leaf_names[grp.ns]}#{grp.call}", used, sep="#")
            grp.path = grp.ns[:-1] + (grp.ns[-1] + f"#{grp.call}",)
    for grp in groups:
        if grp.fn:
            d = grp.main
            slug = opt.op_slug(d.op_type)
            if grp.ns:
                grp.name = unique_name(f"{grp.ns[-1]}/{slug}", used, "_")
                grp.path = grp.ns + (grp.name.rsplit("/", 1)[1],)
            else:
                base = slug if annotated or not d.name else d.name
                grp.name = unique_name(base, used, "_")
                grp.path = (grp.name,)

    # one entry per layer; ops, graph inputs and graph outputs point to theirs
    op_layer: dict[str, str] = {}
    layer_at: list[_Entry | None] = [None] * len(g.nodes)  # node number -> its layer
    op_entries: list[_Entry] = []
    for grp in groups:
        kind, type_, attrs = _describe(g, grp, framework)
        e = _Entry(grp.name, grp.path, grp.order, type_, kind, tuple([n.id for n in grp.ops]), attrs=attrs)
        op_entries.append(e)
        for n in grp.ops:
            op_layer[n.id] = grp.name
            layer_at[n.number] = e

    # inputs and outputs
    input_entries: list[_Entry] = []
    rec_names = [r.name for r in input_records]
    input_nodes = g.nodes[: len(g.inputs)]
    output_nodes = g.nodes[len(g.inputs) + len(ops) :]
    for i, node in enumerate(input_nodes):
        tname = node.name
        if tname in rec_names or len(rec_names) != len(g.inputs):
            name = tname
        else:
            name = rec_names[i]
        name = unique_name(name, used, "_")
        order = -1.0 - (len(input_nodes) - i) * 1e-3
        e = _Entry(name, (name,), order, "Input", K.INPUT, shape=g.tensors[tname].shape)
        input_entries.append(e)
        op_layer[node.id] = name
        layer_at[node.number] = e
    input_names = [e.name for e in input_entries]
    output_entries: list[_Entry] = []
    end = float(len(g.ops) + 1)
    for i, node in enumerate(output_nodes):
        tname = node.name
        base = "output" if len(g.outputs) == 1 and "output" not in used else tname
        if base in used:
            base = f"output:{tname}"
        name = unique_name(base, used, "_")
        e = _Entry(name, (name,), end + 1 + i, "Output", K.OUTPUT, shape=g.tensors[tname].shape)
        output_entries.append(e)
        op_layer[node.id] = name
        layer_at[node.number] = e

    # connections: the first tensor between two layers, in graph order
    conn: dict[tuple[str, str], tuple[str, Any]] = {}
    wired: list[_Entry] = []  # layers with a connection in, by their first one
    tensors = g.tensors
    for dv in g.nodes:
        ev = layer_at[dv.number]
        if ev is None:
            continue
        is_op = dv.kind == "op"
        for (u, tname, slot), p in zip(dv.sources, dv.producers):
            if u is None:
                continue
            eu = layer_at[p]
            if eu is None or eu is ev:
                continue
            du = g.nodes[p]
            if du.role in (SHAPE, CONST):
                continue
            if is_op and slot >= 0 and opt.meta_slot(dv.op_type, slot):
                continue
            shape = tensors[tname].shape
            if eu.name not in ev.senders:
                conn[(eu.name, ev.name)] = (tname, shape)
                if not ev.senders:
                    wired.append(ev)
                ev.senders.append(eu.name)
                ev.in_list.append((dv.index, slot, eu.name))
                eu.receivers.append(ev)
            idx = du.index
            if eu.leaving is None or idx > eu.leaving[0]:
                eu.leaving = (idx, shape)

    # rewire layers that left no op through their table wiring
    name_of_record = {r.name: leaf_names.get(_split(r.namespace), r.name) for r in records}
    if len(input_records) == len(input_names):
        for r, n in zip(input_records, input_names):
            name_of_record[r.name] = n
    for n in input_names:
        name_of_record.setdefault(n, n)
    opless_inputs: dict[str, list[str]] = {}
    for r in opless:
        me = leaf_names[_split(r.namespace)]
        srcs = [name_of_record[s] for s in r.inbound if s in name_of_record]
        opless_inputs[me] = srcs
    inputs_of: dict[str, tuple[str, ...]] = {}  # by name, when layers without ops are rewired
    if opless:
        in_lists = {e.name: e.in_list for e in wired}
        inbound_of = {
            name_of_record.get(r.name, r.name): {name_of_record[s] for s in r.inbound if s in name_of_record}
            for r in records
        }
        for me, srcs in opless_inputs.items():
            for s in srcs:
                conn.setdefault((s, me), ("", None))
                in_lists.setdefault(me, []).append((0, len(in_lists.get(me, [])), s))
            for consumer, inb in inbound_of.items():
                if me not in inb:
                    continue
                conn.setdefault((me, consumer), ("", None))
                in_lists.setdefault(consumer, []).append((1 << 29, 0, me))
                for s in srcs:
                    if s not in inb and (s, consumer) in conn:
                        del conn[(s, consumer)]
                        in_lists[consumer] = [e for e in in_lists[consumer] if e[2] != s]
        for lv, lst in in_lists.items():
            seen: list[str] = []
            for _, _, lu in sorted(lst):
                if lu not in seen and (lu, lv) in conn:
                    seen.append(lu)
            inputs_of[lv] = tuple(seen)
    else:  # every listed connection stands, one per sender
        for e in wired:
            e.inputs = tuple([lu for _, _, lu in sorted(e.in_list)])

    # parameters
    layer_ops = {grp.name: grp.ops for grp in groups}  # layer name -> its op records
    layer_record: dict[str, LayerRecord] = {}
    for grp in groups:
        if grp.record is not None and grp.call == 1:
            layer_record[grp.name] = grp.record
    for r in opless:
        layer_record[leaf_names[_split(r.namespace)]] = r
    if records:
        container_layers: dict[str, list[str]] = {}
        for grp in groups:
            if grp.fn and any(n.params for n in grp.ops):
                container_layers.setdefault(SEP.join(grp.ns), []).append(grp.name)
        per_layer, total, kept = record_params(records, layer_record, container_layers)
    else:
        per_layer, total = node_params(g, layer_ops)
        kept = {}

    # layer records, in execution order
    for grp, e in zip(groups, op_entries):
        shape = e.leaving[1] if e.leaving is not None else _last_shape(g, grp.ops)
        e.shape = _framework_shape(grp.record, shape)
    entries = input_entries + op_entries
    if opless:
        pending = [leaf_names[_split(r.namespace)] for r in opless]
        order_of = {e.name: e.order for e in entries}
        _place_opless(order_of, records, pending, opless_inputs, name_of_record)
        for r, me in zip(opless, pending):
            kind = opt.class_kind(r.cls, framework) or K.OTHER
            entries.append(_Entry(me, _split(r.namespace), order_of[me], r.cls, kind, shape=_framework_shape(r, None)))
    entries += output_entries
    entries.sort(key=lambda e: e.order)
    for k, e in enumerate(entries):
        e.rank = k
    if opless:
        shapes = {e.name: e.shape for e in entries}
        for e in entries:  # a layer without ops keeps its input's shape (Dropout)
            if not e.ops and e.kind not in (K.INPUT, K.OUTPUT):
                srcs = inputs_of.get(e.name, ())
                if srcs:
                    e.shape = _fill_unknown(e.shape, shapes.get(srcs[0]))
                    shapes[e.name] = e.shape
        outputs_of: dict[str, list[str]] = {}
        for lv, srcs in inputs_of.items():
            for lu in srcs:
                outputs_of.setdefault(lu, []).append(lv)
        rank = {e.name: e.rank for e in entries}
        outputs = {name: sorted(set(outs), key=lambda n: rank.get(n, 1 << 30)) for name, outs in outputs_of.items()}
    layers: list[Layer] = []
    for e in entries:
        if opless:
            inputs = inputs_of.get(e.name, ())
            outs = outputs.get(e.name, ())
        else:
            inputs = e.inputs
            outs = [x.name for x in sorted(e.receivers, key=lambda x: x.rank)]
        layers.append(
            Layer(
                name=e.name,
                path=e.path,
                type=e.type,
                kind=e.kind,
                params=int(per_layer.get(e.name, 0)),
                inputs=inputs,
                outputs=tuple(outs),
                output_shape=e.shape,
                ops=e.ops,
                attrs=e.attrs,
            )
        )

    tree = build_tree(g, layers, rec_by_ns, kept)
    return Grouping(
        layers=layers, op_layer=op_layer, tree=tree, connections=conn, params=int(total), records=layer_record
    )


def _place_opless(
    order: dict[str, float],
    records: list[LayerRecord],
    pending: list[str],
    opless_inputs: dict[str, list[str]],
    name_of_record: dict[str, str],
) -> None:
    """Give each layer without ops (``pending``, named) a place in ``order`` (name ->
    execution position): right after its inbound layers (Keras), else right after the
    layer the framework's table lists before it (PyTorch lists layers in call order)."""
    for _ in range(len(pending) + 1):
        for me in pending:
            srcs = [s for s in opless_inputs.get(me, []) if s in order]
            if srcs and me not in order:
                order[me] = max(order[s] for s in srcs) + 1e-3
        if all(me in order for me in pending):
            break
    placed_before: float | None = None
    for r in records:
        me = name_of_record.get(r.name)
        if me is None:
            continue
        if me in order:
            placed_before = order[me]
        elif me in pending:
            placed_before = (placed_before if placed_before is not None else -0.5) + 1e-4
            order[me] = placed_before


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
        ns = _split(ns_str)
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


# ---------------------------------------------------------------------------------------
def _split(ns: str) -> tuple[str, ...]:
    return tuple(s for s in ns.split(SEP) if s) if ns else ()


def _leaf_base(ns: tuple[str, ...], rec: LayerRecord | None) -> str:
    return rec.name if rec is not None and rec.name else ns[-1]




def _chain(chains: dict[tuple[str, ...], list[_Module]], path: tuple[str, ...]) -> list[_Module]:
    """``chains[path]``, made (with the chains of its prefixes) if missing: a new module is
    listed among its parent's children."""
    c = chains.get(path)
    if c is None:
        up = _chain(chains, path[:-1])
        up[-1].kids.append(path)
        c = chains[path] = [*up, _Module()]
    return c


def _readers(g: ModelGraph, n: Node) -> list[Node]:
    """The nodes reading any output of ``n``, output by output, in reading order."""
    by_id = g.by_id
    return [by_id[c] for out in n.outputs if out for c, _ in g.tensors[out].consumers]


def _split_calls(g: ModelGraph, members: list[Node]) -> list[list[Node]]:
    """Split a leaf layer's ops into calls: data ops connected inside the layer, or reading
    the same outside tensor, are one call. Auxiliary ops join the call of their reader."""
    data_ops = [n for n in members if n.role == DATA]
    if len(data_ops) <= 1:
        return [members]
    parent = {n.id: n.id for n in data_ops}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[rb] = ra

    first_reader: dict[str, str] = {}
    for n in data_ops:
        for (u, t, _), p in zip(n.sources, n.producers):
            if u is None:
                continue
            if u in parent:
                union(n.id, u)
            elif g.nodes[p].role in (DATA, INPUT):
                if t in first_reader:
                    union(n.id, first_reader[t])
                else:
                    first_reader[t] = n.id
    roots: dict[str, list[Node]] = {}
    for n in data_ops:
        roots.setdefault(find(n.id), []).append(n)
    if len(roots) == 1:
        return [members]
    comp_of = {n.id: find(n.id) for n in data_ops}
    member_set = {n.id for n in members}
    for n in reversed(members):
        if n.id in comp_of:
            continue
        target = None
        for out in n.outputs:
            if not out:
                continue
            for consumer, _ in g.tensors[out].consumers:
                if consumer in member_set and consumer in comp_of:
                    target = comp_of[consumer]
                    break
            if target:
                break
        comp_of[n.id] = target or find(data_ops[0].id)
    calls: dict[str, list[Node]] = {}
    for n in members:
        calls.setdefault(comp_of[n.id], []).append(n)
    return sorted(calls.values(), key=lambda ops_: ops_[0].index if ops_ else 0)


def _main_op(ops_: Sequence[Node]) -> Node:
    """The op that names and describes a layer: its data op of the highest-priority kind."""
    data = [n for n in ops_ if n.role == DATA] or [n for n in ops_ if n.role == PARAM] or list(ops_)
    best, best_rank = data[0], len(opt.KIND_PRIORITY)
    for n in data:
        r = _PRIORITY.get(opt.op_kind(n.op_type, bool(n.params or n.reads_params)), len(opt.KIND_PRIORITY))
        if r < best_rank:
            best, best_rank = n, r
    return best


def _describe(g: ModelGraph, grp: _Group, framework: str) -> tuple[LayerKind, str, dict[str, Any]]:
    """Kind, type and comparable attributes of a layer."""
    d = grp.main
    cls = ""
    if not grp.fn:
        if grp.record is not None and grp.record.cls:
            cls = grp.record.cls
        else:
            classes = grp.ops[0].classes
            if len(classes) == len(grp.ns) and classes and classes[-1]:
                cls = classes[-1]
    kind = opt.class_kind(cls, framework) if cls else None
    if kind is None:
        kind = opt.op_kind(d.op_type, bool(d.params or d.reads_params))
    type_ = cls or d.op_type
    return kind, type_, _attrs(g, d, grp.ops)


def _attrs(g: ModelGraph, d: Node, ops_: Sequence[Node]) -> dict[str, Any]:
    op_type = d.op_type
    a = d.attrs
    out: dict[str, Any] = {"op": op_type}
    w = g.initializers[d.params[0]].shape if d.params else None  # the first parameter's shape
    if op_type in ("Conv", "ConvTranspose", "QLinearConv"):
        for key in ("kernel_shape", "strides", "pads", "dilations", "group"):
            if key in a:
                out[key] = a[key]
        if w is not None and len(w) >= 3:
            out.setdefault("kernel_shape", tuple(w[2:]))
            group = int(a.get("group", 1))
            if op_type == "ConvTranspose":
                out["channels"], out["in_channels"] = w[1] * group, w[0]
            else:
                out["channels"], out["in_channels"] = w[0], w[1] * group
    elif op_type == "Gemm":
        if w is not None and len(w) == 2:
            trans_b = int(a.get("transB", 0))
            out["features"], out["in_features"] = (w[0], w[1]) if trans_b else (w[1], w[0])
    elif op_type in ("MatMul", "Einsum") and w is not None and len(w) >= 2:
        out["features"], out["in_features"] = w[-1], w[-2]
    elif op_type in ("BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization"):
        if w is not None and w:
            out["channels"] = w[0]
        if "epsilon" in a:
            out["epsilon"] = a["epsilon"]
    elif op_type in ("Gather",) and w is not None and len(w) == 2:
        out["num_embeddings"], out["features"] = w
    elif op_type in ("MaxPool", "AveragePool", "LpPool"):
        for key in ("kernel_shape", "strides", "pads"):
            if key in a:
                out[key] = a[key]
    elif op_type in ("Concat", "Softmax", "LogSoftmax", "Flatten", "Gather"):
        if "axis" in a:
            out["axis"] = a["axis"]
    elif op_type in ("LSTM", "GRU", "RNN") and "hidden_size" in a:
        out["hidden_size"] = a["hidden_size"]
    types: list[str] = []
    for n in ops_:
        if n.role == DATA and n.op_type not in types:
            types.append(n.op_type)
    out["op_types"] = tuple(types)
    return out


def _last_shape(g: ModelGraph, ops_: Sequence[Node]) -> Any:
    for n in reversed(ops_):
        for out in n.outputs:
            if out:
                return g.tensors[out].shape
    return None


__all__ = ["Grouping", "build_tree", "group_layers"]


def _framework_shape(record: LayerRecord | None, onnx_shape: Shape | None) -> Shape | None:
    """The layer's output shape as its framework reports it, batch size from the graph.

    Keras layers are channels-last while tf2onnx computes channels-first, so a record's
    own shape wins over the ONNX tensor's; ``None`` dimensions of the record take the
    graph's value at that position when the ranks agree.

    >>> _framework_shape(LayerRecord("c", "c", "Conv2D", output_shape=(None, 8, 8, 4)), (1, 4, 8, 8))
    (1, 8, 8, 4)
    >>> _framework_shape(None, (1, 4))
    (1, 4)
    """
    if record is None or record.output_shape is None:
        return onnx_shape
    return _fill_unknown(tuple(record.output_shape), onnx_shape)


def _fill_unknown(shape: Shape | None, known: Shape | None) -> Shape | None:
    """``shape`` with its unknown dimensions taken from ``known`` (same rank), or ``known``.

    >>> _fill_unknown((None, 16), (1, 16))
    (1, 16)
    >>> _fill_unknown(None, (1, 16))
    (1, 16)
    """
    if shape is None:
        return known
    if known is None or len(known) != len(shape):
        return shape
    return tuple(k if d is None else d for d, k in zip(shape, known))
