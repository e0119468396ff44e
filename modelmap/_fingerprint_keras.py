"""The cache key of a Keras model (see :mod:`modelmap._fingerprint`); Keras comes with the model."""

from __future__ import annotations

from typing import Any

from ._fingerprint import Hasher, add_attribute, add_classes


def add_keras_model(h: Hasher, model: Any, weights: bool) -> None:
    """Feed a Keras model's architecture, weight shapes, custom code and (with ``weights``)
    float weight values to ``h``.

    The architecture is ``to_json()`` when the model has a config (functional and
    Sequential models, registered subclasses); otherwise every layer's class, name,
    config (when it has one) and plain attributes.
    """
    layers = list(_all_layers(model))
    try:
        h.add("keras-json", model.to_json())
    except Exception:  # noqa: BLE001 - subclassed models without get_config raise anything
        seen: dict[int, str] = {}
        for layer in layers:
            h.add("layer", layer.name, type(layer).__module__, type(layer).__qualname__)
            try:
                h.add(repr(sorted(layer.get_config().items(), key=repr)))
            except Exception:  # noqa: BLE001
                pass
            for attr, value in sorted(vars(layer).items()):
                if not attr.startswith("_"):
                    add_attribute(h, attr, value, seen)
    h.add("built", bool(getattr(model, "built", False)))
    for name in ("inputs", "outputs"):
        try:
            tensors = getattr(model, name, None) or []
        except (AttributeError, ValueError):  # a subclassed model that was never called
            tensors = []
        h.add(name, [(tuple(t.shape), str(t.dtype)) for t in tensors])
    for v in model.weights:
        dtype = str(v.dtype)
        h.add("weight", v.path, tuple(v.shape), dtype, bool(v.trainable))
        if weights or not dtype.startswith(("float", "bfloat", "complex")):
            h.add(memoryview(v.numpy()).cast("B"))
    add_classes(h, {type(layer) for layer in layers})


def _all_layers(model: Any) -> Any:
    """The model and every layer inside it, depth first."""
    flatten = getattr(model, "_flatten_layers", None)
    if flatten is not None:
        yield from flatten(include_self=True, recursive=True)
    else:
        yield model
        yield from getattr(model, "layers", [])
