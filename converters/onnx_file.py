"""ONNX models: ``onnx.ModelProto`` objects and ``.onnx`` files (external data too).

ONNX files carry whatever hierarchy their producer left: modelmap's own
``namespace`` metadata is kept; the torch dynamo exporter's ``pkg.torch.onnx.name_scopes``
are parsed by :mod:`._torch_scopes`, as the PyTorch converter does (no torch needed); otherwise ``/``-paths in node
names (the TorchScript exporter's ``/layer1/layer1.0/conv1/Conv``) become the
namespace; otherwise the graph stays op level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx

from modelmap import _metadata as md
from modelmap._errors import ModelLoadError, ModelNotFoundError

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
    """Load an ONNX file with its external data, or raise one clear error."""
    if not path.exists():
        raise ModelNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise ModelLoadError(f"{path} is a folder, not an ONNX file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # protobuf raises DecodeError and friends
        raise ModelLoadError(f"{path} is not a valid ONNX file ({type(e).__name__}: {e})".rstrip()) from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.input):
        raise ModelLoadError(f"{path} is not a valid ONNX file (it holds no graph)")
    try:
        onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
    except (OSError, ValueError, onnx.checker.ValidationError) as e:
        raise ModelLoadError(f"{path}: cannot read its external data ({e})") from None
    return model


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
