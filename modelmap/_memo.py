"""How the API uses the cache (:mod:`modelmap._cache`): conversions and drawings, remembered.

Two kinds of entry, both keyed by :func:`modelmap._fingerprint.model_key`:

- a **conversion**: the annotated ONNX model. For the commands that only need structure
  (drawings, tables, ``analyze`` on the command line, comparisons) its float weights are
  left out -- dimensions and types kept -- so the entry is small, its key needs no weight
  values, and shape inference skips the weights (same analysis, a tenth of the time). The
  commands that read weights (``convert``, ``weights``, ``tensorboard``, Netron ``.onnx``,
  :func:`modelmap.analyze`, whose Analysis a caller may hand to them) keep every weight
  and key on their values.
- a **drawing**: the bytes an exporter generated, keyed on the model, the format, every
  drawing option and (for rendered formats) the Graphviz program, with the warnings it
  raised, which a hit raises again. A hit needs neither the conversion nor the analysis.

A reference that cannot be keyed (an ``Analysis``, an ``ExportedProgram``, an unknown
object in the example input) is converted as before, without the cache.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from ._cache import Cache, default_cache

#: Float tensor types (onnx.TensorProto): FLOAT, DOUBLE, FLOAT16, BFLOAT16, the float8s
_FLOAT_TYPES = {1, 10, 11, 16, 17, 18, 19, 20}
#: Float initializers with at most this many elements keep their values (scales, epsilons)
_KEEP_ELEMENTS = 64
_RENDERED = {"svg", "pdf", "png"}


def the_cache(enabled: bool) -> Cache | None:
    return default_cache() if enabled else None


def converted(model: Any, example_input: Any, options: Any, *, weights: bool, cache: bool) -> Any:
    """The annotated ONNX model of ``model`` (a factory reference is called first).

    ``weights=False`` leaves float weights out (see the module docstring), cached or not,
    so a hit and a miss give the same model.
    """
    from modelmap.converters import convert, resolve

    model, example_input = resolve(model, example_input, options)
    store = the_cache(cache)
    k = _conversion_key(model, example_input, options, weights) if store else None
    if store is not None and k is not None:
        hit = store.get(k)
        if hit is not None:
            _report("conversion", True, options)
            return _parse(hit[1])
    proto = convert(model, example_input, options)
    if not weights:
        strip_float_weights(proto)
    if store is not None and k is not None:
        _report("conversion", False, options)
        store.put(k, proto.SerializeToString(), {"what": "conversion"})
    return proto


def _conversion_key(model: Any, example_input: Any, options: Any, weights: bool) -> str | None:
    from ._fingerprint import key, model_key

    mk = model_key(model, example_input, options, weights=weights)
    return None if mk is None else key("conversion", mk)


def drawing(
    model: Any, example_input: Any, options: Any, output: tuple[str, Any], draw_options: Any, cache: bool,
    analyse: Any,
) -> str | bytes:
    """What the exporter generates for ``model`` with ``draw_options``, from the cache if there.

    ``output`` is ``(command, exporter)``: the command tells apart two exporters of one
    name (``markdown`` draws Mermaid, or writes a table). ``options`` is a
    ``ConvertOptions`` (or anything with its fields); ``analyse(model,
    example_input)`` gives the Analysis on a miss. Warnings raised while generating are
    raised again on a hit. A hit imports no converter (nor onnx) unless ``model`` is a
    factory reference, which must be called first.
    """
    from ._fingerprint import key, model_key, renderer_stamp

    command, exporter = output
    if isinstance(model, str):
        from modelmap.converters import resolve

        model, example_input = resolve(model, example_input, options)
    store = the_cache(cache)
    mk = model_key(model, example_input, options, weights=False) if store else None
    if store is None or mk is None:
        return exporter.generate(analyse(model, example_input), draw_options)
    renderer = renderer_stamp() if exporter.name in _RENDERED else ()
    k = key("drawing", command, mk, exporter.name, type(exporter).__qualname__, repr(draw_options), renderer)
    hit = store.get(k)
    if hit is not None:
        _report(f"{exporter.name} drawing", True, options)
        meta, data = hit
        for message in meta.get("warnings", []):
            warnings.warn(message, _drawing_warning(), stacklevel=3)
        return data.decode("utf-8") if meta.get("text") else data
    _report(f"{exporter.name} drawing", False, options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        content = exporter.generate(analyse(model, example_input), draw_options)
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    drawn = [str(w.message) for w in caught if issubclass(w.category, _drawing_warning())]
    text = isinstance(content, str)
    store.put(k, content.encode("utf-8") if text else content, {"what": "drawing", "text": text, "warnings": drawn})
    return content


def _drawing_warning() -> type[Warning]:
    from modelmap.exporters import DrawingWarning

    return DrawingWarning


def _report(what: str, hit: bool, options: Any) -> None:
    """A progress line (as the converters' ``progress``), without importing the converters."""
    if options.verbose or sys.stderr.isatty():
        print(f"modelmap: cache {'hit' if hit else 'miss'}: {what}", file=sys.stderr, flush=True)


def _parse(data: bytes) -> Any:
    import onnx

    proto = onnx.ModelProto()
    proto.ParseFromString(data)
    return proto


def strip_float_weights(proto: Any) -> None:
    """Drop the values of float initializers with more than a few elements, in place.

    Dimensions and types stay, so shapes, parameter counts and sizes are unchanged.
    """
    for t in proto.graph.initializer:
        drop_float_values(t)


def drop_float_values(tensor: Any) -> bool:
    """Clear a ``TensorProto``'s values if it is a float tensor of more than a few elements
    (the structure-only rule, also applied inside the Keras front end); True if it did."""
    if tensor.data_type not in _FLOAT_TYPES or _elements(tensor.dims) <= _KEEP_ELEMENTS:
        return False
    for f in ("raw_data", "float_data", "double_data", "int32_data"):
        tensor.ClearField(f)
    return True


def _elements(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


__all__ = ["converted", "drawing", "drop_float_values", "strip_float_weights"]
