"""The library's entry points; the CLI calls these too."""

from __future__ import annotations

import os
from typing import Any

from ._errors import InputError


def to_onnx(
    model: Any,
    path: str | os.PathLike[str] | None = None,
    example_input: Any = None,
    *,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    opset: int | None = None,
    verbose: bool = False,
    weights: bool = True,
    cache: bool = True,
) -> Any:
    """Convert ``model`` to an annotated ``onnx.ModelProto``; write it to ``path`` if given.

    The file is written atomically and is self-contained (no external data), so a
    failure leaves no file behind. ``weights=False`` leaves the weights' values out
    (structure only: names, types and shapes; not runnable), which a model on
    PyTorch's meta device needs. ``cache=False`` neither reads nor writes the cache
    (see :mod:`modelmap._cache`).
    """
    from modelmap.converters import ConvertOptions

    from ._memo import converted

    options = ConvertOptions(input_shape=input_shape, opset=opset, verbose=verbose, weights=weights)
    onnx_model = converted(model, example_input, options, weights=weights, cache=cache)
    if path is not None:
        save_onnx(onnx_model, path)
    return onnx_model


def save_onnx(onnx_model: Any, path: str | os.PathLike[str]) -> None:
    """Serialise to one file, atomically."""
    from ._io import atomic_write

    try:
        data = onnx_model.SerializeToString()
    except ValueError as e:  # protobuf's 2 GB limit
        raise InputError(f"cannot write {path}: {e}") from None
    atomic_write(path, data)


def analyze(
    model: Any,
    example_input: Any = None,
    *,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    depth: int | None = None,
    verbose: bool = False,
    weights: bool = False,
    cache: bool = True,
) -> Any:
    """Convert ``model`` (anything :func:`to_onnx` accepts, an ``onnx.ModelProto`` too) and
    analyse it: layers, module tree, skip connections, repeated blocks, parameters.

    The analysis needs parameter shapes, not values: with ``weights=False`` (the
    default) the converter leaves the values out, which is faster and lets models on
    PyTorch's meta device be analysed. ``weights=True`` keeps them, for
    :func:`weight_stats`, :func:`write_tensorboard` or an ``.onnx`` drawing of the result.

    ``depth`` is the depth the returned :class:`~modelmap.core.Analysis` shows by default
    (its ``depth``): ``to_dict()``, ``summary()`` and drawings without a depth of their own
    collapse modules deeper than ``depth``. The conversion is cached (``cache=False``: not).

    >>> a = mm.analyze(model, example_input)   # doctest: +SKIP
    >>> [s.kind for s in a.skips], a.params    # doctest: +SKIP
    """
    from modelmap.core import analyze_onnx

    if depth is not None and depth < 1:
        raise InputError(f"depth must be at least 1, not {depth}")
    converted = to_onnx(model, None, example_input, input_shape=input_shape, verbose=verbose, weights=weights, cache=cache)
    return analyze_onnx(converted, depth=depth)


def analyze_structure(
    model: Any, example_input: Any = None, *, input_shape: Any = None, depth: int | None = None,
    verbose: bool = False, cache: bool = True,
) -> Any:
    """:func:`analyze` for callers that read no weight values (drawings, tables, comparisons,
    the ``analyze`` command): the model's float weights are left out, and the cache keys on
    structure alone (see :mod:`modelmap._memo`)."""
    from modelmap.converters import ConvertOptions
    from modelmap.core import Analysis, analyze_onnx

    from ._memo import converted

    if isinstance(model, Analysis):
        return model
    if depth is not None and depth < 1:
        raise InputError(f"depth must be at least 1, not {depth}")
    options = ConvertOptions(input_shape=input_shape, verbose=verbose, weights=False)
    return analyze_onnx(converted(model, example_input, options, weights=False, cache=cache), depth=depth)


def draw(
    model: Any,
    path: str | os.PathLike[str],
    example_input: Any = None,
    *,
    options: Any = None,
    format: str | None = None,  # noqa: A002 - the CLI's --format
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    verbose: bool = False,
    cache: bool = True,
    **drawing: Any,
) -> list[Any]:
    """Draw ``model`` to ``path``; the format comes from ``format`` or the extension.

    ``model`` is an :class:`~modelmap.core.Analysis` or anything :func:`to_onnx`
    accepts. Drawing options come as a :class:`~modelmap.DrawOptions` (``options=``)
    and/or keywords (``depth=2, style="paper"``), keywords winning. The file is
    written atomically; returns the paths written. Drawing the same model with the same
    options again comes from the cache (``cache=False``: not), without converting it.

    >>> mm.draw(analysis, "resnet.svg", depth=2)   # doctest: +SKIP
    """
    from modelmap.exporters import DrawOptions, exporter_for

    opts = DrawOptions.from_kwargs(options, **drawing)
    exporter = exporter_for(path, format)  # a bad name fails before any conversion
    content = _cached_drawing("draw", model, example_input, input_shape, verbose, cache, exporter, opts)
    if content is None:
        weights = exporter.name not in _STRUCTURE_FORMATS
        return exporter.write(_analysis_of(model, example_input, input_shape, verbose, cache, weights), path, opts)
    from ._io import atomic_write

    return [atomic_write(path, content)]


#: Formats whose content depends on the model's structure only, never on weight values
_STRUCTURE_FORMATS = frozenset({"dot", "svg", "pdf", "png", "mermaid", "markdown", "json", "html", "latex", "csv"})


def _cached_drawing(
    command: str, model: Any, example_input: Any, input_shape: Any, verbose: bool, cache: bool, exporter: Any,
    opts: Any,
) -> str | bytes | None:
    """The exporter's content through the drawing cache (:mod:`modelmap._memo`), or None
    for an Analysis, a format that reads weights, or an exporter with its own writer.

    ``command`` (``draw``, ``table``) tells apart exporters of one name in two registries."""
    from modelmap.exporters import Exporter

    if _is_analysis(model) or exporter.name not in _STRUCTURE_FORMATS or type(exporter).write is not Exporter.write:
        return None
    from types import SimpleNamespace

    from ._memo import drawing

    def analyse(m: Any, x: Any) -> Any:
        return analyze_structure(m, x, input_shape=input_shape, verbose=verbose, cache=cache)

    # the converters' options, without importing the converters (a hit needs none of them)
    options = SimpleNamespace(input_shape=input_shape, opset=None, verbose=verbose)
    return drawing(model, example_input, options, (command, exporter), opts, cache, analyse)


def _is_analysis(model: Any) -> bool:
    """``isinstance(model, Analysis)`` without importing the core (networkx) when no
    Analysis can exist yet: a cache hit needs none of it."""
    import sys

    module = sys.modules.get("modelmap.core.analysis")
    return module is not None and isinstance(model, module.Analysis)


def table(
    model: Any,
    path: str | os.PathLike[str] | None = None,
    example_input: Any = None,
    *,
    depth: int | None = None,
    fold: bool = True,
    format: str | None = None,  # noqa: A002 - the CLI's --format
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> str:
    """The architecture table of ``model`` (LaTeX, Markdown or CSV); written to ``path`` if given.

    The format comes from ``format`` (``latex``, ``markdown``, ``csv``) or ``path``'s
    extension (``.tex``, ``.md``, ``.csv``). One row per module down to ``depth``
    (default: the deepest with at most 40 rows), repeated blocks as one row "x N",
    output shape, parameters and MACs per row, totals last. Returns the text.

    >>> print(mm.table(model, depth=1, format="markdown"))   # doctest: +SKIP
    """
    from modelmap.exporters import DrawOptions
    from modelmap.exporters.table import table_format

    if path is None and format is None:
        raise InputError("table: give a path (.tex, .md, .csv) or a format")
    if depth is not None and depth < 1:
        raise InputError(f"depth must be at least 1, not {depth}")
    exporter = table_format(path, format)  # a bad name fails before any conversion
    opts = DrawOptions(depth=depth, fold=fold)
    content = _cached_drawing("table", model, example_input, input_shape, verbose, cache, exporter, opts)
    if content is None:
        content = exporter.generate(_analysis_of(model, example_input, input_shape, verbose, cache, False), opts)
    text = str(content)
    if path is not None:
        from ._io import atomic_write

        atomic_write(path, text)
    return text


def _analysis_of(
    model: Any, example_input: Any, input_shape: Any, verbose: bool, cache: bool = True, weights: bool = True
) -> Any:
    """``model`` itself if an Analysis; else its analysis, with weight values if ``weights``."""
    from modelmap.core import Analysis
    from modelmap.core.tensors import without_values

    if not isinstance(model, Analysis):
        if not weights:
            return analyze_structure(model, example_input, input_shape=input_shape, verbose=verbose, cache=cache)
        return analyze(model, example_input, input_shape=input_shape, verbose=verbose, weights=True, cache=cache)
    if weights and model.model is not None and without_values(model.model.graph):
        raise InputError(
            "this Analysis holds no weight values (structure only: mm.analyze(..., weights=False), "
            "or a model on the meta device); pass the model itself, or analyze it with weights=True"
        )
    return model


# --------------------------------------------------------------------------- weights, TensorBoard, compare


def weight_stats(
    model: Any,
    example_input: Any = None,
    *,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    near_zero: float = 1e-3,
    bins: int = 30,
    verbose: bool = False,
    cache: bool = True,
) -> Any:
    """Per-layer weight statistics of ``model`` (an Analysis or anything :func:`to_onnx` accepts).

    Returns a frozen :class:`~modelmap.core.weights.WeightStats`: per layer with weights,
    each tensor's mean, std, min, max, fraction with ``|w| <= near_zero`` and histogram.

    >>> ws = mm.weight_stats(model, example_input)            # doctest: +SKIP
    >>> [(l.layer, l.near_zero) for l in ws.layers]           # doctest: +SKIP
    """
    from modelmap.core.weights import WeightOptions
    from modelmap.core.weights import weight_stats as _stats

    options = WeightOptions(near_zero=near_zero, bins=bins)
    return _stats(_analysis_of(model, example_input, input_shape, verbose, cache, weights=True), options)


def write_weights(
    model: Any,
    directory: str | os.PathLike[str],
    example_input: Any = None,
    *,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    near_zero: float = 1e-3,
    max_tiles: int = 256,
    title: str | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> Any:
    """Write the weights report folder (``index.html``, PNGs, ``weights.json``); returns a Report.

    The folder appears complete or not at all; an existing folder is replaced only if it
    is empty or an earlier report.
    """
    from modelmap.core.weights import WeightOptions
    from modelmap.exporters.weights_report import ReportOptions, write_weights_report
    from modelmap.exporters.weights_report import check_target

    check_target(directory)  # before a slow conversion
    options = ReportOptions(weights=WeightOptions(near_zero=near_zero), max_tiles=max_tiles, title=title)
    return write_weights_report(_analysis_of(model, example_input, input_shape, verbose, cache, weights=True), directory, options)


def write_tensorboard(
    model: Any,
    logdir: str | os.PathLike[str],
    example_input: Any = None,
    *,
    step: int = 0,
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> Any:
    """Append the layer graph and one histogram per weight tensor to the TensorBoard run ``logdir``.

    Calls with different ``step`` values on the same ``logdir`` give histograms over steps.
    Returns a :class:`~modelmap.exporters.tensorboard.TensorBoardRun`.
    """
    from modelmap.exporters.tensorboard import TensorBoardOptions, check_logdir
    from modelmap.exporters.tensorboard import write_tensorboard as _write

    options = TensorBoardOptions(step=step)
    check_logdir(logdir)
    return _write(_analysis_of(model, example_input, input_shape, verbose, cache, weights=True), logdir, options)


def compare(
    a: Any,
    b: Any,
    *,
    example_inputs: tuple[Any, Any] = (None, None),
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    verbose: bool = False,
    cache: bool = True,
) -> Any:
    """Compare the architectures of two models (Analyses or anything :func:`to_onnx` accepts).

    Returns a :class:`~modelmap.core.compare.Comparison`: ``same``, and otherwise the
    layers added, removed or changed from ``a`` to ``b`` and the skip connections only
    one of them has. Layer names and the source framework are ignored (the
    normalisations are listed in :mod:`modelmap.core.compare`).

    >>> mm.compare(keras_resnet, torch_resnet).same          # doctest: +SKIP
    True
    """
    from modelmap.core.compare import compare as _compare

    analysis_a = _analysis_of(a, example_inputs[0], input_shape, verbose, cache, False)
    analysis_b = _analysis_of(b, example_inputs[1], input_shape, verbose, cache, False)
    return _compare(analysis_a, analysis_b)


def draw_diff(
    a: Any,
    b: Any,
    path: str | os.PathLike[str],
    *,
    options: Any = None,
    format: str | None = None,  # noqa: A002 - the CLI's --format
    input_shape: tuple[tuple[int, ...], ...] | None = None,
    verbose: bool = False,
    cache: bool = True,
    **drawing: Any,
) -> list[Any]:
    """Draw ``b`` with the layers it adds (green) or changes (orange) relative to ``a``.

    Formats: .dot, .svg, .png, .pdf. Returns the paths written.
    """
    from modelmap.core.compare import compare as _compare
    from modelmap.exporters import DrawOptions
    from modelmap.exporters.diff import diff_format, write_diff

    opts = DrawOptions.from_kwargs(options, **drawing)
    fmt = diff_format(path, format)  # a bad name fails before any conversion
    analysis_a = _analysis_of(a, None, input_shape, verbose, cache, False)
    analysis_b = _analysis_of(b, None, input_shape, verbose, cache, False)
    return write_diff(analysis_b, _compare(analysis_a, analysis_b), path, opts, fmt)
