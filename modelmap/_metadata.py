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
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ._errors import ModelLoadError

NAMESPACE = "namespace"
CLASS_HIERARCHY = "class_hierarchy"
FRAMEWORK = "modelmap.framework"
CONVERTER = "modelmap.converter"
LAYERS = "modelmap.layers"

SEP = "/"
#: The deepest module path read (real models nest a few dozen levels; the module tree's
#: size grows with the square of the depth).
MAX_DEPTH = 1024


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
    if len(segs) > MAX_DEPTH:
        raise ModelLoadError(
            f"node {node.name[:80]!r} sits {len(segs):,} modules deep (its {NAMESPACE!r} metadata); "
            f"modelmap reads module trees at most {MAX_DEPTH:,} levels deep"
        )
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
    """The framework's layer table, or None when the model carries none.

    The table is outside data (any ONNX file can carry it), so it is checked against
    :class:`LayerRecord`'s fields before use: a ModelLoadError says what is wrong.
    """
    raw = _get(model.metadata_props, LAYERS)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise _bad_layers(f"not JSON ({type(e).__name__})") from None
    if not isinstance(data, list):
        raise _bad_layers(f"a JSON {type(data).__name__}, not a list of layer records")
    return [_layer_record(i, d) for i, d in enumerate(data)]


_RECORD_FIELDS = {f.name for f in fields(LayerRecord)}
_MAX_INT = 2**63 - 1


def _bad_layers(what: str) -> ModelLoadError:
    return ModelLoadError(f"the model's {LAYERS} metadata is {what}; remove it or re-convert the model")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _MAX_INT


def _layer_record(i: int, d: Any) -> LayerRecord:
    """Record ``i`` of the layer table, checked field by field.

    >>> _layer_record(0, {"name": "c", "namespace": "c", "cls": "Conv2d", "output_shape": [None, 4]}).output_shape
    (None, 4)
    >>> _layer_record(3, {"name": "c", "namespace": "c", "cls": "Conv2d", "params": -1})
    Traceback (most recent call last):
    ...
    modelmap._errors.ModelLoadError: the model's modelmap.layers metadata is invalid at record 3: params must be a non-negative integer; remove it or re-convert the model
    """
    def bad(what: str) -> ModelLoadError:
        return _bad_layers(f"invalid at record {i}: {what}")

    if not isinstance(d, dict):
        raise bad(f"a JSON {type(d).__name__}, not an object")
    unknown = sorted(set(d) - _RECORD_FIELDS)
    if unknown:
        raise bad(f"unknown field {unknown[0][:40]!r}")
    for key in ("name", "namespace", "cls"):
        if not isinstance(d.get(key), str):
            raise bad(f"{key} must be a string")
    if not _is_int(d.get("params", 0)):
        raise bad("params must be a non-negative integer")
    inbound = d.get("inbound", [])
    if not isinstance(inbound, list) or not all(isinstance(x, str) for x in inbound):
        raise bad("inbound must be a list of layer names")
    if not isinstance(d.get("leaf", True), bool):
        raise bad("leaf must be true or false")
    shape = d.get("output_shape")
    if shape is not None and (not isinstance(shape, list) or not all(x is None or _is_int(x) for x in shape)):
        raise bad("output_shape must be a list of non-negative integers and nulls")
    return LayerRecord(**{**d, "inbound": tuple(inbound), "output_shape": None if shape is None else tuple(shape)})
