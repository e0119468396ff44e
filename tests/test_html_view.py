"""The interactive HTML view (``exporters/html.py``) in a real browser.

Debian's Chromium, driven by Playwright, opens each page from disk with every request
routed: nothing may leave the file, nothing may reach the console as an error, no
dialog may open. Then the tests click, search and hover as a reader would, on the seed
residual network (PyTorch and Keras), GPT-2 (tiny), a synthetic model of 50,000 ops and
a model whose every name is hostile. Screenshots of each step go to
``test-artifacts/html/`` (look at them after a change to the page).

Speed is measured by ``benchmarks/html_view.py``, not here.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import onnx
import pytest

import modelmap as mm
from modelmap.exporters import DrawOptions, exporter_for
from modelmap.exporters.html import build_data, generate_html, read_analysis, repr_html_bundle

from .conftest import skip_or_fail_without
from .helpers import cli
from .test_export_models import HOSTILE, seed_analysis
from .test_export_models import seed_resnet as seed_resnet_onnx

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SVG = "{http://www.w3.org/2000/svg}"


# ------------------------------------------------------------------ the file itself (no browser)


def test_html_is_a_registered_format() -> None:
    assert exporter_for("model.html").name == "html"
    assert exporter_for("model.HTM").name == "html"
    assert exporter_for(format="html").extensions == (".html", ".htm")


def _scripts(page: str) -> list[tuple[str, str]]:
    return re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)


def test_page_is_self_contained_and_its_data_inert() -> None:
    a = seed_analysis("hostile")
    page = generate_html(a)
    scripts = _scripts(page)
    assert [attrs for attrs, _ in scripts] == [' type="application/json" id="modelmap-data"', "", ""]
    data_text = scripts[0][1]
    assert not set("<>&") & set(data_text)  # nothing in the data can end the element or start markup
    data = json.loads(data_text)
    assert set(_names(data)) >= {layer.name for layer in a.layers}
    # the policy allows exactly the two inline scripts, by hash, and no network
    csp = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1))
    for _, code in scripts[1:]:
        digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "unsafe-eval" not in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc=", page.split("<script")[0])


def _names(data: dict) -> list[str]:
    """Whole node names from the compact columns, as html_view.js makes them."""
    names = list(data["name"])
    for i in range(1, len(names)):
        if data["pre"][i]:
            names[i] = names[i - data["up"][i]] + " ./"[data["pre"][i]] + names[i]
    return names


def test_data_follows_the_module_tree() -> None:
    """The compact columns decode (as html_view.js does) to the analysis' tree, edges and skips."""
    a = seed_analysis("seed_resnet")
    data = build_data(read_analysis(a), DrawOptions())
    n = len(data["name"])
    parent = [i - up if i else -1 for i, up in enumerate(data["up"])]
    names = _names(data)
    # pre-order: every subtree is one contiguous range, so a parent comes before its children
    assert all(parent[i] < i for i in range(1, n))
    leaves = [i for i in range(1, n) if i not in set(parent)]
    assert sorted(names[i] for i in leaves) == sorted(layer.name for layer in a.layers)
    assert {names[i] for i in range(1, n)} - {layer.name for layer in a.layers} == {m.name for m in a.tree.values() if m.path and not m.leaf}
    for (_, par, units), block in zip(data["blocks"], a.blocks, strict=True):
        assert names[par] == a.tree[block.parent].name
        assert [names[u[0]] for u in units] == list(block.members)
    flat, u, edges = data["edges"], 0, set()
    for k in range(0, len(flat), 2):
        u += flat[k]
        edges.add((names[u], names[u + flat[k + 1]]))
    assert edges == {(layer.name, o) for layer in a.layers for o in layer.outputs}
    skips = {(names[m], names[m - f], tuple(names[m - x] for x in sc)) for _, m, f, sc, _ in data["skips"]}
    assert skips == {(s.merge, s.fork, s.shortcut) for s in a.skips}


def test_cli_and_api_write_the_page(tmp_path: Path) -> None:
    model = tmp_path / "seed.onnx"
    onnx.save(seed_resnet_onnx(), model)
    r = cli("draw", str(model), "-o", str(tmp_path / "seed.html"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "seed.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    written = mm.draw(seed_analysis("seed_resnet"), tmp_path / "api.htm", direction="LR")
    assert written == [tmp_path / "api.htm"]
    assert '"direction":"RIGHT"' in (tmp_path / "api.htm").read_text(encoding="utf-8")


# ------------------------------------------------------------------ the browser


def _have_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def browser():
    skip_or_fail_without(_have_playwright() and shutil.which(CHROMIUM) is not None,
                         "the HTML view tests need playwright (pip, dev extra) and Chromium (apt)")
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _css(value: str) -> str:
    """``value`` quoted for a CSS attribute selector."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ") + '"'


class View:
    """One page of the HTML view, with everything it tries to load, log or show recorded."""

    def __init__(self, browser, html: str, tmp_path: Path, name: str) -> None:
        self.name = name
        self.file = tmp_path / f"{name}.html"
        self.file.write_text(html, encoding="utf-8")
        self.url = self.file.as_uri()
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.blocked: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = page = self.context.new_page()
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.goto(self.url)
        self.wait(1)

    def _route(self, route) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()

    def check_clean(self) -> None:
        assert self.errors == [] and self.dialogs == [] and self.blocked == []
        assert [u for u in self.requests if u != self.url and not u.startswith("blob:")] == []

    def shot(self, step: str) -> None:
        self.page.mouse.move(2, 890)  # the pointer off the drawing: the panel shows the selection
        self.page.screenshot(path=SHOTS / f"{self.name}-{step}.png")

    def wait(self, renders: int) -> None:
        """Until the page has drawn ``renders`` times (its CSP forbids Playwright's eval-based waits)."""
        self.page.wait_for_selector(f"body[data-renders='{renders}']", state="attached", timeout=60_000)

    def renders(self) -> int:
        return int(self.page.get_attribute("body", "data-renders"))

    def box(self, path: str):
        return self.page.locator(f"#canvas [data-path={_css(path)}]")

    def paths(self) -> list[str]:
        return self.page.eval_on_selector_all("#canvas [data-path]", "els => els.map(e => e.getAttribute('data-path'))")

    def expanded(self, path: str) -> str | None:
        return self.box(path).get_attribute("aria-expanded")

    def toggle(self, path: str) -> None:
        """Click a box (expand/unfold) or a frame's title bar (collapse/fold), then wait for the drawing."""
        n = self.renders()
        box = self.box(path)
        target = box.locator(":scope > .hdr") if box.get_attribute("aria-expanded") == "true" else box
        target.focus()  # the page pans a focused box into view
        target.click()
        self.wait(n + 1)

    def pick(self, path: str, hover: bool = False) -> None:
        """Click (or hover) a box, after focusing it so that the page pans it into view."""
        self.box(path).focus()
        self.box(path).hover() if hover else self.box(path).click()

    def find(self, text: str) -> None:
        n = self.renders()
        self.page.get_by_role("searchbox").fill(text)
        self.page.keyboard.press("Enter")
        self.wait(n + 1)

    def in_view(self, path: str) -> bool:
        b = self.box(path).bounding_box()
        s = self.page.locator("#stage").bounding_box()
        return b is not None and s["x"] <= b["x"] and b["x"] + b["width"] <= s["x"] + s["width"] \
            and s["y"] <= b["y"] and b["y"] + b["height"] <= s["y"] + s["height"]

    def info(self) -> str:
        return self.page.inner_text("#info")

    def skip_edges(self, kind: str) -> list[tuple[str, str]]:
        pairs = self.page.eval_on_selector_all(
            f'#canvas path[data-skip="{kind}"]', "els => els.map(e => [e.dataset.src, e.dataset.dst])")
        return [tuple(p) for p in pairs]

    def download(self, button: str) -> bytes:
        with self.page.expect_download() as d:
            self.page.click(f"#{button}")
        return Path(d.value.path()).read_bytes()


@pytest.fixture()
def open_view(browser, tmp_path: Path):
    views: list[View] = []

    def open_(analysis, name: str, options: DrawOptions | None = None) -> View:
        views.append(View(browser, generate_html(analysis, options), tmp_path, name))
        return views[-1]

    yield open_
    for v in views:
        v.close()


# ------------------------------------------------------------------ the seed models


@pytest.fixture(scope="module")
def torch_resnet(fixture_cache):
    pytest.importorskip("torch")
    return fixture_cache.analysis("torch", "seed_resnet")


@pytest.mark.torch
def test_torch_seed_resnet(open_view, torch_resnet) -> None:
    v = open_view(torch_resnet, "torch-seed-resnet")
    v.shot("0-open")
    top = ["x", "input_bn", "conv", "relu", "bn", "stage1", "stage2", "stage3", "stage4", "pool", "flatten", "fc"]
    assert v.paths()[: len(top)] == top and v.paths()[-1] == "output"
    assert [v.expanded(s) for s in ("stage1", "stage4")] == ["false", "false"]
    assert "1 projection" in v.box("stage2").text_content() and "4 identity" in v.box("stage2").text_content()
    legend = v.page.inner_text("#legend")
    assert "identity" in legend and "(11)" in legend and "projection" in legend and "(3)" in legend

    v.toggle("stage1")  # the stage opens, its two residual blocks folded into one box
    run = "stage1.0 \u2026 stage1.1"
    assert v.expanded("stage1") == "true" and v.box(run).get_attribute("data-repeat") == "2"
    v.toggle(run)
    v.toggle("stage1.0")
    v.shot("1-stage1.0")
    assert v.expanded(run) == "true" and v.box("stage1.1").count() == 1
    assert ("bn", "stage1.0/add") in v.skip_edges("identity")
    v.pick("stage1.0/add")
    assert "Merge of an identity skip" in v.info() and "body of 4 layers" in v.info()

    v.toggle("stage1")  # collapse: its inside is gone again
    assert v.expanded("stage1") == "false" and v.box("stage1.0.conv1").count() == 0

    v.find("stage2.0.shortcut")  # a layer deep inside a collapsed stage
    v.shot("2-search")
    assert v.in_view("stage2.0.shortcut")
    assert "On the shortcut of a projection skip" in v.info() and "Conv2d" in v.info()
    assert ("stage2.0.shortcut", "stage2.0/add") in v.skip_edges("projection")

    svg = ET.fromstring(v.download("export-svg"))
    drawn = {g.get("data-path") for g in svg.iter(SVG + "g")}
    assert {"stage2.0.shortcut", "stage2.0/add", "stage3"} <= drawn
    assert v.download("export-png").startswith(b"\x89PNG\r\n\x1a\n")
    v.check_clean()


@pytest.fixture(scope="module")
def keras_resnet(fixture_cache):
    pytest.importorskip("tensorflow")
    return fixture_cache.analysis("keras", "seed_resnet")


@pytest.mark.keras
def test_keras_seed_resnet(open_view, keras_resnet) -> None:
    a = keras_resnet
    v = open_view(a, "keras-seed-resnet")
    v.shot("0-open")
    # a flat model, given modules (core/inferred.py): it opens at its stem, stages and head
    top = [p[-1] for p in a.tree[()].children if not a.tree[p].leaf]
    assert top == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    assert [v.expanded(p) for p in top] == ["false"] * len(top)
    v.toggle("stage2")  # its downsampling block, then its run of identity blocks folded
    v.shot("1-stage2")
    block = next(b for b in a.blocks if b.parent == ("stage2",))
    run = f"{block.members[0]} \u2026 {block.members[-1]}"
    assert int(v.box(run).get_attribute("data-repeat")) == block.count == 4
    assert "4 identity" in v.box(run).text_content()  # the folded ones are counted on their box
    first = a.tree[("stage2",)].children[0][-1]
    v.toggle(first)  # the projection drawn: fork -> shortcut -> merge
    projection = {s.merge for s in a.skips if s.kind.value == "projection"} & set(a.tree[("stage2", first)].layers)
    assert projection and {dst for _, dst in v.skip_edges("projection")} >= projection
    v.toggle(run)
    v.shot("2-unfolded")
    assert all(v.box(m).count() == 1 for m in block.members)
    v.pick(block.members[1], hover=True)
    assert "ResidualBlock" in v.info()
    v.toggle(run)  # fold it again
    assert v.box(run).get_attribute("aria-expanded") == "false"
    v.check_clean()


@pytest.fixture(scope="module")
def gpt2(fixture_cache):
    pytest.importorskip("transformers")

    return fixture_cache.analysis("torch", "gpt2_tiny")


@pytest.mark.torch
def test_gpt2_tiny(open_view, gpt2) -> None:
    v = open_view(gpt2, "gpt2-tiny")
    v.shot("0-open")
    assert v.expanded("transformer") == "true"  # the one container holding the model opens itself
    run = "transformer.h.0 \u2026 transformer.h.1"
    assert v.box(run).get_attribute("data-repeat") == "2" and "GPT2Block" in v.box(run).text_content()

    v.find("transformer.h.1.mlp.c_fc")
    v.shot("1-search")
    assert v.in_view("transformer.h.1.mlp.c_fc") and v.expanded("transformer.h.1") == "true"
    assert ("transformer.h.1/add", "transformer.h.1/add_1") in v.skip_edges("identity")

    rejected = gpt2.rejections[0]  # a merge that is not a skip says why
    v.find(rejected.merge)
    v.pick(rejected.merge)
    assert "Not a skip connection: " + rejected.reason in v.info()
    v.check_clean()


# ------------------------------------------------------------------ 50,000 ops


@pytest.fixture(scope="module")
def synthetic_50k():
    from benchmarks.synthetic import resnet_of_size

    return mm.analyze(resnet_of_size(50_000))


def test_synthetic_50k_ops(open_view, synthetic_50k) -> None:
    a = synthetic_50k
    assert a.op_count >= 49_000
    v = open_view(a, "synthetic-50k")
    assert len(v.paths()) <= 12  # only the top level is drawn; stages 2-4 are alike, folded x 3
    assert v.box("layer2 \u2026 layer4").get_attribute("data-repeat") == "3"
    v.toggle("layer1")
    run = next(p for p in v.paths() if p.startswith("layer1.0 \u2026"))
    count = int(v.box(run).get_attribute("data-repeat"))
    assert count > 1500
    v.toggle(run)  # a long run unfolds a page at a time
    v.shot("0-unfolded")
    paths = v.paths()
    assert "layer1.7" in paths and "layer1.8" not in paths and len(paths) < 40
    rest = next(p for p in paths if p.startswith("layer1.8 \u2026"))
    assert int(v.box(rest).get_attribute("data-repeat")) == count - 8

    v.find("layer2.1234.b.conv")
    v.shot("1-search")
    assert v.in_view("layer2.1234.b.conv") and len(v.paths()) < 80
    v.check_clean()


def test_drawing_options_set_the_first_view(open_view) -> None:
    """--depth N opens the modules above depth N; --no-fold opens the runs; LR lays out to the right."""
    a = seed_analysis("seed_resnet")
    v = open_view(a, "seed-depth2-lr", DrawOptions(depth=2, fold=False, direction="LR"))
    v.shot("0-open")
    assert [v.expanded(f"stage{i}") for i in range(1, 5)] == ["true"] * 4
    assert v.expanded("stage2.1 \u2026 stage2.4") == "true" and v.expanded("stage2.1") == "false"
    x = [v.box(p).bounding_box()["x"] for p in ("stage1", "stage2", "stage3")]
    assert x == sorted(x) and x[0] < x[1] < x[2]  # left to right
    v.check_clean()


def test_a_flat_graph_is_drawn_a_window_at_a_time(open_view) -> None:
    """An ONNX file without hierarchy puts every op at the top: 60 are drawn, the rest wait in boxes."""
    from modelmap.core import analyze_onnx

    relus = [onnx.helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu_{i}") for i in range(300)]
    graph = onnx.helper.make_graph(relus, "flat", [onnx.helper.make_tensor_value_info("t0", onnx.TensorProto.FLOAT, [1, 4])],
                                   [onnx.helper.make_tensor_value_info("t300", onnx.TensorProto.FLOAT, [1, 4])])
    a = analyze_onnx(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]))
    v = open_view(a, "flat-300")
    later = "relu_59 \u2026 output"
    assert len(v.paths()) == 61 and v.box(later).get_attribute("data-more") == "242"
    v.toggle(later)
    assert "relu_118" in v.paths() and v.box("relu_119 \u2026 output").count() == 1
    v.find("relu_250")  # the window moves to the layer searched for
    v.shot("0-search")
    assert v.in_view("relu_250") and len(v.paths()) == 62
    assert v.box("t0 \u2026 relu_219").get_attribute("data-more") == "221"  # and the ones before it wait too
    v.check_clean()


# ------------------------------------------------------------------ hostile names, and the notebook


def test_hostile_names_are_shown_and_inert(open_view) -> None:
    a = seed_analysis("hostile")
    v = open_view(a, "hostile", DrawOptions(fold=False))
    assert v.page.title().startswith("<script>alert(1)</script>")  # the model's name, as text
    script = next(layer.name for layer in a.layers if "<script>" in layer.name)
    v.find("<script>alert")
    v.shot("0-search")
    assert script in v.paths()
    assert v.page.inner_text("#info").splitlines()[0] == script
    quote = next(layer.name for layer in a.layers if layer.name.startswith("quote"))
    v.find(quote)
    assert v.box(quote).count() == 1
    # the page still runs exactly its own three scripts; nothing a name held became markup
    assert v.page.evaluate("document.scripts.length") == 3
    assert v.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert not any(h in v.page.content().split('id="modelmap-data"')[0] for h in HOSTILE if "<" in h)
    v.check_clean()


def test_notebook_bundle_runs_in_a_sandboxed_iframe(browser) -> None:
    bundle = repr_html_bundle(seed_analysis("seed_resnet"))
    assert list(bundle) == ["text/html"] and bundle["text/html"].startswith("<iframe srcdoc=")
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_content(bundle["text/html"])
    frame = page.frames[1]
    frame.wait_for_selector("body[data-renders='1']", timeout=60_000)
    assert frame.locator('[data-path="stage1"]').get_attribute("aria-expanded") == "false"
    assert errors == []
    page.close()
