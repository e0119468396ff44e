"""Model factories: ``path/to/file.py:name`` and ``package.module:name``.

A factory is a callable (or a model object) the user names on the command line;
calling it runs the user's own code, which is what they asked for. It returns a
model or a ``(model, example_input)`` pair.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any

from modelmap._errors import FactoryError, ModelNotFoundError

_MODULE_REF = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_FILE_REF = re.compile(r"^(?P<file>.+\.py):(?P<attr>[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*)$")


def is_factory_ref(ref: Any) -> bool:
    """True for strings shaped like ``file.py:name`` or ``pkg.module:name``."""
    if not isinstance(ref, str):
        return False
    return bool(_FILE_REF.match(ref) or _MODULE_REF.match(ref))


def _import_file(path: Path) -> Any:
    if not path.is_file():
        raise ModelNotFoundError(f"no such factory file: {path}")
    name = f"_modelmap_factory_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FactoryError(f"cannot import {path} as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - sys.exit(), KeyboardInterrupt ... in the user's file
        sys.modules.pop(name, None)
        raise FactoryError(f"importing {path} failed: {_what(e)}") from e
    finally:
        sys.path.remove(str(path.parent.resolve()))
    return module


def _what(e: BaseException) -> str:
    """How a factory's exception reads in a message.

    >>> _what(SystemExit(0)), _what(KeyboardInterrupt()), _what(ValueError("bad"))
    ('SystemExit: it called sys.exit(0)', 'KeyboardInterrupt', 'ValueError: bad')
    """
    if isinstance(e, SystemExit):
        return f"SystemExit: it called sys.exit({e.code!r})"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def _import_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and name.startswith(e.name):
            raise ModelNotFoundError(f"no such factory module: {name}") from None
        raise FactoryError(f"importing {name} failed: {type(e).__name__}: {e}") from e
    except BaseException as e:  # noqa: BLE001 - the user's module may exit or raise anything
        raise FactoryError(f"importing {name} failed: {_what(e)}") from e


def call_factory(ref: str) -> tuple[Any, Any]:
    """Import and call a factory; return ``(model, example_input or None)``.

    While the user's code runs, what it prints goes to stderr (our stdout carries JSON), and
    any exception it raises, ``SystemExit`` and ``KeyboardInterrupt`` included, is a
    FactoryError naming the factory.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return _call_factory(ref)
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _call_factory(ref: str) -> tuple[Any, Any]:
    m = _FILE_REF.match(ref)
    if m:
        module, attr = _import_file(Path(m.group("file"))), m.group("attr")
    else:
        mod_name, attr = ref.split(":", 1)
        module = _import_module(mod_name)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelNotFoundError(f"factory {ref}: {part!r} is not defined")
        obj = getattr(obj, part)
    if callable(obj) and not _looks_like_model(obj):
        try:
            obj = obj()
        except BaseException as e:  # noqa: BLE001 - sys.exit(), KeyboardInterrupt ... in the user's code
            raise FactoryError(f"factory {ref} raised {_what(e)}") from e
    if isinstance(obj, tuple):
        if len(obj) != 2:
            raise FactoryError(f"factory {ref} returned a tuple of {len(obj)}; expected (model, example_input)")
        return obj[0], obj[1]
    return obj, None


def _looks_like_model(obj: Any) -> bool:
    """Model objects are callable too; a class or function is a factory."""
    return not isinstance(obj, type) and not callable(getattr(obj, "__code__", None)) and (
        hasattr(obj, "forward") or hasattr(obj, "layers")
    )
