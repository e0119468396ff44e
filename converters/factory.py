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
    stream = open(os.dup(2), "w", encoding="utf-8", errors="replace")  # noqa: SIM115 - theirs to close, even
    try:
        with contextlib.redirect_stdout(stream):
            return _call_factory(ref)
    finally:
        with contextlib.suppress(OSError, ValueError):
            stream.close()
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


# --------------------------------------------------------------------------- in a child process
def convert_in_child(ref: str, options: Any, cache: bool = True) -> Any:
    """Call the factory ``ref`` and convert its model in a child process; return the ONNX model.

    The factory is the user's code, run as asked, but it cannot take the command down with
    it: ``os._exit``, ``os.abort``, a signal or an ``atexit`` handler end or print in the
    child, and come back as a FactoryError naming the factory. The child is a fresh
    interpreter with our ``sys.path`` (no framework state is shared), its stdout goes
    nowhere (its stderr too, unless ``options.verbose``), and it hands the model (converted
    through the cache, :mod:`modelmap._memo`) back as a file in a private temporary folder.
    """
    import json
    import signal
    import subprocess
    import tempfile

    import onnx

    with tempfile.TemporaryDirectory(prefix="modelmap-factory-") as tmp:
        request = {"ref": ref, "input_shape": options.input_shape, "opset": options.opset, "verbose": options.verbose,
                   "weights": options.weights, "cache": cache}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        cmd = [sys.executable, "-c", "from modelmap.converters.factory import child_main; child_main()",
               json.dumps(request), tmp]
        err = None if options.verbose else subprocess.DEVNULL
        with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env) as child:
            try:
                code = child.wait()
            finally:
                if child.poll() is None:  # interrupted while waiting: the child goes too
                    child.kill()
        status = Path(tmp) / "status.json"
        if not status.exists():
            how = (f"by signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
                   else f"with exit code {code}")
            raise FactoryError(f"factory {ref} ended the process {how} before returning a model "
                               "(os._exit, os.abort or a signal in its code?)")
        kind, name, message = json.loads(status.read_text("utf-8"))
        if kind == "ok":
            return onnx.load(str(Path(tmp) / "model.onnx"))
        raise _rebuilt(kind, name, message)


def _rebuilt(kind: str, name: str, message: str) -> BaseException:
    """The child's error, as the same modelmap error class (an internal error stays one)."""
    from modelmap import _errors

    cls = getattr(_errors, name, None)
    if kind == "error" and isinstance(cls, type) and issubclass(cls, _errors.ModelmapError):
        return cls(message)
    return _errors.ModelmapError(f"internal error while converting: {name}: {message}")


def child_main() -> None:
    """The child of :func:`convert_in_child`: convert, write the model and one status line, and
    end without running any ``atexit`` handler the factory registered."""
    import json
    import traceback

    from modelmap._errors import ModelmapError, one_line

    from modelmap._memo import converted

    from . import ConvertOptions

    request, folder = json.loads(sys.argv[1]), Path(sys.argv[2])
    shape = request["input_shape"]
    options = ConvertOptions(input_shape=tuple(map(tuple, shape)) if shape else None, opset=request["opset"],
                             verbose=request["verbose"], weights=request["weights"])
    sys.stdout = sys.stderr  # print() of the factory: never onto a stdout someone reads
    try:
        model = converted(request["ref"], None, options, weights=options.weights, cache=request["cache"])
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        status = ("ok", "", "")
    except ModelmapError as e:
        status = ("error", type(e).__name__, one_line(e, None))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which decides
        status = ("internal", type(e).__name__, one_line(e))
    if status[0] != "ok" and options.verbose:
        traceback.print_exc()
    (folder / "status.json").write_text(json.dumps(status), "utf-8")
    sys.stderr.flush()
    os._exit(0)
