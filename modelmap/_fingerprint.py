"""Cache keys: a digest of everything that determines a conversion's result.

:func:`model_key` covers, per kind of model:

- a PyTorch ``nn.Module``: every module's name, class and plain attributes (hyper-parameters,
  configs), every parameter's and buffer's name, shape, dtype, device and sharing, the
  values of integer tensors (they can steer shapes), and the *code* of every module class
  that is not torch's own: its functions' code objects, the functions and constants they
  reach through globals, and the whole defining file as ``linecache`` has it (a notebook
  cell too) -- so a model whose ``forward`` changed misses even when its modules did not;
- a Keras model: ``to_json()`` (each layer's config and wiring), its weights' names,
  shapes and dtypes, and the code of every layer class that is not Keras' own;
- a file or folder: its bytes; an ``onnx.ModelProto``: its serialisation;

plus the example input's structure, shapes and dtypes, the conversion options, modelmap's
own source and the versions of the libraries the route uses. Float weight *values* enter
the key only with ``weights=True`` (the commands that read them). Anything that cannot be
fingerprinted (an unknown object in the example input, an ``ExportedProgram``) gives None:
no caching, never a guess. torch and TensorFlow are never imported here; a model of
theirs brings its framework along.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import linecache
import marshal
import os
import shutil
import sys
import types
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIRS = ("modelmap", "modelmap.converters", "modelmap.core", "modelmap.exporters")
_ROUTE_PACKAGES = {
    "pytorch": ("torch", "onnx", "onnxscript", "onnx-ir", "numpy"),
    "keras": ("keras", "tensorflow", "tensorflow-cpu", "tf2onnx", "onnx", "numpy"),
    "onnx": ("onnx", "numpy"),
}
_OWN_MODULES = ("torch", "keras", "tensorflow", "tf_keras", "builtins", "abc", "typing", "collections")
_SCALARS = (bool, int, float, complex, str, bytes, type(None))


class Unkeyable(Exception):
    """The input holds something whose effect on the result a key cannot capture."""


class Hasher:
    """A blake2b digest fed with tagged, length-prefixed parts (no two inputs collide by concatenation)."""

    def __init__(self) -> None:
        self._h = hashlib.blake2b(digest_size=20)

    def add(self, *parts: Any) -> None:
        for p in parts:
            b = p if isinstance(p, (bytes, bytearray, memoryview)) else repr(p).encode()
            self._h.update(len(b).to_bytes(8, "big"))
            self._h.update(b)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def key(*parts: Any) -> str:
    """The digest of ``parts`` (strings, bytes or reprs).

    >>> key("draw", "svg") == key("draw", "svg") != key("draws", "vg")
    True
    """
    h = Hasher()
    h.add(*parts)
    return h.hexdigest()


def model_key(model: Any, example_input: Any, options: Any, *, weights: bool) -> str | None:
    """The key of converting ``model`` with ``example_input`` and ``options``, or None.

    ``options`` is the converters' ``ConvertOptions`` (or a namespace with its fields; every
    field counts but ``verbose``); ``weights`` says whether the result's float
    weight values matter (they then enter the key).
    """
    h = Hasher()
    try:
        route = _add_model(h, model, weights)
        h.add("input")
        _add_value(h, example_input)
    except Unkeyable:
        return None
    fields = sorted((k, v) for k, v in vars(options).items() if k != "verbose")
    h.add("options", fields, "weights", weights, "modelmap", source_digest())
    for name in _ROUTE_PACKAGES[route]:
        h.add(name, _version(name))
    return h.hexdigest()


def _add_model(h: Hasher, model: Any, weights: bool) -> str:
    """Feed ``model`` to ``h``; returns the route (a key of ``_ROUTE_PACKAGES``)."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.exists():
            raise Unkeyable(str(path))
        _add_path(h, path, weights)
        suffix = path.suffix.lower()
        return "onnx" if suffix == ".onnx" else "pytorch" if suffix == ".pt2" else "keras"
    mods = [(c.__module__ or "").split(".")[0] for c in type(model).__mro__]
    if "onnx" in mods and type(model).__name__ == "ModelProto":
        h.add("onnx-proto", hashlib.blake2b(model.SerializeToString(), digest_size=20).digest())
        return "onnx"
    if "torch" in mods:
        from ._fingerprint_torch import add_torch_model

        add_torch_model(h, model, weights)
        return "pytorch"
    if "keras" in mods or "tf_keras" in mods:
        from ._fingerprint_keras import add_keras_model

        add_keras_model(h, model, weights)
        return "keras"
    raise Unkeyable(type(model).__qualname__)


def _add_path(h: Hasher, path: Path, weights: bool) -> None:
    """A file's bytes, or every file of a folder (a SavedModel) by relative name; with
    ``weights``, an ``.onnx`` file's external data files too (their values are weights)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.add(str(f.relative_to(path)) if path.is_dir() else "file", file_digest(f))
    if weights and path.is_file() and path.suffix.lower() == ".onnx":
        for name in sorted(_external_data_files(path)):
            data = path.parent / name
            h.add("external", name, file_digest(data) if data.is_file() else b"missing")


def _external_data_files(path: Path) -> set[str]:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - the converter reports unreadable files
        raise Unkeyable(str(path)) from e
    return {
        entry.value
        for t in model.graph.initializer
        if t.data_location == onnx.TensorProto.EXTERNAL
        for entry in t.external_data
        if entry.key == "location"
    }


def file_digest(path: Path) -> bytes:
    """The file's hash; only a regular file within the size limit is read (a FIFO would block,
    ``/dev/zero`` never ends: :func:`modelmap._limits.regular_file`)."""
    from ._limits import regular_file

    regular_file(path)
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=20)).digest()


def _add_value(h: Hasher, value: Any) -> None:
    """An example input: structure, shapes and dtypes of arrays, values of plain scalars."""
    if isinstance(value, _SCALARS):
        h.add("s", value)
    elif isinstance(value, Mapping):
        h.add("map", type(value).__name__, len(value))
        for k in sorted(value, key=repr):
            h.add(repr(k))
            _add_value(h, value[k])
    elif isinstance(value, (tuple, list)):
        h.add("seq", type(value).__name__, len(value))
        for v in value:
            _add_value(h, v)
    elif hasattr(value, "shape") and hasattr(value, "dtype"):  # torch, numpy, TensorFlow arrays
        device = getattr(getattr(value, "device", None), "type", None)
        h.add("array", type(value).__name__, tuple(value.shape), str(value.dtype), device)
    else:
        raise Unkeyable(type(value).__qualname__)


def add_attribute(h: Hasher, name: str, value: Any, seen: dict[int, str], depth: int = 0) -> None:
    """A plain attribute of a module or layer: nested containers of scalars by value, configs
    (``to_dict``) as JSON, callables by code, other objects by their own attributes (two
    levels deep), anything else by type."""
    plain = _plain(value)
    if plain is not None:
        h.add(name, plain)
    elif callable(getattr(value, "to_dict", None)):
        if id(value) not in seen:
            seen[id(value)] = name
            h.add(name, json.dumps(value.to_dict(), sort_keys=True, default=repr))
        else:
            h.add(name, "same as", seen[id(value)])
    elif isinstance(value, (types.FunctionType, types.MethodType)):
        add_function(h, value, set())
    else:
        h.add(name, type(value).__module__, type(value).__qualname__)
        fields = getattr(value, "__dict__", None)
        if isinstance(fields, dict) and depth < 2 and id(value) not in seen:
            seen[id(value)] = name
            for attr, v in sorted(fields.items()):
                add_attribute(h, f"{name}.{attr}", v, seen, depth + 1)


def _plain(value: Any, depth: int = 0) -> str | None:
    """A canonical text of scalars and (nested) tuples, lists, sets and dicts of them; else None.

    >>> _plain({"b": [1, 2], "a": {3, 1}})
    "{'a': [1, 3], 'b': list(1, 2)}"
    """
    if isinstance(value, _SCALARS):
        return repr(value)
    if depth > 4:
        return None
    if isinstance(value, (set, frozenset)):
        items = [_plain(v, depth + 1) for v in value]
        return None if None in items else "[" + ", ".join(sorted(items)) + "]"  # type: ignore[arg-type]
    if isinstance(value, (tuple, list)):
        items = [_plain(v, depth + 1) for v in value]
        return None if None in items else type(value).__name__ + "(" + ", ".join(items) + ")"  # type: ignore[arg-type]
    if isinstance(value, Mapping):
        pairs = [(_plain(k, depth + 1), _plain(v, depth + 1)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(pairs)) + "}"  # type: ignore[arg-type]
    return None


def add_classes(h: Hasher, classes: set[type]) -> None:
    """The code of every class in ``classes``' MROs that is not a framework's own."""
    own = [c for c in {c for cls in classes for c in cls.__mro__} if not _is_framework(c)]
    done: set[int] = set()
    for cls in sorted(own, key=lambda c: (c.__module__, c.__qualname__)):
        h.add("class", cls.__module__, cls.__qualname__, _package_version(cls.__module__))
        for attr, value in sorted(vars(cls).items()):
            for fn in _functions_of(value):
                h.add(attr)
                add_function(h, fn, done)


def _is_framework(cls: type) -> bool:
    return (cls.__module__ or "").split(".")[0] in _OWN_MODULES


def _functions_of(value: Any) -> list[types.FunctionType]:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset) if isinstance(f, types.FunctionType)]
    return [value] if isinstance(value, types.FunctionType) else []


def add_function(h: Hasher, fn: Any, done: set[int]) -> None:
    """A function's code (nested code included), its file's source, and what it reaches
    through globals: other functions (recursively), classes' names, plain constants."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None or id(code) in done:
        return
    done.add(id(code))
    if _installed(code.co_filename):  # a package's code: its version says the rest
        h.add("code", marshal.dumps(code))
        return
    h.add("code", marshal.dumps(code), source_of(code.co_filename))
    g = getattr(fn, "__globals__", {})
    for name in sorted(_global_names(code)):
        value = g.get(name)
        if isinstance(value, _SCALARS):
            h.add(name, value)
        elif isinstance(value, types.FunctionType) and not _is_framework_function(value):
            add_function(h, value, done)


def _installed(filename: str) -> bool:
    """Code of an installed package: covered by the package's version, and its globals
    may hold per-process values (a session id) that must not enter a key."""
    return f"{os.sep}site-packages{os.sep}" in filename or f"{os.sep}dist-packages{os.sep}" in filename


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


def _is_framework_function(fn: types.FunctionType) -> bool:
    return (fn.__module__ or "").split(".")[0] in _OWN_MODULES


@cache
def _file_source(filename: str, _stamp: tuple[int, int]) -> bytes:
    return hashlib.blake2b("".join(linecache.getlines(filename)).encode(), digest_size=16).digest()


def source_of(filename: str) -> bytes:
    """Digest of a code file's text as ``linecache`` has it (notebook cells included).

    A file on disk is re-read when its size or time changed; a cell's text is never
    renamed, so its digest is taken afresh each time.
    """
    try:
        st = os.stat(filename)
    except OSError:
        lines = linecache.getlines(filename)
        return hashlib.blake2b("".join(lines).encode(), digest_size=16).digest() if lines else b""
    linecache.checkcache(filename)
    return _file_source(filename, (st.st_size, st.st_mtime_ns))


def _package_version(module: str) -> str:
    top = sys.modules.get(module.split(".")[0])
    return str(getattr(top, "__version__", ""))


@cache
def _version(dist: str) -> str:
    module = sys.modules.get(dist.replace("-", "_"))
    if isinstance(getattr(module, "__version__", None), str):
        return module.__version__  # type: ignore[union-attr]
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def source_digest() -> str:
    """Digest of modelmap's own source files by name, size and time (an editable install
    changes without a new version; a file touched but not changed only costs a miss)."""
    stamps = []
    for pkg in _PACKAGE_DIRS:
        spec = importlib.util.find_spec(pkg)
        folders = map(Path, (spec.submodule_search_locations or []) if spec else [])
        files = [f for folder in folders for f in sorted(folder.glob("*.py")) + sorted(folder.glob("*/*.py"))]
        stamps += [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    return key(stamps)


def renderer_stamp() -> tuple[Any, ...]:
    """Which Graphviz ``dot`` renders: its path, size and time (a new Graphviz changes pictures)."""
    path = shutil.which("dot")
    if path is None:
        return ("no dot",)
    st = os.stat(path)
    return (os.path.realpath(path), st.st_size, st.st_mtime_ns)


__all__ = ["Hasher", "Unkeyable", "key", "model_key", "renderer_stamp", "source_digest"]
