"""The fixture models of ``fixtures/``, converted to ONNX once per test run.

Frameworks: ``torch`` (``fixtures/torch_models.py``), ``keras`` (``fixtures/keras_models.py``)
and ``zoo``, the transformers architectures of ``fixtures/transformers_zoo.py`` (PyTorch).

Many test modules need the same conversions (the seed ResNet alone was converted five
times per run). :class:`FixtureCache` converts each ``(framework, factory)`` once and keeps
the ONNX on disk, in a folder shared by every pytest-xdist worker; a file lock per entry
makes a second worker wait for the first one's conversion instead of repeating it.

An entry's key holds the factory's name, the framework's and converter's versions and a
hash of the fixture module's and the package's source, so an entry is never stale: the
``fixture_cache`` fixture (``tests/conftest.py``) keeps the folder for one run, and
``MODELMAP_FIXTURE_CACHE=DIR`` keeps it across runs.

Models are rebuilt in each process (cheap, deterministic): PyTorch and zoo fixtures seed
themselves; Keras ones are built after ``keras.backend.clear_session()`` (so automatic
names start at ``conv2d``) and ``keras.utils.set_random_seed``, then given non-trivial
BatchNorm statistics (``randomize_batchnorm``, as the PyTorch fixtures do themselves).
The weights of a rebuilt model are checked against those the cached ONNX was made from.
What the converter printed on stderr is kept with the entry (:meth:`FixtureCache.stderr`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import onnx
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ("modelmap", "converters", "core", "exporters")
#: the module of ``fixtures/`` that holds each framework's factories
MODULES = {"torch": "torch_models", "keras": "keras_models", "zoo": "transformers_zoo"}
#: the packages a conversion depends on, per framework (their versions go into the key)
VERSIONS = {
    "torch": ("onnx", "torch", "onnxscript", "onnx-ir", "transformers"),
    "keras": ("onnx", "keras", "tensorflow-cpu", "tf2onnx"),
    "zoo": ("onnx", "torch", "onnxscript", "onnx-ir", "transformers"),
}
KERAS_SEED = 0


@dataclass(frozen=True)
class Converted:
    """A fixture model built in this process, its example input, and its shared conversion."""

    model: Any
    example: Any
    proto: onnx.ModelProto

    def analysis(self) -> Any:
        """A fresh :class:`~modelmap.core.Analysis` of ``proto``: what ``mm.analyze(model, example)`` gives."""
        from modelmap.core import analyze_onnx

        return analyze_onnx(self.proto)


class FixtureCache:
    """ONNX conversions of the fixture models, shared by every module and worker of a run."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._loaded: dict[str, bytes] = {}

    def onnx(self, framework: str, name: str) -> onnx.ModelProto:
        """The fixture's ONNX (a fresh copy each call: callers may change it)."""
        return _parse(self._entry(framework, name, model=None))

    def analysis(self, framework: str, name: str) -> Any:
        """A fresh :class:`~modelmap.core.Analysis` of the fixture's shared conversion
        (the model is built only if the conversion is not there yet)."""
        return Converted(None, None, self.onnx(framework, name)).analysis()

    def converted(self, framework: str, name: str) -> Converted:
        """The fixture built here (model, example input) with its shared ONNX."""
        made = build(framework, name)
        return Converted(made[0], made[1], _parse(self._entry(framework, name, model=made)))

    def stderr(self, framework: str, name: str) -> str:
        """What the converter printed on stderr while converting the entry (in whichever process did)."""
        self._entry(framework, name, model=None)
        return str(json.loads((self.root / f"{entry_key(framework, name)}.json").read_text()).get("stderr", ""))

    def _entry(self, framework: str, name: str, model: tuple[Any, Any] | None) -> bytes:
        """The serialised ONNX of one entry: from memory, from disk, or converted now (under the
        entry's lock). When ``model`` is given, its weights must be the ones converted."""
        key = entry_key(framework, name)
        if key not in self._loaded:
            path = self.root / f"{key}.onnx"
            with FileLock(str(path) + ".lock"):
                if not path.exists():
                    made = model or build(framework, name)
                    err = io.StringIO()
                    with contextlib.redirect_stderr(err):
                        proto = convert_fixture(*made)
                    _write(path, made, proto, framework, err.getvalue())
            self._loaded[key] = path.read_bytes()
        if model is not None:
            _check_weights(self.root / f"{key}.json", model, framework, f"{framework}:{name}")
        return self._loaded[key]


# --------------------------------------------------------------------------- building and converting


def fixtures_module(framework: str) -> Any:
    """The factories' module of ``framework`` (see :data:`MODULES`), imported."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if framework == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import importlib

    return importlib.import_module(f"fixtures.{MODULES[framework]}")


def build(framework: str, name: str) -> tuple[Any, Any]:
    """A fresh ``(model, example_input)`` of the factory ``name``, the same in every process."""
    module = fixtures_module(framework)
    if framework != "keras":
        return module.FACTORIES[name]()
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(KERAS_SEED)
    return module.randomize_batchnorm(getattr(module, name)()), None


def convert_fixture(model: Any, example: Any) -> onnx.ModelProto:
    """The conversion ``mm.to_onnx(model, None, example)`` makes."""
    from modelmap.converters import ConvertOptions, convert

    return convert(model, example, ConvertOptions())


# --------------------------------------------------------------------------- keys and entries


def entry_key(framework: str, name: str) -> str:
    """``framework-name-HASH``: HASH covers the fixture module, the package and the versions."""
    return f"{framework}-{name}-{source_hash(framework)}"


@cache
def source_hash(framework: str, root: Path = ROOT) -> str:
    """A hash of the framework's fixture module, the package's source under ``root``, this
    module (how fixtures are built), and the versions of the packages a conversion runs."""
    h = hashlib.sha256()
    files = [root / "fixtures" / f"{MODULES[framework]}.py", root / "tests" / "fixture_cache.py"]
    files += sorted(p for d in PACKAGE_DIRS for p in (root / d).rglob("*.py"))
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    for dist in VERSIONS[framework]:
        h.update(f"{dist}=={_version(dist)}\0".encode())
    return h.hexdigest()[:16]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def weights_fingerprint(model: Any, framework: str) -> str:
    """A hash of the model's weight names and values."""
    h = hashlib.sha256()
    if framework != "keras":
        items = [(k, v.detach().cpu().numpy()) for k, v in model.state_dict().items()]
    else:
        items = [(w.path, w.numpy()) for w in model.weights]
    for name, array in items:
        h.update(name.encode() + b"\0" + array.tobytes())
    return h.hexdigest()


def _write(path: Path, made: tuple[Any, Any], proto: onnx.ModelProto, framework: str, stderr: str = "") -> None:
    """The entry's ONNX, and its weights' fingerprint and the converter's stderr, each written
    atomically (ONNX last)."""
    meta = {"weights": weights_fingerprint(made[0], framework), "stderr": stderr}
    for target, data in ((path.with_suffix(".json"), json.dumps(meta).encode()), (path, proto.SerializeToString())):
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


def _check_weights(meta: Path, made: tuple[Any, Any], framework: str, label: str) -> None:
    want = json.loads(meta.read_text())["weights"]
    if weights_fingerprint(made[0], framework) != want:
        raise AssertionError(f"fixture cache: {label} was rebuilt with other weights than its cached conversion")


def _parse(data: bytes) -> onnx.ModelProto:
    proto = onnx.ModelProto()
    proto.ParseFromString(data)
    return proto
