"""The drawn ONNX in the real viewers: Netron 9 (pip ``netron``) and Google's Model Explorer
(pip ``ai-edge-model-explorer`` with ``model-explorer-onnx``), both in headless Chromium
driven by Playwright.

Netron is served in-process on a free loopback port; Model Explorer runs as its own server
process (started first: it takes longest). One browser serves all tests. Nothing leaves
the machine: every request that is not to 127.0.0.1 is aborted.

What Netron shows is read from its SVG: a node's title is ``g.graph-node .node-item-type``
text, with "Show Names" on (the ``names`` option, stored in ``localStorage``) so that
titles are node names; a function call has an ``ƒ`` item that opens the function. What
Model Explorer shows is the graph collection its ONNX adapter sent to the page.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnx
import pytest

from modelmap.exporters import DrawOptions, export

from .conftest import skip_or_fail_without

pytestmark = pytest.mark.torch

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: Netron replaces window.eval (browser.js), which Playwright's evaluate needs: keep the real one.
KEEP_EVAL = "(() => { const e = window.eval; Object.defineProperty(window, 'eval', {get: () => e, set: () => {}}); })();"
SHOW_NAMES = "localStorage.setItem('options', JSON.stringify({names: true}));"
TITLES = "Array.from(document.querySelectorAll('#canvas g.graph-node')).map(n => n.querySelector('.node-item-type text').textContent)"
LOCAL = re.compile(r"^(?!http://127\.0\.0\.1[:/]).*")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("drawn")


class _ModelExplorer:
    """A Model Explorer server process with the ONNX adapter; it loads the model when the page asks."""

    def __init__(self, model: Path) -> None:
        exe = shutil.which("model-explorer", path=str(Path(sys.executable).parent))
        skip_or_fail_without(exe is not None, "Model Explorer (pip ai-edge-model-explorer) is not installed")
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [str(exe), str(model), "--extensions", "model_explorer_onnx", "--host", "127.0.0.1",
             "--port", str(self.port), "--no_open_in_browser"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._url: str | None = None

    def url(self) -> str:
        """The page for the model, once the server says it is up."""
        assert self.proc.stdout is not None
        while self._url is None:
            line = self.proc.stdout.readline()
            assert line, "Model Explorer did not start"
            if line.startswith(f"http://127.0.0.1:{self.port}/"):
                self._url = line.strip()
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep its log drained
        return self._url

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module", autouse=True)
def model_explorer(folder: Path) -> Iterator[_ModelExplorer]:
    """Started before anything else in this module: it takes longest to come up."""
    server = _ModelExplorer(folder / "gpt2_tiny.onnx")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def drawn(folder: Path, fixture_cache) -> dict[str, Path]:
    """gpt2_tiny (two transformer blocks that share a function), drawn nested."""
    pytest.importorskip("torch")
    path = folder / "gpt2_tiny.onnx"
    export(fixture_cache.analysis("torch", "gpt2_tiny"), path, DrawOptions())
    return {"gpt2_tiny": path}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    skip_or_fail_without(Path(CHROMIUM).exists(), "Chromium is not installed (./run tests installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _page(browser: Any, errors: list[str], init: str = "") -> Any:
    ctx = browser.new_context(viewport={"width": 1600, "height": 1200})
    ctx.route(LOCAL, lambda route: route.abort())
    if init:
        ctx.add_init_script(init)
    page = ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not LOCAL.match(m.location.get("url") or "http://127.0.0.1/") else None)
    return page


def _netron_build_date() -> float:
    """Netron asks to be updated 180 days after its build date: run its clock at that date."""
    import netron

    html = (Path(netron.__file__).parent / "index.html").read_text()
    stamp = re.search(r'<meta name="date" content="([^"]+)">', html)
    assert stamp is not None
    return time.mktime(time.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S")) + 86400


def _netron_titles(page: Any) -> list[str]:
    page.wait_for_function(f"() => {TITLES}.length > 0 && !document.body.classList.contains('spinner')")
    return page.evaluate(f"() => {TITLES}")


def _open(page: Any, node: str, children: list[str]) -> list[str]:
    """Click the ƒ of ``node`` and wait for the function's nodes."""
    page.locator(f"#canvas g.graph-node[id='node-name-{node}'] .node-item-type", has_text="\u0192").click()
    page.wait_for_function(f"() => {TITLES}.length === {len(children)}")
    return page.evaluate(f"() => {TITLES}")


def test_netron_shows_modules_and_opens_them(browser: Any, drawn: dict[str, Path]) -> None:
    import netron

    errors: list[str] = []
    address = netron.serve(str(drawn["gpt2_tiny"]), None, address=("127.0.0.1", _free_port()), browse=False)
    try:
        url = f"http://{address[0]}:{address[1]}/"
        page = _page(browser, errors, KEEP_EVAL + SHOW_NAMES)
        page.context.add_cookies([{"name": "consent", "value": "1", "url": url}])
        page.clock.set_fixed_time(_netron_build_date())
        page.goto(url)
        top = _netron_titles(page)
        assert page.evaluate("() => document.body.className") == "default", errors
        assert top == ["transformer", "lm_head"]
        model = ["reshape", "wte", "wpe", "add", "h.0", "h.1", "ln_f", "reshape_1"]
        assert _open(page, "transformer", model) == model
        block = ["ln_1", "attn", "add", "ln_2", "mlp", "add_1"]
        assert _open(page, "h.0", block) == block  # the function both blocks share
        assert errors == []
        page.context.close()
    finally:
        netron.stop(address)


def test_model_explorer_shows_modules_and_their_functions(browser: Any, model_explorer: _ModelExplorer,
                                                          drawn: dict[str, Path]) -> None:
    errors: list[str] = []
    replies: list[dict] = []
    page = _page(browser, errors)

    def keep(response: Any) -> None:
        if "/apipost/" in response.url:
            replies.append(response.json())

    page.on("response", keep)
    page.goto(model_explorer.url())
    page.wait_for_function("() => document.body.innerText.includes('nodes')", timeout=120_000)
    assert errors == []
    shown = page.evaluate("() => document.body.innerText")
    assert "Failed" not in shown and "rror" not in shown, shown[:500]
    graphs = {g["id"]: g for r in replies for c in r.get("graphCollections", [r]) for g in c.get("graphs", [])}
    assert graphs, replies
    main = graphs[onnx.load(str(drawn["gpt2_tiny"])).graph.name]
    ops = [n for n in main["nodes"] if n["label"] not in ("Input", "Output", "Initializer")]
    assert [n["id"] for n in ops] == ["transformer", "lm_head"]
    assert [n["label"] for n in ops] == ["modelmap::GPT2Model", "modelmap::Linear"]
    body = graphs[ops[0]["subgraphIds"][0]]
    inner = [n["id"] for n in body["nodes"] if n["label"] not in ("Input", "Output", "Initializer")]
    assert inner == ["reshape", "wte", "wpe", "add", "h.0", "h.1", "ln_f", "reshape_1"]
    assert all(n["namespace"] == body["id"] for n in body["nodes"] if n["id"] in inner)  # no groups repeat the path
    page.context.close()
