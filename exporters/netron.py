"""A Netron-ready ONNX file: the analysed model, computing exactly the same, explained.

:func:`netron_model` returns a copy of the analysed ``onnx.ModelProto`` where

- every intermediate tensor has its type and shape in ``graph.value_info`` (ONNX shape
  inference, then the core's shapes for what it leaves out);
- every node has a unique, meaningful name: its layer path and op type
  (``stage2/stage2.0/stage2.0.shortcut/Conv``);
- every node's ``metadata_props`` keep the converter's (``namespace``,
  ``class_hierarchy``) and add ``modelmap.layer``, ``modelmap.layer_type``,
  ``modelmap.skip`` and ``modelmap.block``; its ``doc_string`` says the same in words
  ("residual block 3 of 14, projection shortcut");
- the model's ``metadata_props`` summarise framework, layers, parameters, skips and
  blocks, and so does its ``doc_string``.

Only names, metadata, doc strings and ``value_info`` change: no node, input, output,
attribute or initializer is added, removed or reordered, so the outputs are the same.

:func:`attachment_json` is Netron's ``netron:attachment`` sidecar (drop it onto the
open model): per-node metadata and metrics (parameters, output elements).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx
from onnx import helper

from modelmap import _metadata as md
from modelmap._errors import InputError
from modelmap._io import atomic_write

from ._options import DrawOptions
from ._view import SKIP_WORDS, EdgeKind

if TYPE_CHECKING:  # pragma: no cover
    from modelmap.core import Analysis

LAYER = "modelmap.layer"
LAYER_TYPE = "modelmap.layer_type"
SKIP = "modelmap.skip"
BLOCK = "modelmap.block"
SUMMARY = "modelmap.summary"


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
    """Layer name -> "ResidualBlock 2 of 5 in stage2" for each repeated block it is in."""
    out: dict[str, list[str]] = {}
    for b in analysis.blocks:
        where = "/".join(b.parent) or "the model"
        for k, unit in enumerate(b.units, start=1):
            for layer in unit:
                out.setdefault(layer, []).append(f"{b.name} {k} of {b.count} in {where}")
    return out


def summary(analysis: Analysis) -> dict[str, str]:
    """The model-level facts, as ``modelmap.summary.*`` strings."""
    kinds = Counter(str(s.kind) for s in analysis.skips)
    skip_text = str(len(analysis.skips))
    if kinds:
        skip_text += " (" + ", ".join(f"{n} {k}" for k, n in kinds.items()) + ")"
    layers = [ly for ly in analysis.layers if str(ly.kind) not in ("input", "output")]
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


def _op_ids(analysis: Analysis, model: onnx.ModelProto) -> list[str | None]:
    """The core's op id of each node of ``model`` (found through the tensor it produces)."""
    tensors = analysis.graph.tensors
    out: list[str | None] = []
    for node in model.graph.node:
        nid = None
        for t in node.output:
            info = tensors.get(t) if t else None
            if info is not None and info.producer is not None:
                nid = info.producer
                break
        out.append(nid)
    return out


def _fill_value_info(analysis: Analysis, model: onnx.ModelProto) -> None:
    """Give every intermediate tensor of the main graph a value_info with its shape."""
    g = model.graph
    known = {vi.name for vi in g.value_info if vi.type.HasField("tensor_type") and vi.type.tensor_type.HasField("shape")}
    outputs = {o.name for o in g.output}
    by_name = {vi.name: vi for vi in g.value_info}
    for node in g.node:
        for t in node.output:
            if not t or t in known or t in outputs:
                continue
            info = analysis.graph.tensors.get(t)
            if info is None or info.shape is None or not info.dtype:
                continue
            elem = _elem_type(info.dtype)
            if elem is None:
                continue
            dims = [d if isinstance(d, int) else (str(d) if d is not None else None) for d in info.shape]
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


def netron_model(analysis: Analysis) -> onnx.ModelProto:
    """The annotated copy of ``analysis.model`` (see the module docstring)."""
    model = onnx.ModelProto()
    model.CopyFrom(analysis.model)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # noqa: BLE001 - best effort; the core's shapes fill the gaps
        pass
    _fill_value_info(analysis, model)

    ids = _op_ids(analysis, model)
    layer_of_op = {op: layer for layer in analysis.layers for op in layer.ops}
    skips = skip_roles(analysis)
    blocks = block_roles(analysis)

    names: Counter[str] = Counter()
    for node, nid in zip(model.graph.node, ids, strict=True):
        layer = layer_of_op.get(nid) if nid is not None else None
        segs, _ = md.node_namespace(node)
        if layer is not None and layer.path:
            base = "/".join(layer.path)
        elif segs:
            base = "/".join(segs)
        else:
            base = ""
        stem = f"{base}/{node.op_type}" if base else (node.name or node.op_type)
        names[stem] += 1
        node.name = stem if names[stem] == 1 else f"{stem}_{names[stem] - 1}"

        words = [f"{node.op_type} of " + (f"layer {layer.name} ({layer.type})" if layer is not None else "the model")]
        if layer is not None:
            md.set_prop(node.metadata_props, LAYER, layer.name)
            md.set_prop(node.metadata_props, LAYER_TYPE, layer.type)
            roles = skips.get(layer.name, [])
            if roles:
                text = "; ".join(r.words() for r in roles)
                md.set_prop(node.metadata_props, SKIP, text)
                words.append(text)
            member = blocks.get(layer.name, [])
            if member:
                text = "; ".join(member)
                md.set_prop(node.metadata_props, BLOCK, text)
                words.append("repetition " + text)
        node.doc_string = ". ".join(w[0].upper() + w[1:] for w in words) + "."
    # names must stay unique even where a stem collides with a suffixed one
    _uniquify(model.graph.node)

    facts = summary(analysis)
    for key, value in facts.items():
        md.set_prop(model.metadata_props, f"{SUMMARY}.{key}", value)
    doc = (
        f"{facts['framework']} model via {facts['converter'] or 'onnx'}: {facts['layers']} layers, "
        f"{int(facts['params']):,} parameters, {facts['ops']} ONNX ops; skip connections: {facts['skips']}; "
        f"repeated blocks: {facts['blocks']}. Annotated by modelmap."
    )
    model.doc_string = doc
    return model


def _uniquify(nodes: Any) -> None:
    seen: set[str] = set()
    for node in nodes:
        name, k = node.name, 1
        while name in seen:
            name = f"{node.name}__{k}"
            k += 1
        node.name = name
        seen.add(name)


def generate_onnx(analysis: Analysis, options: DrawOptions | None = None) -> bytes:
    """The Netron-ready model, serialised."""
    try:
        return netron_model(analysis).SerializeToString()
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
        for key in (LAYER, LAYER_TYPE, SKIP, BLOCK):
            if key in props:
                metadata.append({"kind": "node", "target": node.name, "name": key.split(".", 1)[1], "value": props[key]})
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
    model = netron_model(analysis)
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
