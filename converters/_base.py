"""What every converter shares: options, the converter protocol, quiet exporter output."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from modelmap._errors import MissingDependencyError


@dataclass(frozen=True)
class ConvertOptions:
    """Options for every converter, shared by the CLI and the API.

    ``input_shape`` is one shape per model input, e.g. ``((1, 3, 224, 224),)``;
    it is used when no example input is given. ``opset`` is the ONNX opset to
    target (the exporter's default when None). ``verbose`` lets the exporters'
    own output (dynamo progress, TensorFlow logs) through. ``weights``: the ONNX
    carries the weights' values (a runnable model, weight statistics); when False
    only their names, types and shapes (structure first: enough for drawings,
    analyses, tables and comparisons, and much cheaper).
    """

    input_shape: tuple[tuple[int, ...], ...] | None = None
    opset: int | None = None
    verbose: bool = False
    weights: bool = True


class Converter(Protocol):
    """A front end: a cheap ``match`` and a full ``convert``.

    ``match`` must not import a framework: it looks at file extensions and at the
    module names of a type's MRO. ``convert`` returns an annotated ModelProto
    (see :mod:`modelmap._metadata`).
    """

    name: str
    extensions: tuple[str, ...]

    def match(self, ref: Any) -> bool: ...

    def convert(self, ref: Any, example_input: Any, options: ConvertOptions) -> Any: ...


def type_modules(obj: Any) -> list[str]:
    """Top-level module names of every class in ``type(obj).__mro__``."""
    return [(c.__module__ or "").split(".")[0] for c in type(obj).__mro__]


def path_of(ref: Any) -> Path | None:
    """``ref`` as a Path if it is a str or PathLike naming something on disk-like."""
    if isinstance(ref, (str, os.PathLike)):
        return Path(ref)
    return None


def require(module: str, extra: str) -> Any:
    """Import an optional framework module or raise a MissingDependencyError."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"{module} is not installed ({e}); install it with: pip install 'modelmap[{extra}]'"
        ) from None


def prepare_environment(options: ConvertOptions) -> None:
    """Environment fixes needed before a framework is first imported.

    An empty ``TORCH_LOGS`` breaks ``import torch``; TensorFlow's C++ start-up logging
    is only silenced by ``TF_CPP_MIN_LOG_LEVEL`` set before its import.
    """
    if os.environ.get("TORCH_LOGS") == "":
        del os.environ["TORCH_LOGS"]
    if not options.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def progress(message: str, options: ConvertOptions) -> None:
    """A progress line on stderr, shown to people at a terminal or with --verbose."""
    if options.verbose or sys.stderr.isatty():
        print(f"modelmap: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def step(message: str, options: ConvertOptions) -> Iterator[None]:
    """Report the start and the duration of a long step."""
    progress(f"{message} ...", options)
    t0 = time.perf_counter()
    yield
    progress(f"{message}: done in {time.perf_counter() - t0:.1f} s", options)


@contextlib.contextmanager
def quiet(options: ConvertOptions) -> Iterator[list[str]]:
    """Silence the exporters' own chatter, unless ``options.verbose``.

    C++ logging (TensorFlow, onnxruntime) writes to file descriptors 1 and 2, so
    those go to a temporary file; Python-level prints go to ``sys.stdout`` /
    ``sys.stderr``, which need not be on those descriptors (pytest's capture, a
    Jupyter kernel), so they are swapped too. The captured text is appended to
    the yielded list, so a caller can show it when something fails.
    """
    captured: list[str] = []
    if options.verbose:
        yield captured
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    python_level = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stdout(python_level), contextlib.redirect_stderr(python_level):
                yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace") + python_level.getvalue())
