"""The run's cache of converted fixtures (tests/fixture_cache.py) gives what a fresh
conversion gives, converts each entry once across processes, and is never stale."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

import modelmap as mm
from modelmap import _metadata as md

from . import fixture_cache as fc

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every conversion the cache makes from now on, by the model's class name."""
    made: list[str] = []
    convert = fc.convert_fixture

    def counting(model: Any, example: Any) -> onnx.ModelProto:
        made.append(type(model).__name__)
        time.sleep(0.2)  # long enough for a second thread to reach the lock
        return convert(model, example)

    monkeypatch.setattr(fc, "convert_fixture", counting)
    return made


@pytest.mark.torch
def test_the_cached_analysis_is_what_mm_analyze_gives(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    cached = fc.FixtureCache(tmp_path).analysis("torch", "convnet")
    # the cache converts as mm.to_onnx does: with weights (a structure-only analysis of a
    # plain torch.nn model takes the TorchScript route: tests/test_torch_routes.py)
    fresh = mm.analyze(f"{ROOT / 'fixtures' / 'torch_models.py'}:convnet", weights=True)
    assert cached.to_dict() == fresh.to_dict()
    assert cached.to_dict()["skips"] == [] and cached.params == fresh.params > 0


@pytest.mark.torch
def test_each_entry_is_converted_once_across_caches_and_threads(tmp_path: Path, counted: list[str]) -> None:
    pytest.importorskip("torch")
    got: list[onnx.ModelProto] = []
    threads = [threading.Thread(target=lambda: got.append(fc.FixtureCache(tmp_path).onnx("torch", "mlp"))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counted == ["Sequential"]
    assert len(got) == 2 and got[0].SerializeToString() == got[1].SerializeToString()
    # a later cache on the same folder (another worker, a later module) reads the file
    again = fc.FixtureCache(tmp_path).converted("torch", "mlp")
    assert counted == ["Sequential"] and again.proto.SerializeToString() == got[0].SerializeToString()
    assert [p.name for p in tmp_path.glob("*.onnx")] == [f"{fc.entry_key('torch', 'mlp')}.onnx"]


@pytest.mark.torch
def test_callers_get_their_own_copy(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    cache = fc.FixtureCache(tmp_path)
    first = cache.onnx("torch", "mlp")
    first.graph.ClearField("node")
    assert len(cache.onnx("torch", "mlp").graph.node) > 0


@pytest.mark.torch
def test_a_rebuilt_model_with_other_weights_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    fc.FixtureCache(tmp_path).onnx("torch", "mlp")
    meta = tmp_path / f"{fc.entry_key('torch', 'mlp')}.json"
    meta.write_text(json.dumps({"weights": "0" * 64}))
    with pytest.raises(AssertionError, match="torch:mlp was rebuilt with other weights"):
        fc.FixtureCache(tmp_path).converted("torch", "mlp")


def test_the_key_follows_the_fixture_module_and_the_package_source(tmp_path: Path) -> None:
    for d in (*fc.PACKAGE_DIRS, "fixtures", "tests"):
        shutil.copytree(ROOT / d, tmp_path / d, ignore=shutil.ignore_patterns("__pycache__", "golden"))
    key = fc.source_hash.__wrapped__
    before = key("torch", tmp_path)
    assert key("torch", tmp_path) == before == key("torch", ROOT) != key("keras", ROOT)
    for changed in ("fixtures/torch_models.py", "core/graph.py", "converters/pytorch.py", "tests/fixture_cache.py"):
        path = tmp_path / changed
        text = path.read_text()
        path.write_text(text + "\n# changed\n")
        assert key("torch", tmp_path) != before, changed
        path.write_text(text)
    (tmp_path / "fixtures" / "keras_models.py").write_text("# another Keras fixture module\n")
    assert key("torch", tmp_path) == before


@pytest.mark.keras
def test_keras_fixtures_keep_the_names_of_a_fresh_session(tmp_path: Path, counted: list[str]) -> None:
    pytest.importorskip("tf2onnx")
    keras = pytest.importorskip("keras")
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])  # takes the name `dense` first
    cache = fc.FixtureCache(tmp_path)
    first = cache.converted("keras", "mlp")
    second = cache.converted("keras", "mlp")  # built again, after other Keras layers
    names = [layer.name for layer in first.model.layers]
    assert names == [layer.name for layer in second.model.layers] == ["dense", "dense_1", "dense_2"]
    assert counted == ["Sequential"]
    assert {r.name for r in md.model_layers(second.proto)} == set(names)
    for a, b in zip(first.model.weights, second.model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
