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
from .graph import CONST, DATA, INPUT, PARAM, SHAPE, ModelGraph
from .params import initializer_params, record_params

K = LayerKind


@dataclass
class Grouping:
    """The result of :func:`group_layers`."""

    layers: list[Layer]
    op_layer: dict[str, str]  # node id (ops, inputs, outputs) -> layer name
    tree: dict[tuple[str, ...], ModuleNode]
    connections: dict[tuple[str, str], tuple[str, Any]]
    params: int
    records: dict[str, LayerRecord] = field(default_factory=dict)  # layer name -> record


@dataclass
class _Group:
    key: tuple
    ops: list[str]
    ns: tuple[str, ...]
    fn: bool  # a functional op's layer
    name: str = ""
    path: tuple[str, ...] = ()
    record: LayerRecord | None = None
    call: int = 1
    order: float = 0.0


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
    nodes = g.info
    records = list(records or [])
    rec_by_ns: dict[tuple[str, ...], LayerRecord] = {}
    for r in records:
        ns = _split(r.namespace)
        if ns and ns not in rec_by_ns:
            rec_by_ns[ns] = r

    op_ns = {nodes[n]["namespace"] for n in g.ops}
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

    # 1-2: leaf layers and functional data ops
    group_of: dict[str, tuple] = {}
    for nid in g.ops:
        d = nodes[nid]
        ns = d["namespace"]
        if ns and is_leaf(ns):
            group_of[nid] = ("leaf", ns)
        elif d["role"] == DATA:
            group_of[nid] = ("fn", nid)
    # 3: auxiliary ops outside leaves join their first reader
    for nid in reversed(g.ops):
        if nid in group_of:
            continue
        best, best_idx = None, None
        for out in nodes[nid]["outputs"]:
            if not out:
                continue
            for consumer, _ in g.tensors[out].consumers:
                if consumer in group_of:
                    idx = nodes[consumer]["index"]
                    if best_idx is None or idx < best_idx:
                        best, best_idx = consumer, idx
        if best is not None:
            group_of[nid] = group_of[best]
        elif nodes[nid]["role"] == PARAM:
            group_of[nid] = ("fn", nid)

    by_key: dict[tuple, list[str]] = {}
    for nid in g.ops:
        key = group_of.get(nid)
        if key is not None:
            by_key.setdefault(key, []).append(nid)

    groups: list[_Group] = []
    for key, members in by_key.items():
        if key[0] == "leaf":
            for call, ops_ in enumerate(_split_calls(g, members), start=1):
                groups.append(
                    _Group(key=(key, call), ops=ops_, ns=key[1], fn=False, record=rec_by_ns.get(key[1]), call=call)
                )
        else:
            nid = key[1]
            groups.append(_Group(key=(key, 1), ops=members, ns=nodes[nid]["namespace"], fn=True))
    for grp in groups:  # execution order: a layer runs when its first data op does
        data_idx = [nodes[n]["index"] for n in grp.ops if nodes[n]["role"] == DATA]
        grp.order = min(data_idx) if data_idx else min(nodes[n]["index"] for n in grp.ops)
    groups.sort(key=lambda grp: grp.order)

    # 4: layers that left no op
    covered = {grp.ns for grp in groups if not grp.fn}
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
        name = _unique(name, used, sep="#")
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
            grp.name = _unique(f"{leaf_names[grp.ns]}#{grp.call}", used, sep="#")
            grp.path = grp.ns[:-1] + (grp.ns[-1] + f"#{grp.call}",)
    for grp in groups:
        if grp.fn:
            main = _main_op(g, grp.ops)
            d = nodes[main]
            slug = opt.op_slug(d["op_type"])
            if grp.ns:
                grp.name = _unique(f"{grp.ns[-1]}/{slug}", used)
                grp.path = grp.ns + (grp.name.rsplit("/", 1)[1],)
            else:
                base = slug if annotated or not d["name"] else d["name"]
                grp.name = _unique(base, used)
                grp.path = (grp.name,)

    op_layer: dict[str, str] = {}
    for grp in groups:
        for n in grp.ops:
            op_layer[n] = grp.name

    # inputs and outputs
    input_names: list[str] = []
    rec_names = [r.name for r in input_records]
    for i, nid in enumerate(g.inputs):
        tname = nodes[nid]["name"]
        if tname in rec_names or len(rec_names) != len(g.inputs):
            name = tname
        else:
            name = rec_names[i]
        name = _unique(name, used)
        input_names.append(name)
        op_layer[nid] = name
    output_names: list[str] = []
    for nid in g.outputs:
        tname = nodes[nid]["name"]
        base = "output" if len(g.outputs) == 1 and "output" not in used else tname
        if base in used:
            base = f"output:{tname}"
        name = _unique(base, used)
        output_names.append(name)
        op_layer[nid] = name

    # connections
    conn: dict[tuple[str, str], tuple[str, Any]] = {}
    in_lists: dict[str, list[tuple[int, int, str]]] = {}
    leaving: dict[str, tuple[int, Any]] = {}
    tensors = g.tensors
    for v, dv in nodes.items():
        lv = op_layer.get(v)
        if lv is None:
            continue
        is_op = dv["kind"] == "op"
        for u, tname, slot in dv["sources"]:
            if u is None:
                continue
            lu = op_layer.get(u)
            if lu is None or lu == lv:
                continue
            du = nodes[u]
            if du["role"] in (SHAPE, CONST):
                continue
            if is_op and slot >= 0 and opt.meta_slot(dv["op_type"], slot):
                continue
            shape = tensors[tname].shape
            key = (lu, lv)
            if key not in conn:
                conn[key] = (tname, shape)
                in_lists.setdefault(lv, []).append((dv["index"], slot, lu))
            idx = du["index"]
            if lu not in leaving or idx > leaving[lu][0]:
                leaving[lu] = (idx, shape)

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
    if opless:
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

    inputs_of: dict[str, tuple[str, ...]] = {}
    for lv, lst in in_lists.items():
        seen: list[str] = []
        for _, _, lu in sorted(lst):
            if lu not in seen and (lu, lv) in conn:
                seen.append(lu)
        inputs_of[lv] = tuple(seen)
    outputs_of: dict[str, list[str]] = {}

    # parameters
    layer_ops = {grp.name: grp.ops for grp in groups}
    layer_record: dict[str, LayerRecord] = {}
    for grp in groups:
        if grp.record is not None and grp.call == 1:
            layer_record[grp.name] = grp.record
    for r in opless:
        layer_record[leaf_names[_split(r.namespace)]] = r
    if records:
        container_layers: dict[str, list[str]] = {}
        for grp in groups:
            if grp.fn and any(nodes[n]["params"] for n in grp.ops):
                container_layers.setdefault(SEP.join(grp.ns), []).append(grp.name)
        per_layer, total, kept = record_params(records, layer_record, container_layers)
    else:
        per_layer, total = initializer_params(g, layer_ops)
        kept = {}

    # layer records, in execution order
    order: dict[str, float] = {}
    for i, n in enumerate(input_names):
        order[n] = -1.0 - (len(input_names) - i) * 1e-3
    for grp in groups:
        order[grp.name] = grp.order
    end = float(len(g.ops) + 1)
    # a layer without ops comes right after its inbound layers (Keras), else right after
    # the layer the framework's table lists before it (PyTorch lists layers in call order)
    pending = [leaf_names[_split(r.namespace)] for r in opless]
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
    for i, n in enumerate(output_names):
        order[n] = end + 1 + i

    layers_build: list[dict[str, Any]] = []
    for i, nid in enumerate(g.inputs):
        name = input_names[i]
        shape = g.tensors[nodes[nid]["name"]].shape
        layers_build.append(
            {"name": name, "path": (name,), "type": "Input", "kind": K.INPUT, "ops": (), "shape": shape, "attrs": {}}
        )
    for grp in groups:
        kind, type_, attrs = _describe(g, grp, framework)
        shape = leaving[grp.name][1] if grp.name in leaving else _last_shape(g, grp.ops)
        shape = _framework_shape(grp.record, shape)
        layers_build.append(
            {
                "name": grp.name,
                "path": grp.path,
                "type": type_,
                "kind": kind,
                "ops": tuple(grp.ops),
                "shape": shape,
                "attrs": attrs,
            }
        )
    for r in opless:
        me = leaf_names[_split(r.namespace)]
        kind = opt.class_kind(r.cls, framework) or K.OTHER
        layers_build.append(
            {
                "name": me,
                "path": _split(r.namespace),
                "type": r.cls,
                "kind": kind,
                "ops": (),
                "shape": _framework_shape(r, None),
                "attrs": {},
            }
        )
    for i, nid in enumerate(g.outputs):
        name = output_names[i]
        shape = g.tensors[nodes[nid]["name"]].shape
        layers_build.append(
            {"name": name, "path": (name,), "type": "Output", "kind": K.OUTPUT, "ops": (), "shape": shape, "attrs": {}}
        )
    layers_build.sort(key=lambda b: order[b["name"]])

    shapes = {b["name"]: b["shape"] for b in layers_build}
    for b in layers_build:  # a layer without ops keeps its input's shape (Dropout)
        if not b["ops"] and b["kind"] not in (K.INPUT, K.OUTPUT):
            srcs = inputs_of.get(b["name"], ())
            if srcs:
                b["shape"] = _fill_unknown(b["shape"], shapes.get(srcs[0]))
                shapes[b["name"]] = b["shape"]
    rank = {b["name"]: k for k, b in enumerate(layers_build)}
    for lv, srcs in inputs_of.items():
        for lu in srcs:
            outputs_of.setdefault(lu, []).append(lv)
    layers: list[Layer] = []
    for b in layers_build:
        outs = sorted(set(outputs_of.get(b["name"], [])), key=lambda n: rank.get(n, 1 << 30))
        layers.append(
            Layer(
                name=b["name"],
                path=b["path"],
                type=b["type"],
                kind=b["kind"],
                params=int(per_layer.get(b["name"], 0)),
                inputs=inputs_of.get(b["name"], ()),
                outputs=tuple(outs),
                output_shape=b["shape"],
                ops=b["ops"],
                attrs=b["attrs"],
            )
        )

    tree = build_tree(g, layers, rec_by_ns, kept)
    return Grouping(
        layers=layers, op_layer=op_layer, tree=tree, connections=conn, params=int(total), records=layer_record
    )


def build_tree(
    g: ModelGraph,
    layers: Sequence[Layer],
    rec_by_ns: dict[tuple[str, ...], LayerRecord] | None = None,
    own_params: dict[str, int] | None = None,
) -> dict[tuple[str, ...], ModuleNode]:
    """The module tree: every path prefix of a layer is a module; layers are its leaves.

    Module classes come from the ops' ``class_hierarchy`` and the layer table.
    """
    nodes = g.info
    cls_of: dict[tuple[str, ...], str] = {}
    for r_ns, r in (rec_by_ns or {}).items():
        cls_of[r_ns] = r.cls
    for nid in g.ops:
        d = nodes[nid]
        ns, classes = d["namespace"], d["classes"]
        for k in range(len(ns)):
            p = ns[: k + 1]
            if p not in cls_of and k < len(classes) and classes[k]:
                cls_of[p] = classes[k]
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    sub_layers: dict[tuple[str, ...], list[str]] = {(): []}
    params: dict[tuple[str, ...], int] = {(): 0}
    leaf_paths: dict[tuple[str, ...], Layer] = {}
    for layer in layers:
        path = layer.path
        leaf_paths[path] = layer
        for k in range(len(path)):
            parent, child = path[:k], path[: k + 1]
            kids = children.setdefault(parent, [])
            if child not in children:
                children[child] = []
                kids.append(child)
            sub_layers.setdefault(parent, []).append(layer.name)
            params[parent] = params.get(parent, 0) + layer.params
        sub_layers.setdefault(path, []).append(layer.name)
    for ns_str, n in (own_params or {}).items():
        ns = _split(ns_str)
        for k in range(len(ns) + 1):
            if ns[:k] in params:
                params[ns[:k]] += n
    tree: dict[tuple[str, ...], ModuleNode] = {}
    for path, kids in children.items():
        layer = leaf_paths.get(path)
        if layer is not None and not kids:
            tree[path] = ModuleNode(path, layer.name, layer.type, (), (layer.name,), layer.params, leaf=True)
        else:
            tree[path] = ModuleNode(
                path,
                path[-1] if path else "",
                cls_of.get(path, ""),
                tuple(kids),
                tuple(sub_layers.get(path, ())),
                params.get(path, 0),
            )
    return tree


# ---------------------------------------------------------------------------------------
def _split(ns: str) -> tuple[str, ...]:
    return tuple(s for s in ns.split(SEP) if s) if ns else ()


def _leaf_base(ns: tuple[str, ...], rec: LayerRecord | None) -> str:
    return rec.name if rec is not None and rec.name else ns[-1]


def _unique(name: str, used: set[str], sep: str = "_") -> str:
    if name not in used:
        used.add(name)
        return name
    k = 1
    while f"{name}{sep}{k}" in used:
        k += 1
    used.add(f"{name}{sep}{k}")
    return f"{name}{sep}{k}"


def _split_calls(g: ModelGraph, members: list[str]) -> list[list[str]]:
    """Split a leaf layer's ops into calls: data ops connected inside the layer, or reading
    the same outside tensor, are one call. Auxiliary ops join the call of their reader."""
    nodes = g.info
    data_ops = [n for n in members if nodes[n]["role"] == DATA]
    if len(data_ops) <= 1:
        return [members]
    parent = {n: n for n in data_ops}

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
        for u, t, _ in nodes[n]["sources"]:
            if u is None:
                continue
            if u in parent:
                union(n, u)
            elif nodes[u]["role"] in (DATA, INPUT):
                if t in first_reader:
                    union(n, first_reader[t])
                else:
                    first_reader[t] = n
    roots: dict[str, list[str]] = {}
    for n in data_ops:
        roots.setdefault(find(n), []).append(n)
    if len(roots) == 1:
        return [members]
    comp_of = {n: find(n) for n in data_ops}
    member_set = set(members)
    for n in reversed(members):
        if n in comp_of:
            continue
        target = None
        for out in nodes[n]["outputs"]:
            if not out:
                continue
            for consumer, _ in g.tensors[out].consumers:
                if consumer in member_set and consumer in comp_of:
                    target = comp_of[consumer]
                    break
            if target:
                break
        comp_of[n] = target or find(data_ops[0])
    calls: dict[str, list[str]] = {}
    for n in members:
        calls.setdefault(comp_of[n], []).append(n)
    return sorted(calls.values(), key=lambda ops_: nodes[ops_[0]]["index"] if ops_ else 0)


def _main_op(g: ModelGraph, ops_: Sequence[str]) -> str:
    nodes = g.info
    data = [n for n in ops_ if nodes[n]["role"] == DATA] or [n for n in ops_ if nodes[n]["role"] == PARAM] or list(ops_)
    best, best_rank = data[0], len(opt.KIND_PRIORITY)
    for n in data:
        k = opt.op_kind(nodes[n]["op_type"], bool(nodes[n]["params"] or nodes[n]["reads_params"]))
        r = opt.KIND_PRIORITY.index(k) if k in opt.KIND_PRIORITY else len(opt.KIND_PRIORITY)
        if r < best_rank:
            best, best_rank = n, r
    return best


def _describe(g: ModelGraph, grp: _Group, framework: str) -> tuple[LayerKind, str, dict[str, Any]]:
    """Kind, type and comparable attributes of a layer."""
    nodes = g.info
    main = _main_op(g, grp.ops)
    d = nodes[main]
    cls = ""
    if not grp.fn:
        if grp.record is not None and grp.record.cls:
            cls = grp.record.cls
        else:
            classes = nodes[grp.ops[0]]["classes"]
            if len(classes) == len(grp.ns) and classes and classes[-1]:
                cls = classes[-1]
    kind = opt.class_kind(cls, framework) if cls else None
    if kind is None:
        kind = opt.op_kind(d["op_type"], bool(d["params"] or d["reads_params"]))
    type_ = cls or d["op_type"]
    return kind, type_, _attrs(g, main, grp.ops)


def _attrs(g: ModelGraph, main: str, ops_: Sequence[str]) -> dict[str, Any]:
    nodes = g.info
    d = nodes[main]
    op_type = d["op_type"]
    a = d["attrs"]
    out: dict[str, Any] = {"op": op_type}
    weights = [g.initializers[p].shape for p in d["params"]]
    w = weights[0] if weights else None
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
        if nodes[n]["role"] == DATA and nodes[n]["op_type"] not in types:
            types.append(nodes[n]["op_type"])
    out["op_types"] = tuple(types)
    return out


def _last_shape(g: ModelGraph, ops_: Sequence[str]) -> Any:
    nodes = g.info
    for n in reversed(ops_):
        for out in nodes[n]["outputs"]:
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
