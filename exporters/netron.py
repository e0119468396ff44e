"""A Netron-ready ONNX file: the analysed model, computing exactly the same, explained.

:func:`netron_model` returns a copy of the analysed ``onnx.ModelProto`` where

- the module tree is nested model-local functions (``_onnx_functions``): Netron shows
  the top-level modules and opens each into its parts; identical repeated blocks call one
  function; Model Explorer shows each function as the subgraph of its calls.
  ``flat=True`` keeps the flat graph;
- node and tensor names are short (a module's name inside its parent, a tensor named
  after the node that makes it) and distinct as Netron shows them (``_netron_names``);
- every intermediate tensor has its type and shape (``value_info``);
- every op keeps the converter's metadata (dynamo's ``pkg.torch.onnx.stack_trace``, the
  source line) and adds short keys: ``layer``, ``class``, ``skip`` and ``block``; its
  ``doc_string`` says the same in words ("residual block 3 of 14, projection shortcut");
  each module call says which module it is (``module``, ``class``, ``params``, ``block``);
- the model names its producer (modelmap), what it was converted from (Netron's
  "source", from ``converted_from``) and summarises layers, parameters, skips and blocks
  under short keys and in its ``doc_string``; the converter's ``modelmap.layers`` table
  is left out.

Names, metadata, doc strings, ``value_info`` and the functions change; every op, input,
output, attribute and initializer stays, so onnxruntime computes the same outputs.

:func:`attachment_json` is Netron's ``netron:attachment`` sidecar (drop it onto the
open model): per-node metadata and metrics (parameters, output elements).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx
from onnx import helper

from modelmap import __version__
from modelmap import _metadata as md
from modelmap._errors import InputError
from modelmap._io import atomic_write
from modelmap.core.kinds import LayerKind

from ._netron_names import distinct_names
from ._onnx_functions import DOMAIN, CallInfo, can_nest, nest_modules
from ._options import DrawOptions
from ._view import SKIP_WORDS, EdgeKind

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis
    from modelmap.core.analysis import Layer

# Metadata keys, short because Netron's sidebar cuts keys at about 15 characters.
LAYER = "layer"
LAYER_TYPE = "class"
SKIP = "skip"
BLOCK = "block"
MODULE = "module"
PATH = "path"
PARAMS = "params"
#: Dynamo's keys that repeat ``namespace``/``class_hierarchy`` (and all show as "pkg.torch.on...").
_REPEATED = ("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy", "pkg.torch.onnx.fx_node")
#: Keys true of one instance only: dropped in a function that several modules share.
_INSTANCE = (LAYER, MODULE, PATH, BLOCK, PARAMS, md.NAMESPACE)
_FRAMEWORKS = {"pytorch": "PyTorch", "keras": "Keras", "onnx": "ONNX"}


@dataclass(frozen=True)
class _Role:
    family: str  # "residual block", "concat skip", "gate"
    index: int
    total: int
    kind: EdgeKind
    role: str  # "fork", "body", "shortcut", "merge"

    def words(self) -> str:
        what = {
            "fork": "fork (the shortcut starts here)",
            "body": "body",
            "shortcut": SKIP_WORDS[self.kind],
            "merge": f"merge ({SKIP_WORDS[self.kind]})",
        }[self.role]
        return f"{self.family} {self.index} of {self.total}, {what}"


_FAMILY = {
    EdgeKind.IDENTITY: "residual block",
    EdgeKind.PROJECTION: "residual block",
    EdgeKind.CONCAT: "concat skip",
    EdgeKind.GATE: "gate",
}


def skip_roles(analysis: Analysis) -> dict[str, list[_Role]]:
    """Layer name -> the roles it plays in skip connections, in skip order."""
    families = Counter(_FAMILY[EdgeKind(str(s.kind))] for s in analysis.skips)
    seen: Counter[str] = Counter()
    roles: dict[str, list[_Role]] = {}
    for s in analysis.skips:
        kind = EdgeKind(str(s.kind))
        family = _FAMILY[kind]
        seen[family] += 1

        def add(layer: str, role: str) -> None:
            roles.setdefault(layer, []).append(_Role(family, seen[family], families[family], kind, role))  # noqa: B023

        add(s.fork, "fork")
        for b in s.body:
            add(b, "body")
        for c in s.shortcut:
            add(c, "shortcut")
        add(s.merge, "merge")
    return roles


def block_roles(analysis: Analysis) -> dict[str, list[str]]:
    """Layer or module name -> "ResidualBlock 2 of 5 in stage2" for each repeated block it is in."""
    out: dict[str, list[str]] = {}
    for b in analysis.blocks:
        where = "/".join(b.parent) or "the model"
        for k, (member, unit) in enumerate(zip(b.members, b.units, strict=False), start=1):
            text = f"{b.name} {k} of {b.count} in {where}"
            for name in {member, *unit}:
                out.setdefault(name, []).append(text)
    return out


# ------------------------------------------------------------------- the analysis, read once


@dataclass(frozen=True)
class _Facts:
    """What the exporter needs beyond the Analysis' public records, per node of the model."""

    layers: list[Layer | None]  # the layer of each node of the model, by index
    types: dict[str, tuple[tuple | None, str]]  # tensor name -> (shape, dtype text)


def _read_analysis(analysis: Analysis, model: onnx.ModelProto) -> _Facts:
    """The layer of each node of ``model`` (a copy of ``analysis.model``) and the shapes of its
    outputs, through the Analysis' op and tensor accessors."""
    layer_of_op = {op: layer for layer in analysis.layers for op in layer.ops}
    layers: list[Layer | None] = []
    types: dict[str, tuple[tuple | None, str]] = {}
    for node in model.graph.node:
        tensors = [analysis.tensor(t) for t in node.output if t]
        producer = next((info.producer for info in tensors if info.producer), None)
        layers.append(layer_of_op.get(producer) if producer is not None else None)
        types.update((info.name, (info.shape, info.dtype)) for info in tensors if info.shape is not None and info.dtype)
    return _Facts(layers, types)


# -------------------------------------------------------------------------- the model


def summary(analysis: Analysis) -> dict[str, str]:
    """The model-level facts, under short metadata keys."""
    kinds = Counter(str(s.kind) for s in analysis.skips)
    skip_text = str(len(analysis.skips))
    if kinds:
        skip_text += " (" + ", ".join(f"{n} {k}" for k, n in kinds.items()) + ")"
    layers = [ly for ly in analysis.layers if ly.kind not in (LayerKind.INPUT, LayerKind.OUTPUT)]
    blocks = "; ".join(f"{b.name} x{b.count} in {'/'.join(b.parent) or 'the model'}" for b in analysis.blocks)
    return {
        "framework": analysis.framework,
        "converter": analysis.converter,
        "layers": str(len(layers)),
        "params": str(analysis.params),
        "ops": str(analysis.op_count),
        "skips": skip_text,
        "blocks": blocks or "none",
    }


def _drop_props(props: Any, keys: tuple[str, ...]) -> None:
    kept = [p for p in props if p.key not in keys]
    del props[:]
    props.extend(kept)


def _fill_value_info(facts: _Facts, model: onnx.ModelProto) -> None:
    """Give every intermediate tensor of the main graph a value_info with its shape."""
    g = model.graph
    known = {vi.name for vi in g.value_info if vi.type.tensor_type.HasField("shape")}
    outputs = {o.name for o in g.output}
    by_name = {vi.name: vi for vi in g.value_info}
    for node in g.node:
        for t in node.output:
            if not t or t in known or t in outputs or t not in facts.types:
                continue
            shape, dtype = facts.types[t]
            elem = _elem_type(dtype)
            if elem is None:
                continue
            dims = [d if isinstance(d, int) else (str(d) if d is not None else None) for d in shape]
            vi = helper.make_tensor_value_info(t, elem, dims)
            if t in by_name:
                by_name[t].CopyFrom(vi)
            else:
                g.value_info.append(vi)
            known.add(t)


def _elem_type(dtype: str) -> int | None:
    """The core's dtype text (``float``, ``int64``: ONNX's names, lower case) as an enum value."""
    try:
        return int(onnx.TensorProto.DataType.Value(dtype.upper()))
    except ValueError:
        return None


def _node_doc(op_type: str, props: dict[str, str]) -> str:
    """A node's doc string from its metadata: "Conv of layer conv1 (Conv2d). Residual block ..."."""
    if LAYER in props:
        words = [f"{op_type} of layer {props[LAYER]} ({props.get(LAYER_TYPE, '')})"]
    elif LAYER_TYPE in props:
        words = [f"{op_type} of a {props[LAYER_TYPE]} layer"]
    else:
        words = [f"{op_type} of the model"]
    if props.get(SKIP):
        words.append(props[SKIP])
    if props.get(BLOCK):
        words.append("repetition " + props[BLOCK])
    return ". ".join(w[0].upper() + w[1:] for w in words) + "."


def _annotate_nodes(analysis: Analysis, model: onnx.ModelProto, facts: _Facts) -> None:
    """Each op's metadata (short keys) and doc string, from its layer."""
    skips, blocks = skip_roles(analysis), block_roles(analysis)
    for node, layer in zip(model.graph.node, facts.layers, strict=True):
        _drop_props(node.metadata_props, _REPEATED)
        if layer is not None:
            md.set_prop(node.metadata_props, LAYER, layer.name)
            md.set_prop(node.metadata_props, LAYER_TYPE, layer.type)
            if skips.get(layer.name):
                md.set_prop(node.metadata_props, SKIP, "; ".join(r.words() for r in skips[layer.name]))
            if blocks.get(layer.name):
                md.set_prop(node.metadata_props, BLOCK, "; ".join(blocks[layer.name]))
        node.doc_string = _node_doc(node.op_type, {p.key: p.value for p in node.metadata_props})


def _generic(node: onnx.NodeProto) -> None:
    """Strip what is true of one instance from a node of a shared function."""
    props = {p.key: p.value for p in node.metadata_props}
    _drop_props(node.metadata_props, _INSTANCE)
    if SKIP in props:
        md.set_prop(node.metadata_props, SKIP, re.sub(r" \d+ of \d+", "", props[SKIP]))
    if node.domain == DOMAIN:  # a call of a module's function
        node.doc_string = f"A {props.get(LAYER_TYPE) or 'module'}."
    else:
        node.doc_string = _node_doc(node.op_type, {p.key: p.value for p in node.metadata_props})


def _describe_model(analysis: Analysis, model: onnx.ModelProto) -> None:
    """Producer, source, short summary keys and a doc string; the layer table left out."""
    facts = summary(analysis)
    model.producer_name = "modelmap"
    model.producer_version = __version__
    _drop_props(model.metadata_props, (md.LAYERS,))
    source = _FRAMEWORKS.get(analysis.framework, analysis.framework)
    md.set_prop(model.metadata_props, "converted_from", f"{source} ({analysis.converter})" if analysis.converter else source)
    for key in ("layers", "params", "ops", "skips", "blocks"):
        md.set_prop(model.metadata_props, key, facts[key])
    model.doc_string = (
        f"{facts['framework']} model via {facts['converter'] or 'onnx'}: {facts['layers']} layers, "
        f"{int(facts['params']):,} parameters, {facts['ops']} ONNX ops; skip connections: {facts['skips']}; "
        f"repeated blocks: {facts['blocks']}. Annotated by modelmap."
    )


def netron_model(analysis: Analysis, flat: bool = False) -> onnx.ModelProto:
    """The annotated copy of ``analysis.model`` (see the module docstring)."""
    model = onnx.ModelProto()
    model.CopyFrom(analysis.model)  # shapes inferred once, by the analysis
    facts = _read_analysis(analysis, model)
    _fill_value_info(facts, model)
    _annotate_nodes(analysis, model, facts)
    _describe_model(analysis, model)
    if flat or not can_nest(model):
        _name_flat(model, facts, tensors=can_nest(model))
        return model
    calls = _calls(analysis)
    regrouped = _group_flat_repeats(analysis, calls)
    paths = [regrouped.get(layer.name, layer.path) if layer is not None else () for layer in facts.layers]
    for node in model.graph.node:
        _drop_props(node.metadata_props, (md.NAMESPACE, md.CLASS_HIERARCHY))
    return nest_modules(model, paths, calls, _generic)


def _group_flat_repeats(analysis: Analysis, calls: dict[tuple[str, ...], CallInfo]) -> dict[str, tuple[str, ...]]:
    """Make each repetition of a block whose layers sit directly in one module (a flat Keras
    model's residual blocks) a module of its own, ``ResidualBlock_1``...: layer name -> new path.
    ``calls`` gets those modules."""
    layers = analysis.layer_map
    seen: Counter[str] = Counter()
    out: dict[str, tuple[str, ...]] = {}
    for b in analysis.blocks:
        parent = tuple(b.parent)
        if not all(len(layers[n].path) == len(parent) + 1 for unit in b.units for n in unit if n in layers):
            continue
        for k, unit in enumerate(b.units, start=1):
            seen[b.name] += 1
            seg = f"{b.name}_{seen[b.name]}"
            params = sum(layers[n].params for n in unit if n in layers)
            block = f"{b.name} {k} of {b.count} in {'/'.join(parent) or 'the model'}"
            calls[(*parent, seg)] = CallInfo(b.name, {MODULE: seg, LAYER_TYPE: b.name, PARAMS: str(params), BLOCK: block},
                                             f"{seg} ({b.name}): {params:,} parameters. Repetition {block}.")
            for n in unit:
                if n in layers:
                    out[n] = (*parent, seg, *layers[n].path[len(parent):])
    return out


def _calls(analysis: Analysis) -> dict[tuple[str, ...], CallInfo]:
    """What each module's call shows: name, class, parameters, block and skip roles."""
    blocks, skips = block_roles(analysis), skip_roles(analysis)
    out = {}
    for path, node in analysis.tree.items():
        if not path:
            continue
        props = {MODULE: node.name, LAYER_TYPE: node.cls, PATH: "/".join(path), PARAMS: str(node.params)}
        words = [f"{node.name} ({node.cls or 'module'}): {node.params:,} parameters"]
        if blocks.get(node.name):
            props[BLOCK] = "; ".join(blocks[node.name])
            words.append("repetition " + props[BLOCK])
        if node.leaf and skips.get(node.name):
            props[SKIP] = "; ".join(r.words() for r in skips[node.name])
            words.append(props[SKIP])
        out[path] = CallInfo(node.cls, props, ". ".join(words) + ".")
    return out


def _name_flat(model: onnx.ModelProto, facts: _Facts, tensors: bool = True) -> None:
    """Flat names: each node after its layer (plus its op where the layer has several),
    each intermediate tensor after the node that makes it (``tensors``; not when a
    subgraph may read them by name)."""
    g = model.graph
    per_layer = Counter(layer.name for layer in facts.layers if layer is not None)
    wanted = []
    for node, layer in zip(g.node, facts.layers, strict=True):
        if layer is None:
            wanted.append(node.op_type)
        else:
            wanted.append(layer.name if per_layer[layer.name] == 1 else f"{layer.name}/{node.op_type}")
    keep = {t.name for t in g.initializer} | {v.name for v in list(g.input) + list(g.output)}
    rename: dict[str, str] = {}
    for node, name in zip(g.node, distinct_names(wanted), strict=True):
        node.name = name
        outs = [t for t in node.output if t and t not in keep]
        for k, t in enumerate(outs):
            rename[t] = name if len(outs) == 1 else f"{name}:{k}"
    if not tensors:
        return
    rename = dict(zip(rename, distinct_names(rename.values(), taken=keep), strict=True))
    for node in g.node:
        node.input[:] = [rename.get(t, t) for t in node.input]
        node.output[:] = [rename.get(t, t) for t in node.output]
    for vi in g.value_info:
        vi.name = rename.get(vi.name, vi.name)


def generate_onnx(analysis: Analysis, options: DrawOptions | None = None) -> bytes:
    """The Netron-ready model, serialised."""
    flat = options.flat if options is not None else False
    try:
        return netron_model(analysis, flat=flat).SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise InputError(f"the model is too large for one ONNX file: {e}") from None


def attachment_json(analysis: Analysis, model: onnx.ModelProto | None = None) -> str:
    """Netron's ``netron:attachment`` sidecar for :func:`netron_model`'s node names."""
    model = model if model is not None else netron_model(analysis)
    inits = {t.name: _numel(t.dims) for t in model.graph.initializer}
    shapes = {}
    for vi in list(model.graph.value_info) + list(model.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = _numel([d.dim_value for d in dims])
    metadata: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    for node in model.graph.node:
        props = {p.key: p.value for p in node.metadata_props}
        for key in (LAYER, MODULE, LAYER_TYPE, SKIP, BLOCK):
            if key in props:
                metadata.append({"kind": "node", "target": node.name, "name": key, "value": props[key]})
        params = sum(inits.get(i, 0) for i in node.input)
        if params:
            metrics.append({"kind": "node", "target": node.name, "name": "parameters", "value": params})
        elements = sum(shapes.get(o, 0) for o in node.output)
        if elements:
            metrics.append({"kind": "node", "target": node.name, "name": "output elements", "value": elements})
    for key, value in summary(analysis).items():
        metadata.append({"kind": "model", "target": "", "name": key, "value": value})
    data = {"signature": "netron:attachment", "metadata": metadata, "metrics": metrics}
    return json.dumps(data, indent=1, ensure_ascii=True) + "\n"


def attachment_path(path: str | os.PathLike[str]) -> Path:
    """``model.onnx`` -> ``model.attachment.json``."""
    p = Path(path)
    return p.with_name(p.stem + ".attachment.json")


def _numel(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def write_onnx(analysis: Analysis, path: str | os.PathLike[str], options: DrawOptions) -> list[Path]:
    """Write the model and, with ``options.attachment``, the sidecar; both complete or neither."""
    model = netron_model(analysis, flat=options.flat)
    try:
        data = model.SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise InputError(f"the model is too large for one ONNX file: {e}") from None
    side = attachment_json(analysis, model) if options.attachment else None
    written = [atomic_write(path, data)]
    if side is not None:
        written.append(atomic_write(attachment_path(path), side))
    return written


__all__ = ["attachment_json", "attachment_path", "generate_onnx", "netron_model", "skip_roles", "summary", "write_onnx"]
