"""``modelmap draw`` and ``modelmap.draw``: formats, options, errors, warnings, notebooks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner

import modelmap as mm
from modelmap._cli import cli
from modelmap.exporters import DrawOptions, repr_mimebundle, repr_svg

from .test_export_formats import _transformer
from .test_export_models import seed_analysis, seed_resnet, small_cnn


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "resnet.onnx"
    onnx.save(seed_resnet(), str(path))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "modelmap", *args], capture_output=True, text=True, env=env, timeout=300)


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize(
    "name, check",
    [
        ("out.dot", lambda p: "\ndigraph modelmap {\n" in p.read_text()),
        ("out.svg", lambda p: ET.parse(p).getroot().tag.endswith("svg")),
        ("out.pdf", lambda p: p.read_bytes().startswith(b"%PDF")),
        ("out.png", lambda p: p.read_bytes().startswith(b"\x89PNG")),
        ("out.mmd", lambda p: "flowchart TB" in p.read_text()),
        ("out.md", lambda p: p.read_text().startswith("```mermaid\n")),
        ("out.json", lambda p: json.loads(p.read_text())["framework"] == "pytorch"),
        ("out.onnx", lambda p: [n.name for n in onnx.load(str(p)).graph.node][4:6] == ["stage1", "stage2"]),
    ],
)
def test_draw_writes_the_format_its_extension_names(resnet_file: Path, tmp_path: Path, name: str, check) -> None:
    out = tmp_path / name
    r = invoke("draw", str(resnet_file), "-o", str(out))
    assert r.exit_code == 0, r.output
    assert r.output.strip() == f"wrote {out}"
    assert check(out)


def test_draw_options_reach_the_drawing(resnet_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "fig.txt"
    r = invoke("draw", str(resnet_file), "-o", str(out), "--format", "dot", "--style", "paper", "--direction", "lr",
               "--no-shapes", "--no-params", "--fold", "--depth", "3", "--title", "Figure 1")
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "rankdir=LR" in text and 'fontname="Times"' in text and 'label="Figure 1"' in text
    labels = re.findall(r'label="((?:[^"\\]|\\.)*)"', text)
    assert labels and not any("params" in lb or "1×64×32×32" in lb for lb in labels)
    assert "× 4" in text  # folded on request
    r = invoke("draw", str(resnet_file), "-o", str(tmp_path / "d2.dot"), "--depth", "2", "--no-fold")
    assert r.exit_code == 0 and "× 4" not in (tmp_path / "d2.dot").read_text()


def test_draw_markdown_format_and_attachment(resnet_file: Path, tmp_path: Path) -> None:
    r = invoke("draw", str(resnet_file), "-o", str(tmp_path / "README.snippet"), "--format", "markdown")
    assert r.exit_code == 0 and (tmp_path / "README.snippet").read_text().startswith("```mermaid")
    r = invoke("draw", str(resnet_file), "-o", str(tmp_path / "net.onnx"), "--attachment")
    assert r.exit_code == 0
    assert r.output.strip() == f"wrote {tmp_path / 'net.onnx'}, {tmp_path / 'net.attachment.json'}"


def test_draw_onnx_nests_modules_unless_flat(resnet_file: Path, tmp_path: Path) -> None:
    assert invoke("draw", str(resnet_file), "-o", str(tmp_path / "nested.onnx")).exit_code == 0
    assert invoke("draw", str(resnet_file), "-o", str(tmp_path / "flat.onnx"), "--flat").exit_code == 0
    nested, flat = onnx.load(str(tmp_path / "nested.onnx")), onnx.load(str(tmp_path / "flat.onnx"))
    source = onnx.load(str(resnet_file))
    assert nested.functions and not flat.functions
    assert len(flat.graph.node) == len(source.graph.node) > len(nested.graph.node)


def _one_error_line(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelmap: error: "), r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_draw_bad_output_is_exit_2_before_any_work(resnet_file: Path, tmp_path: Path) -> None:
    r = run_cli("draw", str(resnet_file), "-o", str(tmp_path / "out.gif"))
    _one_error_line(r, "unknown output extension '.gif'", ".svg")
    r = run_cli("draw", str(resnet_file), "-o", str(tmp_path / "out"), "--format", "bmp")
    _one_error_line(r, "unknown output format 'bmp'")
    r = run_cli("draw", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x.svg"))
    _one_error_line(r, "no such file")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    r = run_cli("draw", str(resnet_file), "-o", str(tmp_path / "x.svg"), "--depth", "0")
    assert r.returncode == 2 and "0" in r.stderr


def test_draw_without_graphviz_says_how_to_install_it(resnet_file: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path / "nothing-here")}
    r = run_cli("draw", str(resnet_file), "-o", str(tmp_path / "x.svg"), env=env)
    _one_error_line(r, "Graphviz", "apt-get install graphviz", "brew install graphviz")
    assert not (tmp_path / "x.svg").exists()
    r = run_cli("draw", str(resnet_file), "-o", str(tmp_path / "x.mmd"), env=env)
    assert r.returncode == 0 and (tmp_path / "x.mmd").exists()


def test_draw_warns_on_stderr_when_mermaid_must_simplify(tmp_path: Path) -> None:
    model = tmp_path / "gpt.onnx"
    onnx.save(_transformer(48), str(model))
    r = run_cli("draw", str(model), "-o", str(tmp_path / "gpt.mmd"), "--no-fold", "--fit", "none")
    assert r.returncode == 0, r.stderr
    warnings = [ln for ln in r.stderr.splitlines() if ln.startswith("modelmap: warning: ")]
    assert len(warnings) == 1 and "too large for Mermaid" in warnings[0], r.stderr
    assert "%% \"too large for Mermaid" in (tmp_path / "gpt.mmd").read_text()


# ------------------------------------------------------------------------------ API


def test_api_draw_takes_an_analysis_or_a_model(tmp_path: Path) -> None:
    a = seed_analysis("seed_resnet")
    assert mm.draw(a, tmp_path / "a.dot", depth=2) == [tmp_path / "a.dot"]
    assert "stage2.1" in (tmp_path / "a.dot").read_text()
    paper = mm.DrawOptions(style="paper")
    mm.draw(small_cnn(), tmp_path / "b.dot", options=paper, direction="LR")  # an onnx.ModelProto
    text = (tmp_path / "b.dot").read_text()
    assert 'fontname="Times"' in text and "rankdir=LR" in text
    with pytest.raises(mm.InputError, match="unknown output extension"):
        mm.draw(a, tmp_path / "a.xyz")
    with pytest.raises(mm.InputError, match="unknown drawing option"):
        mm.draw(a, tmp_path / "a.svg", colour="red")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dot", "b.dot"]


def test_notebook_repr_is_the_interactive_view_and_the_svg_diagram(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a = seed_analysis("small_cnn")
    svg = repr_svg(a)
    assert svg is not None and ET.fromstring(svg.encode()).tag.endswith("svg") and "conv1" in svg
    bundle = repr_mimebundle(a)
    assert set(bundle) == {"text/html", "image/svg+xml", "text/plain"} and "conv1" in bundle["text/plain"]
    assert bundle["text/html"].startswith("<iframe srcdoc=") and "conv1" in bundle["text/html"]
    # Jupyter asks the Analysis itself
    assert a._repr_mimebundle_() == bundle
    assert repr(a).startswith("<Analysis ") and "skips" in repr(a)
    assert set(repr_mimebundle(a, include={"text/plain"})) == {"text/plain"}
    monkeypatch.setenv("PATH", str(tmp_path))
    assert repr_svg(a) is None
    assert set(repr_mimebundle(a)) == {"text/html", "text/plain"}  # without Graphviz


def test_draw_options_are_shared_and_frozen() -> None:
    assert mm.DrawOptions is DrawOptions
    with pytest.raises(AttributeError):
        DrawOptions().depth = 3  # type: ignore[misc]
