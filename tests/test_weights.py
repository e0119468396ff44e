"""Weight statistics (`mm.weight_stats`) and the weights report (`modelmap weights`).

Statistics are checked against numpy on known arrays; the report is opened in headless
Chromium, which must load every picture; hostile layer names must stay text; a failure
must leave no half-written folder. The seed residual network is converted once.
"""

from __future__ import annotations

import dataclasses
import html.parser
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from modelmap.core import analyze_onnx
from modelmap.core.weights import (
    WeightOptions,
    iter_weights,
    tensor_stats,
    weight_stats,
)
from modelmap.exporters import weights_report as wr
from onnx import TensorProto, helper, numpy_helper

import modelmap as mm
from modelmap import _metadata as md
from modelmap._errors import InputError
from tests.conftest import skip_or_fail_without
from tests.helpers import assert_one_line_error, cli

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
HOSTILE = ['<img src=x onerror=alert(1)>', '"><script>alert(2)</script>', "a&amp;b \u202e\x07"]






# --------------------------------------------------------------------------- statistics


def test_tensor_stats_match_numpy() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    a[0, 0] = 0.0  # 9 exact zeros
    a[1, 0, 0, 0] = 5e-4  # near zero, but not zero
    s = tensor_stats("w", a, layer="conv", role="weight")
    assert s.count == a.size and s.shape == (16, 8, 3, 3) and s.dtype == "float32"
    assert s.mean == pytest.approx(float(a.astype(np.float64).mean()), rel=1e-9)
    assert s.std == pytest.approx(float(a.astype(np.float64).std()), rel=1e-9)
    assert (s.min, s.max) == (float(a.min()), float(a.max()))
    assert s.near_zero == pytest.approx(np.count_nonzero(np.abs(a) <= 1e-3) / a.size)
    assert s.near_zero >= 10 / a.size
    assert sum(s.histogram.counts) == a.size and len(s.histogram.counts) == 30
    assert s.histogram.edges[0] == s.min and s.histogram.edges[-1] == pytest.approx(s.max)
    assert not s.sampled and s.nonfinite == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.mean = 0.0  # type: ignore[misc]


def test_nan_and_constant_tensors() -> None:
    s = tensor_stats("w", np.array([1.0, np.nan, 3.0, np.inf], dtype=np.float32))
    assert s.nonfinite == 2 and s.count == 4
    assert (s.mean, s.min, s.max) == (2.0, 1.0, 3.0)
    c = tensor_stats("ones", np.ones(64, dtype=np.float32))
    assert c.std == 0.0 and sum(c.histogram.counts) == 64 and c.near_zero == 0.0
    assert max(c.histogram.counts) == 64 and c.histogram.edges[0] < 1.0 < c.histogram.edges[-1]
    z = tensor_stats("zeros", np.zeros(8, dtype=np.float16))
    assert z.near_zero == 1.0 and z.dtype == "float16"
    empty = tensor_stats("nan", np.array([np.nan, np.nan]))
    assert math.isnan(empty.mean) and empty.histogram_values == 0


def test_huge_tensors_are_sampled_for_histograms_only() -> None:
    a = np.random.default_rng(2).standard_normal(50_000).astype(np.float32)
    s = tensor_stats("big", a, options=WeightOptions(max_hist_values=1_000))
    assert s.sampled and s.histogram_values == 1_000 and sum(s.histogram.counts) == 1_000
    assert s.count == 50_000 and s.mean == pytest.approx(float(a.astype(np.float64).mean()))
    with pytest.raises(InputError):
        WeightOptions(bins=0)
    with pytest.raises(InputError):
        WeightOptions(near_zero=-1)


# --------------------------------------------------------------------------- a small model


def _node(op: str, ins: list[str], outs: list[str], ns: str, cls: str, **attrs: Any) -> onnx.NodeProto:
    n = helper.make_node(op, ins, outs, name=f"{ns}/{op}_{outs[0]}", **attrs)
    md.annotate_node(n, [ns], [cls])  # a flat model: one namespace segment ('/' in a name becomes '_')
    return n


def small_model(names: dict[str, str] | None = None, conv_out: int = 6, dense_in: int = 20) -> onnx.ModelProto:
    """conv -> bn -> flatten -> gemm (PyTorch Linear, W (out, in)) -> matmul+add (Keras Dense,
    W (in, out)) -> a second Dense reusing the first Dense's bias (tied)."""
    n = {"conv": "conv", "bn": "bn", "fc": "fc", "dense": "dense", "dense2": "dense2", **(names or {})}
    rng = np.random.default_rng(0)

    def w(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    fc_w = w("fc.weight", dense_in, conv_out * 16)  # (out, in), transB=1
    dense_w = w("dense/kernel", dense_in, 10)  # (in, out)
    ones = numpy_helper.from_array(np.ones(conv_out, np.float32), "bn_ones")
    inits = [
        w("conv.weight", conv_out, 2, 3, 3), w("conv.bias", conv_out), ones,
        w("bn.bias", conv_out), w("bn.mean", conv_out),
        fc_w, w("fc.bias", dense_in), dense_w, w("dense/bias", 10), w("dense2/kernel", 10, 10),
        numpy_helper.from_array(np.array([1, -1], np.int64), "shape"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]  # fmt: skip
    nodes = [
        _node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], n["conv"], "Conv2d", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        _node("BatchNormalization", ["c", "bn_ones", "bn.bias", "bn.mean", "bn_ones"], ["b"], n["bn"], "BatchNorm2d"),
        _node("Mul", ["b", "half"], ["h"], n["bn"], "BatchNorm2d"),
        _node("Reshape", ["h", "shape"], ["f"], "flatten", "Flatten"),
        _node("Gemm", ["f", "fc.weight", "fc.bias"], ["g"], n["fc"], "Linear", transB=1),
        _node("MatMul", ["g", "dense/kernel"], ["m"], n["dense"], "Dense"),
        _node("Add", ["m", "dense/bias"], ["d"], n["dense"], "Dense"),
        _node("MatMul", ["d", "dense2/kernel"], ["m2"], n["dense2"], "Dense"),
        _node("Add", ["m2", "dense/bias"], ["y"], n["dense2"], "Dense"),
    ]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


@pytest.fixture(scope="module")
def small() -> Any:
    return analyze_onnx(small_model())


def test_weights_are_grouped_by_the_layer_reading_them(small: Any) -> None:
    got = [(w.layer, w.name, w.role, w.array.shape) for w in iter_weights(small)]
    assert got == [
        ("conv", "conv.weight", "weight", (6, 2, 3, 3)),
        ("conv", "conv.bias", "bias", (6,)),
        ("bn", "bn_ones", "scale/var", (6,)),  # one tensor at two slots
        ("bn", "bn.bias", "bias", (6,)),
        ("bn", "bn.mean", "mean", (6,)),
        ("fc", "fc.weight", "weight", (20, 96)),
        ("fc", "fc.bias", "bias", (20,)),
        ("dense", "dense/kernel", "weight", (10, 20)),  # MatMul's (in, out) shown as (out, in)
        ("dense", "dense/bias", "bias", (10,)),
        ("dense2", "dense2/kernel", "weight", (10, 10)),
        ("dense2", "dense/bias", "bias", (10,)),  # tied: under both layers
    ]  # the int64 Reshape shape and the scalar 0.5 are not weights
    by = {(w.layer, w.name): w for w in iter_weights(small)}
    assert by[("dense2", "dense/bias")].shared_with == ("dense",)
    assert by[("dense", "dense/bias")].shared_with == ("dense2",)
    kernel = numpy_helper.to_array(next(t for t in small.model.graph.initializer if t.name == "dense/kernel"))
    assert np.array_equal(by[("dense", "dense/kernel")].array, kernel.T)


def test_weight_stats_api_returns_frozen_data(small: Any) -> None:
    ws = mm.weight_stats(small)
    assert [layer.layer for layer in ws.layers] == ["conv", "bn", "fc", "dense", "dense2"]
    conv = ws.layer("conv")
    assert conv.count == 6 * 2 * 9 + 6 and conv.type == "Conv2d" and conv.kind == "conv"
    values = np.concatenate([numpy_helper.to_array(t).ravel() for t in small.model.graph.initializer
                             if t.name in ("conv.weight", "conv.bias")]).astype(np.float64)
    assert conv.mean == pytest.approx(values.mean()) and conv.std == pytest.approx(values.std())
    assert (conv.min, conv.max) == (pytest.approx(values.min()), pytest.approx(values.max()))
    # the tied bias counts once in the total
    assert ws.count == sum(t.count for t in {t.name: t for t in ws.tensors}.values())
    assert ws.count < sum(layer.count for layer in ws.layers)
    d = json.loads(json.dumps(ws.to_dict()))
    assert d["layers"][0]["tensors"][0]["shape"] == [6, 2, 3, 3]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ws.layers = ()  # type: ignore[misc]
    assert weight_stats(small, WeightOptions(near_zero=10.0)).layer("conv").near_zero == 1.0
    from_model = mm.weight_stats(small_model(), near_zero=10.0)  # a model, converted and analysed on the way
    assert from_model.layer("conv").near_zero == 1.0 and from_model.count == ws.count


# --------------------------------------------------------------------------- the report


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def check_report(folder: Path) -> list[dict[str, str | None]]:
    """Every <img> names a generated file that is a PNG of the declared size; returns the imgs."""
    parser = _Tags()
    parser.feed((folder / "index.html").read_text(encoding="utf-8"))
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "small", "table", "thead",
               "tbody", "tr", "th", "td", "a", "code", "span", "br", "div", "figure", "img", "figcaption"}
    assert {t for t, _ in parser.tags} <= allowed
    for _, attrs in parser.tags:
        assert not [k for k in attrs if k.startswith("on")]
    imgs = [a for t, a in parser.tags if t == "img"]
    assert imgs
    for a in imgs:
        assert re.fullmatch(r"t\d{4}_(hist|heat)\.png", a["src"] or ""), a
        assert png_size(folder / str(a["src"])) == (int(a["width"] or 0), int(a["height"] or 0))
    files = {p.name for p in folder.iterdir()}
    assert files == {str(a["src"]) for a in imgs} | {"index.html", "weights.json"}
    return imgs


def test_report_escapes_hostile_names(tmp_path: Path) -> None:
    names = {"conv": HOSTILE[0], "fc": HOSTILE[1], "dense": HOSTILE[2]}
    a = analyze_onnx(small_model(names))
    report = wr.write_weights_report(a, tmp_path / "r")
    page = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(2)&lt;_script&gt;" in page  # '/' is not allowed in a segment
    assert "a&amp;amp;b" in page and "\x07" not in page
    imgs = check_report(tmp_path / "r")
    # one histogram per tensor, one heatmap per 2-D / 4-D tensor; the tied bias is drawn once
    assert len([i for i in imgs if "hist" in str(i["src"])]) == 11
    assert len({i["src"] for i in imgs}) == len(report.pictures) == 10 + 4
    stats = json.loads((tmp_path / "r" / "weights.json").read_text())
    assert [layer["layer"] for layer in stats["layers"]][0] == HOSTILE[0]


def test_big_tensors_are_capped_and_the_page_says_so(tmp_path: Path) -> None:
    a = analyze_onnx(small_model(conv_out=40, dense_in=300))
    options = wr.ReportOptions(weights=WeightOptions(max_hist_values=2_000), max_tiles=16, max_side=64)
    wr.write_weights_report(a, tmp_path / "r", options)
    page = (tmp_path / "r" / "index.html").read_text()
    assert "histograms are drawn from a uniform sample of 2,000 values" in page
    assert "heatmap(s) are cut down: at most 16 kernel tiles" in page
    assert "showing 64 of 300 rows" in page  # fc.weight is (300, 640)
    assert "showing output channels 0-7 x input channels 0-1 of 40 x 2" in page
    img, note, layout = wr.heatmap_view(np.ones((40, 2, 3, 3)), options)
    assert layout == "tiles" and np.isfinite(img).sum() == 16 * 3 * 3  # 16 tiles of 3x3, NaN gutters
    assert 0.5 <= img.shape[0] / img.shape[1] <= 2  # strips of 2 tiles wrapped into a squarish grid
    assert wr.heatmap_view(np.zeros((8, 4, 1, 1)), options)[2] == "matrix"  # 1x1 convs as matrices
    assert wr.heatmap_view(np.zeros(8), options) is None
    check_report(tmp_path / "r")


def test_a_failure_leaves_no_half_written_report(small: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = wr.HistogramPainter.png

    def flaky(self: Any, stats: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk on fire")
        return real(self, stats)

    monkeypatch.setattr(wr.HistogramPainter, "png", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        wr.write_weights_report(small, tmp_path / "r")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()

    # an earlier report is replaced as a whole; a failure keeps the earlier one intact
    wr.write_weights_report(analyze_onnx(small_model(conv_out=3)), tmp_path / "r")
    before = sorted(p.name for p in (tmp_path / "r").iterdir())
    monkeypatch.setattr(wr.HistogramPainter, "png", flaky)
    calls["n"] = 0
    with pytest.raises(RuntimeError):
        wr.write_weights_report(small, tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_existing_targets_that_are_not_reports_are_refused(small: Any, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(InputError, match="not empty"):
        wr.write_weights_report(small, tmp_path / "mine")
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["thesis.tex"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        wr.write_weights_report(small, tmp_path / "file")
    (tmp_path / "empty").mkdir()
    wr.write_weights_report(small, tmp_path / "empty")
    assert (tmp_path / "empty" / "index.html").is_file()


def test_cli_weights_and_its_bad_input(tmp_path: Path) -> None:
    model = tmp_path / "small.onnx"
    onnx.save(small_model(), model)
    out = tmp_path / "report"
    r = cli("weights", str(model), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "5 layers, 11 tensors" in r.stdout
    check_report(out)

    before = sorted(p.name for p in tmp_path.iterdir())
    model_bytes = model.read_bytes()
    assert_one_line_error(cli("weights", str(tmp_path / "nope.onnx"), "-o", str(tmp_path / "new")), "no such file")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(1000))
    assert_one_line_error(cli("weights", str(junk), "-o", str(tmp_path / "new")), "junk.onnx")
    assert_one_line_error(cli("weights", str(model), "-o", str(model)), "not a folder")
    assert_one_line_error(cli("weights", str(model), "-o", str(tmp_path)), "not empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["junk.onnx"])
    assert model.read_bytes() == model_bytes


def test_importing_modelmap_imports_no_plotting_or_framework() -> None:
    code = (
        "import sys, modelmap, modelmap.core.weights, modelmap.core.compare, "
        "modelmap.exporters.weights_report, modelmap.exporters.tensorboard, modelmap.exporters.diff\n"
        "print([m for m in ('matplotlib', 'torch', 'tensorflow', 'tensorboard') if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the seed network in a browser


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    skip_or_fail_without(os.access(CHROMIUM, os.X_OK), "no Chromium at /usr/bin/chromium")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


PROBE = """<script nonce="probe">
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const bad = imgs.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0)).map(i => i.getAttribute("src"));
  const scripts = document.querySelectorAll("script").length;
  const handlers = [...document.querySelectorAll("*")].filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length;
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({total: imgs.length, bad, scripts, handlers});
  document.body.appendChild(out);
});
</script>"""


def probe(folder: Path, profile: Path) -> dict[str, Any]:
    """Load a copy of the page that adds one probe script (allowed by a nonce; the image policy
    stays as written) and read what the browser saw."""
    page = (folder / "index.html").read_text(encoding="utf-8")
    assert "default-src 'none';" in page
    page = page.replace("default-src 'none';", "default-src 'none'; script-src 'nonce-probe';", 1)
    (folder / "probe.html").write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    try:
        r = chromium("--virtual-time-budget=15000", "--dump-dom", (folder / "probe.html").as_uri(), profile=profile)
    finally:
        (folder / "probe.html").unlink()
    m = re.search(r'<pre id="probe">(.*?)</pre>', r.stdout, re.S)
    assert m, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return json.loads(html.unescape(m.group(1)))


@pytest.fixture(scope="module")
def seed_resnet(fixture_cache: Any) -> Any:
    pytest.importorskip("torch")
    return fixture_cache.analysis("torch", "seed_resnet")


@pytest.mark.torch
def test_seed_resnet_report_loads_every_picture_in_chromium(seed_resnet: Any, tmp_path: Path) -> None:
    out = tmp_path / "seed_resnet_weights"
    report = mm.write_weights(seed_resnet, out, title="seed_resnet")
    ws = report.stats
    # every layer with parameters is there; conv and linear layers hold exactly their parameters,
    # BatchNorm layers their 2 parameters plus the 2 running statistics per channel
    with_params = [layer for layer in seed_resnet.layers if layer.params]
    assert [layer.layer for layer in ws.layers] == [layer.name for layer in with_params]
    for layer in with_params:
        expected = 2 * layer.params if layer.kind.value == "norm" else layer.params
        assert ws.layer(layer.name).count == expected, layer.name
    assert len(ws.layers) == 63 and len(ws.tensors) == 32 * 2 + 30 * 4 + 2  # 32 convs, 30 BatchNorms, 1 linear
    imgs = check_report(out)
    assert len(imgs) == len(ws.tensors) + 32 + 1  # a histogram per tensor, a heatmap per conv/linear kernel
    page = (out / "index.html").read_text()
    assert "heatmap(s) are cut down" in page and "uniform sample of 1,000,000 values" in page

    seen = probe(out, tmp_path / "profile")
    assert seen == {"total": len(imgs), "bad": [], "scripts": 1, "handlers": 0}

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "weights_seed_resnet.png"
    shot.unlink(missing_ok=True)
    r = chromium(f"--screenshot={shot}", "--window-size=1280,3000", "--virtual-time-budget=10000",
                 (out / "index.html").as_uri(), profile=tmp_path / "profile2")
    assert shot.is_file(), r.stderr[-2000:]
    assert png_size(shot) == (1280, 3000)
    assert shot.stat().st_size > 100_000  # a page of tables and pictures, not a blank one
    shutil.copytree(out, ARTIFACTS / "weights_seed_resnet", dirs_exist_ok=True)


def test_hostile_names_stay_inert_in_chromium(tmp_path: Path) -> None:
    a = analyze_onnx(small_model({"conv": HOSTILE[0], "fc": HOSTILE[1]}))
    wr.write_weights_report(a, tmp_path / "r")
    seen = probe(tmp_path / "r", tmp_path / "profile")
    assert seen["bad"] == [] and seen["scripts"] == 1 and seen["handlers"] == 0 and seen["total"] == 15  # 11 histograms (the tied bias twice), 4 heatmaps
