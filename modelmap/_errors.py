"""The exceptions modelmap raises.

::

    ModelmapError                  base of everything below
    ├── InputError                 the user's input is wrong: CLI exit code 2
    │   ├── ModelNotFoundError     a file or factory that does not exist
    │   ├── ModelLoadError         a file that exists but cannot be read as a model
    │   ├── UnsupportedModelError  no converter knows this kind of model or extension
    │   ├── FactoryError           a factory that raised or returned something unusable
    │   ├── MissingInputError      a model that needs an example input or --input-shape
    │   ├── ConversionError        the framework's exporter could not convert the model
    │   └── InvalidGraphError      an ONNX graph that is not a DAG of known tensors
    └── MissingDependencyError     an optional package or program is not installed: exit 2

Any other exception escaping the CLI is an internal error (exit code 1).
Messages are one line, name the offending thing, and say what to do where that is known.
"""

from __future__ import annotations

import re


class ModelmapError(Exception):
    """Base class of modelmap's own errors."""


class InputError(ModelmapError):
    """The input (model reference, file, options) is wrong."""


class ModelNotFoundError(InputError):
    """A model file, factory module or factory name does not exist."""


class ModelLoadError(InputError):
    """A file exists but cannot be read as a model of its kind."""


class UnsupportedModelError(InputError):
    """No registered converter accepts this model reference."""


class FactoryError(InputError):
    """A `module:name` factory raised, or returned something that is not a model."""


class MissingInputError(InputError):
    """The model cannot be traced without an example input or an input shape."""


class ConversionError(InputError):
    """The framework's exporter failed on this model (an unsupported op, say)."""


class InvalidGraphError(InputError):
    """The ONNX graph is not a valid data-flow graph (cycle, dangling input, ...)."""


class MissingDependencyError(ModelmapError):
    """An optional dependency (a framework, Graphviz's `dot`) is missing."""


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(error: object, limit: int | None = 500, *, first_line: bool = False, typed: bool = False) -> str:
    r"""An error (or any text) as one line for stderr.

    Parameters
    ----------
    error:
        An exception or a message.
    limit:
        At most this many characters (the cut ones replaced by ``...``); None for no limit.
    first_line:
        Keep only the first non-blank line (the framework's long explanations follow it).
    typed:
        Prefix the exception's type name: ``ValueError: message`` (``ValueError`` alone
        when the message is empty).

    Returns
    -------
    str
        ANSI colour codes removed, runs of whitespace collapsed to one space.

    Examples
    --------
    >>> one_line("no such\n   file")
    'no such file'
    >>> one_line(ValueError("\x1b[96mbad\x1b[0m input\nmore text"), first_line=True, typed=True)
    'ValueError: bad input'
    >>> one_line("x" * 20, limit=10)
    'xxxxxxx...'
    """
    text = _ANSI.sub("", str(error))
    if first_line:
        text = next((line for line in text.splitlines() if line.strip()), "")
    text = " ".join(text.split())
    if typed:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
