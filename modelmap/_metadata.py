"""The annotation contract between converters and the core.

Every converter returns an ``onnx.ModelProto`` annotated as follows; the core reads
nothing else from the framework. Keys live here, in one place.

Node ``metadata_props``:

``namespace``
    The ``/``-path of the user's layer this op came from, one segment per level of
    the module tree, each segment being the name the user sees for that level:
    PyTorch qualified module names (``layer1/layer1.0/layer1.0.conv1``), Keras layer
    names (``conv2d_3``, or ``encoder/dense`` for a nested model). The last segment
    is the layer's display name. Empty for ops that belong to the model itself.
``class_hierarchy``
    The framework class of each namespace level, ``/``-joined, aligned with
    ``namespace`` (``Sequential/BasicBlock/Conv2d``).

Model ``metadata_props``:

``modelmap.framework``   ``pytorch``, ``keras`` or ``onnx``.
``modelmap.converter``   how the ONNX came to be (``torch.onnx dynamo``, ``tf2onnx``, ...).
``modelmap.layers``      JSON list of the framework's own layer records (:class:`LayerRecord`),
                         the truth for names, classes, parameter counts and, for Keras, wiring;
                         it lists layers that left no op in the ONNX graph (Dropout) too.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

NAMESPACE = "namespace"
CLASS_HIERARCHY = "class_hierarchy"
FRAMEWORK = "modelmap.framework"
CONVERTER = "modelmap.converter"
LAYERS = "modelmap.layers"

SEP = "/"


@dataclass(frozen=True)
class LayerRecord:
    """One layer as the framework reports it.

    ``params`` counts the layer's own weights (not its children's) the way the
    framework does: ``p.numel()`` over ``parameters(recurse=False)`` for PyTorch
    (buffers excluded), ``count_params()`` of a leaf layer for Keras (non-trainable
    weights included). ``inbound`` names the layers feeding it (Keras wiring).
    """

    name: str
    namespace: str
    cls: str
    params: int = 0
    inbound: tuple[str, ...] = field(default_factory=tuple)
    leaf: bool = True
    output_shape: tuple[int | None, ...] | None = None


def clean_segment(name: str) -> str:
    """A namespace segment may not contain the separator."""
    return str(name).replace(SEP, "_")


def set_prop(props: Any, key: str, value: str) -> None:
    """Set ``key`` to ``value`` in a ``metadata_props`` list (of a node or a model), added if absent."""
    for p in props:
        if p.key == key:
            p.value = value
            return
    p = props.add()
    p.key = key
    p.value = value


def _get(props: Any, key: str) -> str | None:
    for p in props:
        if p.key == key:
            return p.value
    return None


def annotate_node(node: Any, namespace: list[str] | tuple[str, ...], classes: list[str] | tuple[str, ...]) -> None:
    """Set a node's ``namespace`` and ``class_hierarchy`` (same length)."""
    if len(namespace) != len(classes):
        raise ValueError("namespace and class hierarchy must have the same length")
    set_prop(node.metadata_props, NAMESPACE, SEP.join(clean_segment(s) for s in namespace))
    set_prop(node.metadata_props, CLASS_HIERARCHY, SEP.join(clean_segment(c) for c in classes))


def node_namespace(node: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(namespace segments, class segments) of a node; empty tuples when absent."""
    ns = _get(node.metadata_props, NAMESPACE)
    if not ns:
        return (), ()
    segs = tuple(ns.split(SEP))
    cls = _get(node.metadata_props, CLASS_HIERARCHY)
    classes = tuple(cls.split(SEP)) if cls else ()
    if len(classes) != len(segs):
        classes = ("",) * len(segs)
    return segs, classes


def set_model_info(model: Any, framework: str, converter: str, layers: list[LayerRecord] | None) -> None:
    """Record the framework, the conversion route and the framework's layer table."""
    set_prop(model.metadata_props, FRAMEWORK, framework)
    set_prop(model.metadata_props, CONVERTER, converter)
    if layers is not None:
        set_prop(model.metadata_props, LAYERS, json.dumps([asdict(r) for r in layers]))


def model_framework(model: Any) -> str:
    return _get(model.metadata_props, FRAMEWORK) or "onnx"


def model_converter(model: Any) -> str:
    return _get(model.metadata_props, CONVERTER) or ""


def model_layers(model: Any) -> list[LayerRecord] | None:
    raw = _get(model.metadata_props, LAYERS)
    if not raw:
        return None
    out = []
    for d in json.loads(raw):
        d["inbound"] = tuple(d.get("inbound", ()))
        if d.get("output_shape") is not None:
            d["output_shape"] = tuple(d["output_shape"])
        out.append(LayerRecord(**d))
    return out
