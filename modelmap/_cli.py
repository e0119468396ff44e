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
from ._errors import InputError, MissingDependencyError, ModelmapError


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
            click.echo(f"modelmap: error: {_one_line(e)}", err=True)
            sys.exit(2)
        except ModelmapError as e:
            if verbose:
                traceback.print_exc()
            click.echo(f"modelmap: error: {_one_line(e)}", err=True)
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
                f"modelmap: internal error: {type(e).__name__}: {_one_line(e)} (run with --verbose for the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 500 else text[:497] + "..."


verbose_option = click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and the exporters' own output.")
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
@verbose_option
@handle_errors
def convert(model: str, output: str, input_shape: tuple[tuple[int, ...], ...] | None, opset: int | None, verbose: bool) -> None:
    """Convert MODEL to one self-contained, annotated ONNX file."""
    from . import _api

    onnx_model = _api.to_onnx(model, output, input_shape=input_shape, opset=opset, verbose=verbose)
    click.echo(f"wrote {output} ({len(onnx_model.graph.node)} ONNX nodes)")


def main() -> None:
    cli(prog_name="modelmap")
