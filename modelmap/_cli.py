"""The ``modelmap`` command line (click).

Every command turns modelmap's own errors into one line on stderr and exit code 2;
anything else is an internal error, exit code 1. ``--verbose`` shows tracebacks and
the exporters' own output.
"""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from typing import Any

import click

from . import __version__
from ._errors import InputError, MissingDependencyError, ModelmapError, one_line


def parse_shapes(ctx: Any, param: Any, values: tuple[str, ...]) -> tuple[tuple[int, ...], ...] | None:
    """``("1,3,224,224", "1x10")`` -> ``((1, 3, 224, 224), (1, 10))``; ``;`` separates inputs too."""
    shapes = []
    for value in values:
        for part in value.split(";"):
            part = part.strip()
            if not part:
                continue
            try:
                dims = tuple(int(d) for d in part.replace("x", ",").split(",") if d.strip())
            except ValueError:
                raise click.BadParameter(f"{part!r} is not a shape like 1,3,224,224") from None
            if not dims or any(d <= 0 for d in dims):
                raise click.BadParameter(f"{part!r}: dimensions must be positive integers")
            shapes.append(dims)
    return tuple(shapes) or None


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map exceptions to the exit-code contract: 2 for bad input, 1 for internal errors."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose"))
        try:
            return fn(*args, **kwargs)
        except (InputError, MissingDependencyError) as e:
            if verbose:
                traceback.print_exc()
            click.echo(f"modelmap: error: {one_line(e)}", err=True)
            sys.exit(2)
        except ModelmapError as e:
            if verbose:
                traceback.print_exc()
            click.echo(f"modelmap: error: {one_line(e)}", err=True)
            sys.exit(1)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("modelmap: interrupted", err=True)
            sys.exit(130)
        except Exception as e:
            if verbose:
                traceback.print_exc()
            click.echo(
                f"modelmap: internal error: {type(e).__name__}: {one_line(e)} (run with --verbose for the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper


def isolated(
    model: str, input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool, opset: int | None = None,
    weights: bool = False, cache: bool = True,
) -> Any:
    """``model``, or for a ``file.py:name`` factory the ONNX model it converts to in a child
    process (:func:`~modelmap.converters.factory.convert_in_child`): a factory that exits,
    aborts or prints cannot end this command or mix into its output. ``weights``: the
    command reads the weights' values (else the child converts the structure only)."""
    from pathlib import Path

    from .converters.factory import convert_in_child, is_factory_ref

    if not is_factory_ref(model) or Path(model).exists():
        return model
    from .converters import ConvertOptions

    return convert_in_child(model, ConvertOptions(input_shape=input_shape, opset=opset, verbose=verbose, weights=weights), cache)


verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and the exporters' own output.")
cache_option = click.option(
    "--cache/--no-cache", "cache", default=True, show_default=True,
    help="Reuse and keep conversions and drawings in the cache (MODELMAP_CACHE, MODELMAP_CACHE_SIZE).",
)
input_shape_option = click.option(
    "--input-shape",
    "input_shape",
    multiple=True,
    metavar="SHAPE",
    callback=parse_shapes,
    help="Example input shape, e.g. 1,3,224,224; repeat (or separate with ;) for several inputs.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelmap")
def cli() -> None:
    """modelmap: one annotated graph from any PyTorch, Keras or ONNX model.

    MODEL is a model file (.onnx, .keras, .h5, .pt2, a SavedModel folder) or a
    factory written path/to/file.py:name or package.module:name that returns a
    model or a (model, example_input) pair.
    """


@cli.command()
@click.argument("model")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .onnx file to write.")
@input_shape_option
@click.option("--opset", type=click.IntRange(7, 30), default=None, help="Target ONNX opset.")
@cache_option
@verbose_option
@handle_errors
def convert(
    model: str, output: str, input_shape: tuple[tuple[int, ...], ...] | None, opset: int | None, verbose: bool,
    cache: bool = True,
) -> None:
    """Convert MODEL to one self-contained, annotated ONNX file."""
    from . import _api

    model = isolated(model, input_shape, verbose, opset, weights=True, cache=cache)
    onnx_model = _api.to_onnx(model, output, input_shape=input_shape, opset=opset, verbose=verbose, cache=cache)
    click.echo(f"wrote {output} ({len(onnx_model.graph.node)} ONNX nodes)")


@cli.command()
@click.argument("model")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False),
    help="The file to write: .svg .pdf .png .dot .mmd .md .onnx .json .html (or see --format).",
)
@click.option("--format", "fmt", default=None, metavar="NAME",
              help="Output format when the extension does not say: dot, svg, pdf, png, mermaid, markdown, onnx, json, html.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Collapse modules deeper than N levels.")
@click.option("--fold/--no-fold", default=None, help="Fold repeated blocks into one marked x N [default: fold above 60 layers].")
@click.option("--style", type=click.Choice(["detailed", "paper"]), default="detailed", show_default=True,
              help="paper: compact, grayscale-safe, serif, for a figure.")
@click.option("--direction", type=click.Choice(["TB", "LR"], case_sensitive=False), default="TB", show_default=True)
@click.option("--shapes/--no-shapes", default=True, show_default=True, help="Show output shapes.")
@click.option("--params/--no-params", default=True, show_default=True, help="Show parameter counts.")
@click.option("--legend/--no-legend", default=True, show_default=True, help="Add a legend of the skip kinds drawn.")
@click.option("--title", default=None, help="Diagram caption [default: the model's graph name].")
@click.option("--fit", default=None, metavar="PAGE",
              help="Choose depth and folding so that the figure, scaled to PAGE, keeps every text at 6 pt or more: "
                   "page (7x9 in), column (3.35x9 in), WxH in inches, or none [default: page with --style paper].")
@click.option("--dpi", type=click.IntRange(36, 1200), default=None, help="PNG resolution [default: 150].")
@click.option("--attachment", is_flag=True, help="With .onnx: also write Netron's netron:attachment sidecar (.attachment.json).")
@click.option("--flat", is_flag=True, help="With .onnx: one flat graph, not modules nested as functions Netron can open.")
@click.option("--diff", "diff_base", default=None, metavar="MODEL_A",
              help="Colour the layers MODEL adds (green) or changes (orange) relative to MODEL_A (.dot .svg .png .pdf).")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def draw(
    model: str, output: str, fmt: str | None, depth: int | None, fold: bool | None, style: str, direction: str,
    shapes: bool, params: bool, legend: bool, title: str | None, attachment: bool,
    input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool, diff_base: str | None = None, flat: bool = False,
    fit: str | None = None, dpi: int | None = None, cache: bool = True,
) -> None:
    """Draw MODEL as a diagram (or a Netron-ready ONNX / JSON file)."""
    import warnings

    from . import _api
    from .exporters import DrawingWarning, DrawOptions, exporter_for

    options = DrawOptions(depth=depth, fold=fold, style=style, direction=direction, shapes=shapes, params=params,
                          legend=legend, title=title, attachment=attachment, flat=flat, fit=fit, dpi=dpi)
    weights = getattr(exporter_for(output, fmt), "needs_weights", False)  # an .onnx drawing runs
    model = isolated(model, input_shape, verbose, weights=weights, cache=cache)
    diff_base = isolated(diff_base, input_shape, verbose, cache=cache) if diff_base is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DrawingWarning)
        if diff_base is not None:
            written = _api.draw_diff(diff_base, model, output, options=options, format=fmt, input_shape=input_shape,
                                     verbose=verbose, cache=cache)
        else:
            written = _api.draw(model, output, options=options, format=fmt, input_shape=input_shape, verbose=verbose,
                                cache=cache)
    for w in caught:
        if issubclass(w.category, DrawingWarning):
            click.echo(f"modelmap: warning: {one_line(w.message)}", err=True)
        elif verbose:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    click.echo("wrote " + ", ".join(str(p) for p in written))


@cli.command()
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (layers, skips, blocks, ...) instead of a table.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Collapse modules deeper than N levels.")
@click.option("--explain", is_flag=True, help="Say why each merge op that is not a skip connection was rejected.")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def analyze(
    model: str, as_json: bool, depth: int | None, explain: bool,
    input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool, cache: bool = True,
) -> None:
    """Analyse MODEL: layers, connections, skip connections, repeated blocks, parameters."""
    import json

    from . import _api

    analysis = _api.analyze_structure(isolated(model, input_shape, verbose, cache=cache), input_shape=input_shape,
                                      depth=depth, verbose=verbose, cache=cache)
    if as_json:
        data = analysis.to_dict()
        if not explain:
            data.pop("rejections", None)
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(analysis.summary(explain=explain))


@cli.command()
@click.argument("model")
@click.option("-o", "--output", required=True, metavar="DIR",
              help="The report folder to write (index.html, PNGs, weights.json); new, empty, or an earlier report.")
@click.option("--near-zero", type=float, default=1e-3, show_default=True, help="|w| at or below this counts as near zero.")
@click.option("--max-tiles", type=click.IntRange(min=1), default=256, show_default=True,
              help="At most this many kernel tiles per convolution heatmap.")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def weights(
    model: str, output: str, near_zero: float, max_tiles: int,
    input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool, cache: bool = True,
) -> None:
    """Per-layer weight histograms, heatmaps and statistics of MODEL, on one HTML page."""
    from pathlib import Path

    from . import _api

    report = _api.write_weights(isolated(model, input_shape, verbose, weights=True, cache=cache), output, input_shape=input_shape, near_zero=near_zero, max_tiles=max_tiles,
                                title=Path(model.split(":")[-1]).name if ":" in model else Path(model).name,
                                verbose=verbose, cache=cache)
    click.echo(
        f"wrote {Path(output) / 'index.html'} ({len(report.stats.layers)} layers, "
        f"{len(report.stats.tensors)} tensors, {len(report.pictures)} pictures)"
    )


@cli.command()
@click.argument("model")
@click.option("--logdir", required=True, metavar="DIR", help="The TensorBoard run folder to append to.")
@click.option("--step", type=click.IntRange(min=0), default=0, show_default=True,
              help="Global step of the histograms; write checkpoints in increasing step order "
                   "(TensorBoard drops later steps when a lower one follows).")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def tensorboard(
    model: str, logdir: str, step: int, input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool,
    cache: bool = True,
) -> None:
    """Write MODEL's layer graph and weight histograms as TensorBoard event files."""
    from . import _api

    run = _api.write_tensorboard(isolated(model, input_shape, verbose, weights=True, cache=cache), logdir, step=step,
                                 input_shape=input_shape, verbose=verbose, cache=cache)
    click.echo(f"wrote {run.event_file} (graph of {len(run.nodes)} layers, {len(run.tags)} histograms at step {step})")


@cli.command()
@click.argument("model_a")
@click.argument("model_b")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object ({\"same\": ..., ...}) instead of text.")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def compare(
    model_a: str, model_b: str, as_json: bool, input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool,
    cache: bool = True,
) -> None:
    """Compare the architectures of MODEL_A and MODEL_B, ignoring names and frameworks.

    Exit code 0 when they are the same, 1 when they differ, 2 on bad input.
    """
    import json

    from . import _api

    model_a, model_b = isolated(model_a, input_shape, verbose, cache=cache), isolated(model_b, input_shape, verbose, cache=cache)
    result = _api.compare(model_a, model_b, input_shape=input_shape, verbose=verbose, cache=cache)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(result.summary(name_a="A", name_b="B"))
    sys.exit(0 if result.same else 1)


@cli.command()
@click.argument("model")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The table to write: .tex .md .csv.")
@click.option("--format", "fmt", default=None, metavar="NAME", help="latex, markdown or csv when the extension does not say.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Module-tree depth of the rows [default: the deepest with at most 40 rows].")
@click.option("--fold/--no-fold", default=True, show_default=True, help="One row per run of repeated blocks, marked x N.")
@input_shape_option
@cache_option
@verbose_option
@handle_errors
def table(
    model: str, output: str, fmt: str | None, depth: int | None, fold: bool,
    input_shape: tuple[tuple[int, ...], ...] | None, verbose: bool, cache: bool = True,
) -> None:
    """Write MODEL's architecture table (output shapes, parameters, MACs) as LaTeX, Markdown or CSV."""
    from . import _api

    _api.table(isolated(model, input_shape, verbose, cache=cache), output, depth=depth, fold=fold, format=fmt,
               input_shape=input_shape, verbose=verbose, cache=cache)
    click.echo(f"wrote {output}")


def main() -> None:
    try:
        cli(prog_name="modelmap")
    finally:
        _stop_output(verbose=any(a in ("--verbose", "-v") for a in sys.argv[1:]))


def _stop_output(verbose: bool) -> None:
    """Once the command has said its piece, nothing more reaches stdout (nor stderr, unless
    ``--verbose``): an ``atexit`` handler a factory registered would otherwise append to our
    JSON or to our one error line."""
    import os

    streams = [sys.stdout] if verbose else [sys.stdout, sys.stderr]
    for stream in streams:
        try:
            stream.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # a closed or fd-less stream: nothing can reach it anyway
            pass
