"""ONNX models: ``onnx.ModelProto`` objects and ``.onnx`` files (external data too).

ONNX files carry whatever hierarchy their producer left: modelmap's own
``namespace`` metadata is kept; the torch dynamo exporter's ``pkg.torch.onnx.name_scopes``
are parsed by :mod:`._torch_scopes`, as the PyTorch converter does (no torch needed); otherwise ``/``-paths in node
names (the TorchScript exporter's ``/layer1/layer1.0/conv1/Conv``) become the
namespace; otherwise the graph stays op level.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnx

from modelmap import _metadata as md
from modelmap._errors import ModelLoadError
from modelmap._limits import ONNX_BYTES, regular_file, size_text
from modelmap.core.validate import check_text

from ._base import ConvertOptions, path_of
from ._torch_scopes import SCOPES_KEY, annotate_from_scopes


def namespace_from_node_names(model: onnx.ModelProto) -> None:
    """Give nodes without ``namespace`` one derived from a ``/a/b/Op`` style name."""
    for node in model.graph.node:
        if md.node_namespace(node)[0]:
            continue
        parts = [p for p in node.name.split("/") if p]
        if node.name.startswith("/") and len(parts) >= 2:
            segs = parts[:-1]
            md.annotate_node(node, segs, [""] * len(segs))


def load_onnx(path: Path) -> onnx.ModelProto:
    """Load an ONNX file with its external data, or raise one clear error.

    Only a regular file is read (:func:`modelmap._limits.regular_file`), and external data
    only from regular files inside the model's folder (:func:`check_external_data`).
    """
    size = regular_file(path, "ONNX file")
    if size > ONNX_BYTES:
        raise ModelLoadError(f"{path} is {size_text(size)}; an ONNX file holds at most 2 GiB (larger models keep "
                             "their weights in external data)")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError and friends
        raise ModelLoadError(f"{path} is not a valid ONNX file ({type(e).__name__}: {e})".rstrip()) from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.input):
        raise ModelLoadError(f"{path} is not a valid ONNX file (it holds no graph)")
    check_text(model)
    if check_external_data(model, path):
        try:
            onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
        except (OSError, ValueError, RuntimeError, onnx.checker.ValidationError) as e:
            raise ModelLoadError(f"{path}: cannot read its external data ({type(e).__name__}: {e})") from None
    return model


def external_tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every tensor of ``model`` stored outside the file: initializers and tensor attributes,
    in subgraphs and functions too (walked with a stack, not recursion)."""
    graphs: list[onnx.GraphProto] = [model.graph]
    nodes: list[onnx.NodeProto] = [n for f in model.functions for n in f.node]
    while graphs or nodes:
        tensors: list[onnx.TensorProto] = []
        if graphs:
            g = graphs.pop()
            tensors += [*g.initializer, *(s.values for s in g.sparse_initializer)]
            nodes += g.node
        else:
            for a in nodes.pop().attribute:
                tensors += [*([a.t] if a.HasField("t") else []), *a.tensors]
                graphs += [*([a.g] if a.HasField("g") else []), *a.graphs]
        yield from (t for t in tensors if t.data_location == onnx.TensorProto.EXTERNAL)


def check_external_data(model: onnx.ModelProto, path: Path) -> bool:
    """Check where every external tensor points; True when there is any.

    A location must be a relative path to a regular file inside the model's folder (after
    symlinks), and offset and length must lie within that file, so that loading reads
    nothing else and no more than the file holds.
    """
    folder = path.parent.resolve()
    found = False
    for t in external_tensors(model):
        found = True
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")

        def bad(what: str) -> ModelLoadError:
            shown = loc if len(loc) <= 60 else loc[:57] + "..."
            return ModelLoadError(f"{path}: tensor {t.name[:80]!r} has external data at {shown!r}, {what}")

        if not loc or "\0" in loc or len(loc) > 4096 or any(len(p) > 255 for p in loc.split("/")):
            raise bad("which is not a usable file name")
        rel = Path(loc)
        if rel.is_absolute() or ".." in rel.parts:
            raise bad("outside the model's folder (external data must sit beside the model)")
        target = (folder / rel).resolve()
        if not target.is_relative_to(folder):
            raise bad("a link that leads outside the model's folder")
        size = regular_file(target, "external data file")
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", size - int(info.get("offset", 0))))
        except ValueError:
            raise bad("with an offset or length that is not a number") from None
        if offset < 0 or length < 0 or offset + length > size:
            raise bad(f"beyond the end of that {size}-byte file (offset {offset}, length {length})")
    return found


class OnnxConverter:
    name = "onnx"
    extensions = (".onnx",)

    def match(self, ref: Any) -> bool:
        if isinstance(ref, onnx.ModelProto):
            return True
        p = path_of(ref)
        return p is not None and p.suffix.lower() in self.extensions

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> onnx.ModelProto:
        if isinstance(ref, onnx.ModelProto):
            model = onnx.ModelProto()
            model.CopyFrom(ref)
            check_text(model)
        else:
            model = load_onnx(Path(ref))
        if options.input_shape:  # symbolic input dims take the example input's sizes
            from modelmap.core.costs import fix_input_dims

            fix_input_dims(model, options.input_shape)
        if md.model_framework(model) == "onnx" and any(
            p.key == SCOPES_KEY for n in model.graph.node for p in n.metadata_props
        ):
            annotate_from_scopes(model)
        namespace_from_node_names(model)
        if md.model_framework(model) == "onnx" or not md.model_converter(model):
            md.set_model_info(model, md.model_framework(model), md.model_converter(model) or "onnx file", md.model_layers(model))
        return model
