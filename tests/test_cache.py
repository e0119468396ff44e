"""The cache (modelmap/_cache.py, _fingerprint*.py, _memo.py): never stale, bounded, shared safely.

Staleness is checked on keys (cheap, no conversion) and end to end on small real models:
a hit is observed through the ``modelmap.cache`` log and by a converter that must not run,
never by timing.
"""

from __future__ import annotations

import json
import linecache
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import onnx
import pytest
from click.testing import CliRunner

from modelmap._cache import Cache, default_cache, parse_size
from modelmap._fingerprint import model_key

from .helpers import ROOT, cli

torch = pytest.importorskip("torch")
nn = torch.nn

from modelmap.converters import ConvertOptions  # noqa: E402

OPTS = ConvertOptions()


def tiny() -> Any:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


X = torch.randn(1, 8)


def key(model: Any, x: Any = X, options: ConvertOptions = OPTS, weights: bool = False) -> str:
    k = model_key(model, x, options, weights=weights)
    assert k is not None
    return k


def cache_events(caplog: pytest.LogCaptureFixture, kind: str) -> int:
    return sum(1 for r in caplog.records if r.name == "modelmap.cache" and r.getMessage().startswith(kind))


# ------------------------------------------------------------------ keys: never stale


def test_identical_models_have_one_key_and_a_changed_layer_another() -> None:
    assert key(tiny()) == key(tiny())
    changed = tiny()
    changed[2] = nn.Linear(16, 5)
    assert key(changed) != key(tiny())
    changed = tiny()
    changed[1] = nn.GELU()
    assert key(changed) != key(tiny())
    changed = tiny()
    changed[1] = nn.LeakyReLU(0.2)  # a hyper-parameter only (extra attribute)
    other = tiny()
    other[1] = nn.LeakyReLU(0.3)
    assert key(changed) != key(other)


def _define(source: str, filename: str) -> type:
    """Define ``Net`` from ``source`` as a notebook cell is: compiled under a name only linecache knows."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"nn": nn, "torch": torch, "__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the test's own code
    return namespace["Net"]


CELL = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return {body}
"""


def test_a_changed_forward_misses_though_the_modules_did_not_change() -> None:
    a = _define(CELL.format(body="self.fc(x) + x"), "<ipython-input-1-aaaa>")()
    b = _define(CELL.format(body="self.fc(x) * x"), "<ipython-input-2-bbbb>")()
    same = _define(CELL.format(body="self.fc(x) + x"), "<ipython-input-3-cccc>")()
    assert [type(m) for m in a.modules()][1:] == [type(m) for m in b.modules()][1:]
    assert key(a) != key(b)
    assert key(a) != key(same)  # another cell: line numbers and names differ, so no sharing (safe)


def test_a_changed_helper_function_or_constant_in_the_defining_file_misses(tmp_path: Path) -> None:
    source = """
import torch.nn as nn
SCALE = {scale}

def helper(x):
    return x * SCALE

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return helper(self.fc(x))
"""
    keys = []
    for i, scale in enumerate((2, 3)):
        path = tmp_path / f"net_{i}.py"
        path.write_text(source.format(scale=scale))
        namespace: dict[str, Any] = {"__name__": f"net_{i}"}
        exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102
        keys.append(key(namespace["Net"]()))
    assert keys[0] != keys[1]


def test_a_changed_plain_attribute_misses() -> None:
    class Scaled(nn.Module):
        def __init__(self, scale: float) -> None:
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.scale = scale

        def forward(self, x: Any) -> Any:
            return self.fc(x) * self.scale

    assert key(Scaled(2.0)) != key(Scaled(3.0))
    assert key(Scaled(2.0)) == key(Scaled(2.0))


class Rope:
    """A helper object that is not a module: its fields count."""

    def __init__(self, theta: float) -> None:
        self.theta = theta


class Configured(nn.Module):
    def __init__(self, sizes: Any, theta: float) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.sizes = sizes
        self.rope = Rope(theta)

    def forward(self, x: Any) -> Any:
        return self.fc(x)


def test_nested_attributes_and_fields_of_plain_objects_count() -> None:
    base = key(Configured([[1, 2], {"a": 3}], 1e4))
    assert base == key(Configured([[1, 2], {"a": 3}], 1e4))
    assert base != key(Configured([[1, 2], {"a": 4}], 1e4))
    assert base != key(Configured([[1, 2], {"a": 3}], 5e5))


def test_input_shape_dtype_and_options_each_miss() -> None:
    m = tiny()
    assert key(m, torch.randn(1, 8)) == key(m, torch.randn(1, 8))  # values of float inputs do not count
    assert key(m, torch.randn(2, 8)) != key(m)
    assert key(m, torch.randn(1, 8, dtype=torch.float64)) != key(m)
    assert key(m, {"x": X}) != key(m)
    assert key(m, None, ConvertOptions(input_shape=((1, 8),))) != key(m, None, ConvertOptions(input_shape=((2, 8),)))
    assert key(m, options=ConvertOptions(opset=18)) != key(m)


def test_versions_and_modelmap_source_each_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelmap._fingerprint as fp

    m = tiny()
    before = key(m)
    real_version = fp._version
    monkeypatch.setattr(fp, "_version", lambda dist: "9.9" if dist == "torch" else real_version(dist))
    assert key(m) != before
    monkeypatch.setattr(fp, "_version", real_version)
    assert key(m) == before
    monkeypatch.setattr(fp, "source_digest", lambda: "another modelmap")
    assert key(m) != before


def test_weight_values_count_only_for_commands_that_read_them() -> None:
    a, b = tiny(), tiny()
    with torch.no_grad():
        b[0].weight.add_(1.0)
    assert key(a) == key(b)  # structure only
    assert key(a, weights=True) != key(b, weights=True)
    assert key(a, weights=True) != key(a)


def test_tied_weights_and_integer_buffers_count() -> None:
    def tied(share: bool) -> Any:
        m = nn.Sequential(nn.Linear(8, 8, bias=False), nn.Linear(8, 8, bias=False))
        if share:
            m[1].weight = m[0].weight
        return m

    assert key(tied(True)) != key(tied(False))
    a, b = tiny(), tiny()
    a.register_buffer("index", torch.tensor([0, 1, 2]))
    b.register_buffer("index", torch.tensor([0, 2, 1]))
    assert key(a) != key(b)


def test_onnx_files_key_on_their_bytes(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    def model(op: str) -> onnx.ModelProto:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
        return helper.make_model(helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g", [x], [y]))

    path = tmp_path / "m.onnx"
    onnx.save(model("Relu"), path)
    first = key(str(path), None)
    assert first == key(str(path), None)
    onnx.save(model("Sigmoid"), path)
    assert key(str(path), None) != first
    assert key(model("Relu"), None) != key(model("Sigmoid"), None)


def test_unkeyable_inputs_are_not_cached() -> None:
    assert model_key(tiny(), object(), OPTS, weights=False) is None


def test_keras_keys_cover_config_and_custom_layer_code() -> None:
    keras = pytest.importorskip("keras")

    def functional(units: int) -> Any:
        keras.backend.clear_session()  # automatic layer names start afresh (names are drawn: they count)
        inp = keras.Input((8,))
        return keras.Model(inp, keras.layers.Dense(units)(keras.layers.Dense(4, activation="relu")(inp)))

    assert key(functional(3), None) == key(functional(3), None)
    assert key(functional(3), None) != key(functional(5), None)
    source = """
class Twice(keras.layers.Layer):
    def call(self, x):
        return x {op} x
"""
    keys = []
    for i, op in enumerate("+*"):
        filename = f"<ipython-input-{i}-keras>"
        text = source.format(op=op)
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        ns: dict[str, Any] = {"keras": keras, "__name__": "__main__"}
        exec(compile(text, filename, "exec"), ns)  # noqa: S102
        keras.backend.clear_session()
        inp = keras.Input((8,))
        keys.append(key(keras.Model(inp, ns["Twice"]()(inp)), None))
    assert keys[0] != keys[1]


# ------------------------------------------------------------------ the store


def test_eviction_keeps_the_bound_and_drops_the_least_recently_used(tmp_path: Path) -> None:
    c = Cache(tmp_path, max_bytes=4 * 1100)
    payload = b"x" * 1000
    for i, k in enumerate(("aaaa", "bbbb", "cccc")):
        c.put(k, payload)
        os.utime(tmp_path / f"{k}.entry", ns=(10**18 + i, 10**18 + i))  # distinct, old ages
    assert c.get("aaaa") is not None  # used now: the youngest
    c.put("dddd", payload)
    c.put("eeee", payload)
    assert c.size() <= c.max_bytes
    assert c.get("bbbb") is None and c.get("aaaa") is not None and c.get("eeee") is not None


def test_an_entry_over_a_quarter_of_the_bound_is_not_stored(tmp_path: Path) -> None:
    c = Cache(tmp_path, max_bytes=4000)
    c.put("aaaa", b"x" * 2000)
    assert c.get("aaaa") is None


def test_a_corrupt_entry_is_ignored_removed_and_rewritten(tmp_path: Path) -> None:
    c = Cache(tmp_path)
    c.put("abcd", b"payload", {"n": 1})
    path = tmp_path / "abcd.entry"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    assert c.get("abcd") is None and not path.exists()
    path.write_bytes(b"garbage")
    assert c.get("abcd") is None
    c.put("abcd", b"payload", {"n": 1})
    assert c.get("abcd") == ({"n": 1}, b"payload")


WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from modelmap._cache import Cache
c = Cache(Path({folder!r}))
for _ in range(40):
    c.put("feed", {payload!r} * 100_000)
"""


def test_two_processes_writing_one_key_leave_a_valid_entry(tmp_path: Path) -> None:
    payload = b"0123456789"
    script = WRITER.format(root=str(ROOT), folder=str(tmp_path), payload=payload)
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    c = Cache(tmp_path)
    reads = 0
    while any(p.poll() is None for p in procs):  # a reader meanwhile sees a whole entry or none
        got = c.get("feed")
        if got is not None:
            assert got == ({}, payload * 100_000)
            reads += 1
    assert [p.wait() for p in procs] == [0, 0]
    assert c.get("feed") == ({}, payload * 100_000)
    assert [p.name for p in tmp_path.iterdir()] == ["feed.entry"]  # no temporary file left


def test_the_folder_and_size_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELMAP_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("MODELMAP_CACHE_SIZE", "3MB")
    c = default_cache()
    assert c is not None and c.root == tmp_path / "c" and c.max_bytes == 3 * 1024 * 1024
    monkeypatch.delenv("MODELMAP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache().root == tmp_path / "xdg" / "modelmap"  # type: ignore[union-attr]
    monkeypatch.setenv("MODELMAP_CACHE", "off")
    assert default_cache() is None
    assert parse_size("1GB") == 1 << 30
    with pytest.raises(ValueError, match="MODELMAP_CACHE_SIZE"):
        parse_size("lots")


# ------------------------------------------------------------------ the library and the CLI


class Refused(AssertionError):
    pass


def _no_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelmap.converters

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Refused("converted although the cache holds the result")

    monkeypatch.setattr(modelmap.converters, "convert", refuse)


def test_drawing_the_same_model_twice_hits_without_converting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelmap as mm

    caplog.set_level(logging.DEBUG, "modelmap.cache")
    m = tiny()
    mm.draw(m, tmp_path / "a.dot", X)
    assert cache_events(caplog, "hit") == 0 and cache_events(caplog, "stored") == 2  # conversion + drawing
    with monkeypatch.context() as mp:
        _no_conversion(mp)
        mm.draw(tiny(), tmp_path / "b.dot", X)  # a new object, the same model
        assert cache_events(caplog, "hit") == 1
        assert (tmp_path / "a.dot").read_bytes() == (tmp_path / "b.dot").read_bytes()
        mm.draw(tiny(), tmp_path / "c.dot", X, direction="LR")  # an option changes: a new drawing, no new conversion
        assert cache_events(caplog, "hit") == 2
        assert (tmp_path / "c.dot").read_bytes() != (tmp_path / "a.dot").read_bytes()
        with pytest.raises(Refused):
            mm.draw(tiny(), tmp_path / "d.dot", X, cache=False)
        with pytest.raises(Refused):
            mm.draw(tiny(), tmp_path / "e.dot", torch.randn(3, 8))  # another input shape
    wider = tiny()
    wider[2] = nn.Linear(16, 6)
    mm.draw(wider, tmp_path / "f.dot", X)
    assert "6" in (tmp_path / "f.dot").read_text() and (tmp_path / "f.dot").read_text() != (tmp_path / "a.dot").read_text()


def test_new_weights_reach_every_command_that_reads_them(tmp_path: Path) -> None:
    import numpy as np
    from onnx import numpy_helper

    import modelmap as mm

    a, b = tiny(), tiny()
    with torch.no_grad():
        b[0].weight.mul_(-3.0)
    mm.draw(a, tmp_path / "a.svg", X)
    mm.draw(b, tmp_path / "b.svg", X)  # hits: the drawing does not depend on weights
    for m in (a, b):
        proto = mm.to_onnx(m, None, X)
        values = [numpy_helper.to_array(t) for t in proto.graph.initializer]
        assert any(v.shape == (16, 8) and np.allclose(v, m[0].weight.detach().numpy()) for v in values)


def test_the_structure_only_analysis_equals_the_full_one(fixture_cache: Any) -> None:
    from modelmap._memo import strip_float_weights
    from modelmap.core import analyze_onnx
    from modelmap.exporters import DrawOptions, registry

    full = fixture_cache.onnx("torch", "seed_resnet")
    stripped = onnx.ModelProto()
    stripped.CopyFrom(full)
    strip_float_weights(stripped)
    assert stripped.ByteSize() < full.ByteSize() / 50
    a, b = analyze_onnx(full), analyze_onnx(stripped)
    assert a.to_dict() == b.to_dict()
    for name in ("dot", "mermaid", "json", "html"):
        exporter = next(e for e in registry if e.name == name)
        assert exporter.generate(a, DrawOptions()) == exporter.generate(b, DrawOptions()), name


def _onnx_file(tmp_path: Path) -> Path:
    from onnx import TensorProto, helper, numpy_helper

    rng = __import__("numpy").random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 4)).astype("float32"), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="/fc/MatMul"),
             helper.make_node("Relu", ["h"], ["y"], name="/act/Relu")]
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", [x], [y], [w])), path)
    return path


def test_the_cli_uses_the_cache_and_no_cache_bypasses_it(tmp_path: Path) -> None:
    folder = Path(os.environ["MODELMAP_CACHE"])
    model = str(_onnx_file(tmp_path))
    r = cli("draw", model, "-o", str(tmp_path / "a.svg"), "--no-cache", "--verbose")
    assert r.returncode == 0, r.stderr
    assert "cache" not in r.stderr and not any(folder.iterdir())
    r = cli("draw", model, "-o", str(tmp_path / "a.svg"), "--verbose")
    assert r.returncode == 0 and "cache miss: svg drawing" in r.stderr, r.stderr
    entries = sorted(folder.iterdir())
    assert len(entries) == 2
    time.sleep(0.01)
    r = cli("draw", model, "-o", str(tmp_path / "b.svg"), "--verbose")
    assert r.returncode == 0 and "cache hit: svg drawing" in r.stderr and "conversion" not in r.stderr, r.stderr
    assert (tmp_path / "a.svg").read_bytes() == (tmp_path / "b.svg").read_bytes()
    assert sorted(folder.iterdir()) == entries


def test_every_converting_command_has_no_cache() -> None:
    from modelmap._cli import cli as group

    runner = CliRunner()
    for name in ("convert", "draw", "analyze", "weights", "tensorboard", "compare", "table"):
        assert "--no-cache" in runner.invoke(group, [name, "--help"]).output, name


def test_importing_the_cache_imports_no_framework(tmp_path: Path) -> None:
    path = _onnx_file(tmp_path)
    code = textwrap.dedent(f"""
        import sys
        import modelmap, modelmap._cache, modelmap._fingerprint, modelmap._memo
        from modelmap.converters import ConvertOptions
        assert modelmap._fingerprint.model_key({str(path)!r}, None, ConvertOptions(), weights=False)
        bad = [m for m in ("torch", "tensorflow", "keras") if m in sys.modules]
        assert not bad, bad
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_an_onnx_files_external_data_counts_for_weights_only(tmp_path: Path) -> None:
    path = _onnx_file(tmp_path)
    model = onnx.load(str(path))
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="m.data",
              size_threshold=0)
    structure, weights = key(str(path), None), key(str(path), None, weights=True)
    (tmp_path / "m.data").write_bytes(bytes(reversed((tmp_path / "m.data").read_bytes())))
    (tmp_path / "unrelated.svg").write_text("<svg/>")
    assert key(str(path), None) == structure
    assert key(str(path), None, weights=True) != weights


def test_a_mermaid_drawing_and_a_markdown_table_do_not_share_an_entry(tmp_path: Path) -> None:
    import modelmap as mm

    model = str(_onnx_file(tmp_path))
    mm.draw(model, tmp_path / "a.md", fold=True)
    text = mm.table(model, tmp_path / "b.md", fold=True)
    assert "```mermaid" in (tmp_path / "a.md").read_text() and "```mermaid" not in text and "|" in text


KEY_IN_A_PROCESS = """
import sys
sys.path.insert(0, {root!r})
from fixtures.torch_models import gpt2_tiny
from modelmap._fingerprint import model_key
from modelmap.converters import ConvertOptions
model, x = gpt2_tiny()
print(model_key(model, x, ConvertOptions(), weights=False))
"""


def test_a_transformers_model_has_one_key_in_every_process() -> None:
    """Sets of names (their order follows the string hash seed) and per-process values
    reached through a package's globals (a session id) must not enter the key."""
    pytest.importorskip("transformers")
    keys = set()
    for seed in ("1", "2"):
        r = subprocess.run([sys.executable, "-c", KEY_IN_A_PROCESS.format(root=str(ROOT))], capture_output=True,
                           text=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": seed})
        assert r.returncode == 0, r.stderr
        keys.add(r.stdout.strip().splitlines()[-1])
    assert len(keys) == 1


@pytest.mark.torch
def test_a_drawing_hit_imports_no_converter_and_no_core(tmp_path: Path) -> None:
    """A notebook re-drawing a model it drew before pays for the key and the file only: not
    for onnx, networkx or the core (0.5 s of imports, more than torchview's whole drawing)."""
    pytest.importorskip("torch")
    code = textwrap.dedent(f"""
        import sys, json
        from fixtures.torch_models import convnet
        model, x = convnet()
        import modelmap as mm
        mm.draw(model, {str(tmp_path / "a.svg")!r}, x)
        before = set(sys.modules)
        print(json.dumps(sorted(m for m in ("onnx", "networkx", "modelmap.core", "modelmap.converters") if m in before)))
    """)
    env = {**os.environ, "MODELMAP_CACHE": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1]) != []  # a miss converts
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1]) == []
