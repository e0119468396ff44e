"""Hostile names come out valid and inert in every format, and shown as they are.

The escaping functions are tested against the real consumer: Graphviz must show a
``dot_string`` label literally, an XML parser must read ``xml_text`` back unchanged.
Then a model whose every node, tensor, module and graph name is hostile goes through
every exporter. (Mermaid's own parser sees these diagrams in ``test_export_golden``,
which renders every Mermaid output in one mermaid-cli run.)
"""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import onnx
import pytest

from modelmap._errors import InputError, ModelmapError
from modelmap.exporters import DrawingWarning, DrawOptions, dot_string, export, generate, mermaid_string, xml_text
from modelmap.exporters._escape import _NEWLINES, _clean
from modelmap.exporters.render import check_svg

from .test_export_models import HOSTILE, dot_json, seed_analysis

SVG = "{http://www.w3.org/2000/svg}"
EXTRA = ["  two  spaces  ", "trailing \\", '"', "\\", "", "\u2028para\u2029sep", "\x85nel"]
CASES = HOSTILE + EXTRA


def _shown(text: str) -> list[str]:
    """What a consumer should display for ``text``: its printable lines."""
    return _NEWLINES.split(_clean(text))


def test_dot_string_is_shown_literally_by_graphviz() -> None:
    dot = "digraph g {\n" + "".join(f"n{i} [label={dot_string(h)}, tooltip={dot_string(h)}];\n" for i, h in enumerate(CASES)) + "}\n"
    r = subprocess.run(["dot", "-Tsvg"], input=dot.encode("utf-8"), capture_output=True, timeout=120)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    root = ET.fromstring(r.stdout)
    seen = 0
    for g in root.iter(SVG + "g"):
        if g.get("class") != "node":
            continue
        i = int(g.find(SVG + "title").text[1:])
        shown = [(t.text or "").replace("\xa0", " ") for t in g.iter(SVG + "text")]
        # Graphviz leaves out empty lines; every other line is shown exactly
        assert [s for s in shown if s.strip()] == [ln for ln in _shown(CASES[i]) if ln.strip()], (CASES[i], shown)
        seen += 1
    assert seen == len(CASES)


@pytest.mark.parametrize("text", CASES)
def test_dot_string_is_one_quoted_token(text: str) -> None:
    s = dot_string(text)
    assert s.startswith('"') and s.endswith('"') and "\n" not in s and "\r" not in s
    body = s[1:-1]
    assert not re.search(r'(?<!\\)(\\\\)*"', body), "an unescaped quote ends the string early"
    assert "&" not in body.replace("&amp;", "")


@pytest.mark.parametrize("text", CASES)
def test_xml_text_reads_back_unchanged(text: str) -> None:
    esc = xml_text(text)
    el = ET.fromstring(f'<a title="{esc}">{esc}</a>')
    clean = _clean(text)
    assert (el.text or "") == clean.replace("\r\n", "\n").replace("\r", "\n")  # XML's own newline rule
    if not _NEWLINES.search(clean):
        assert el.get("title") == clean
    assert list(el) == []  # no element smuggled in


@pytest.mark.parametrize("text", CASES)
def test_mermaid_string_leaves_no_syntax_in_the_label(text: str) -> None:
    s = mermaid_string(text)
    assert s.startswith('"') and s.endswith('"')
    body = s[1:-1].replace("<br>", "")
    # only letters, digits, spaces, inert marks and entity codes remain
    assert re.fullmatch(r"(?:[\w .,:/+=*^~@!?$']|#\d+;)*", body), body
    for bad in ('"', "[", "]", "|", "%", "`", "<", ">", "-", "{", "}", "(", ")", "\n", ";;"):
        assert bad not in re.sub(r"#\d+;", "", body), bad
    # and the entity codes decode back to the shown text
    decoded = re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), s[1:-1]).replace("<br>", "\n")
    assert decoded.split("\n") == _shown(text)


# ------------------------------------------------------------ a hostile model, every format


@pytest.fixture(scope="module")
def hostile():
    return seed_analysis("hostile")


def test_hostile_names_reach_the_drawing(hostile) -> None:
    names = {layer.name for layer in hostile.layers}
    assert "<img src=x onerror=\"alert(1)\">" in names and "end" in names and "new\nline\r\nand\ttab" in names
    assert "<script>" in hostile.model.graph.name


@pytest.mark.parametrize("style", ["detailed", "paper"])
@pytest.mark.parametrize("fold", [False, True])
def test_hostile_dot_is_valid(hostile, style: str, fold: bool) -> None:
    text = generate(hostile, "dot", DrawOptions(style=style, fold=fold, title=None, fit="none"))  # every hostile name
    d = dot_json(text)  # Graphviz: exit 0, no syntax error or warning
    assert any(o["name"].startswith("cluster") for o in d["objects"])


def test_hostile_svg_is_inert_and_shows_the_names(hostile) -> None:
    svg = generate(hostile, "svg", DrawOptions(fold=False))
    check_svg(svg)
    root = ET.fromstring(svg.encode("utf-8"))
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    assert "script" not in tags and "foreignObject" not in tags
    for el in root.iter():
        assert not any(k.rsplit("}", 1)[-1].lower().startswith("on") for k in el.attrib), el.attrib
    texts = {(t.text or "").replace("\xa0", " ") for t in root.iter(SVG + "text")}
    assert "<img src=x onerror=\"alert(1)\">" in texts  # shown as text, not markup
    assert "&amp; &#0; &#x1F600; #quot; #35;" in texts
    # long names shortened, the ellipsis in the middle so that a distinguishing tail stays
    assert any(t.startswith("ünïcödé 漢字 ΩΩ") and "…" in t and len(t) <= 40 for t in texts)
    titles = [a for el in root.iter() for k, a in el.attrib.items() if k.endswith("title")]
    assert any("Ω" * 280 in t for t in titles)  # the tooltip keeps the full name


def test_hostile_pdf_png(hostile) -> None:
    assert generate(hostile, "pdf", DrawOptions()).startswith(b"%PDF")
    assert generate(hostile, "png", DrawOptions()).startswith(b"\x89PNG")


@pytest.mark.parametrize("fmt", ["mermaid", "markdown"])
def test_hostile_mermaid_has_no_raw_names(hostile, fmt: str) -> None:
    text = generate(hostile, fmt, DrawOptions(fold=False))
    for raw in ("<script", "<img", 'onerror="', "%% comment", "`markdown`", "a --> b", "{ a -> b }", "\n\n"):
        assert raw not in text, raw
    # every statement line is one of ours: ids are generated, keywords only ours
    body = text.split("flowchart TB\n", 1)[1].replace("```\n", "")
    for line in body.splitlines():
        assert re.match(
            r'\s*(subgraph (c\d+|legend)\["|direction (TB|LR)$|end$|(n\d+|more)(\(|\[|\(\()|(n\d+|lg\d+a\[" "\]) (-->|-\.->|==>)|'
            r"linkStyle [\d,]+ |classDef |class (n\d+|lg\d+[ab])(,(n\d+|lg\d+[ab]))* \w+$|style c\d+ |%% \")",
            line,
        ), line


def test_hostile_json_round_trips_every_name(hostile) -> None:
    text = generate(hostile, "json", DrawOptions())
    assert text.isascii()
    d = json.loads(text)
    assert [layer["name"] for layer in d["layers"]] == [layer.name for layer in hostile.layers]
    assert {n["id"] for n in d["graph"]["nodes"]} == {layer.name for layer in hostile.layers}


def test_hostile_onnx_is_valid_and_equivalent(hostile, tmp_path: Path) -> None:
    import onnxruntime as ort

    path = tmp_path / "hostile.onnx"
    export(hostile, path, DrawOptions(attachment=True))
    out = onnx.load(str(path))
    onnx.checker.check_model(out, full_check=True)
    names = [n.name for n in out.graph.node]
    assert len(set(names)) == len(names)
    x = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    run = lambda m: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})  # noqa: E731
    assert np.array_equal(run(hostile.model)[0], run(out)[0])
    side = json.loads((tmp_path / "hostile.attachment.json").read_text())
    assert {m["target"] for m in side["metadata"] if m["kind"] == "node"} <= set(names)


# --------------------------------------------------------------------------- limits (issue 12)
def _named(names: list[str]) -> onnx.ModelProto:
    from onnx import TensorProto, helper

    nodes, prev = [], "x"
    for i, name in enumerate(names):
        nodes.append(helper.make_node("Relu", [prev], [f"t{i}"], name=name))
        prev = f"t{i}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 4])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def test_a_javascript_name_is_a_harmless_tooltip_in_svg() -> None:
    import modelmap as mm

    svg = str(generate(mm.analyze(_named(["javascript:alert(1)", "JaVaScRiPt:x"])), "svg"))
    assert 'xlink:title="javascript:alert(1)' in svg  # Graphviz put it in a tooltip: text, not a link
    check_svg(svg)


@pytest.mark.parametrize(
    "svg",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><g onclick="alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink"><a x:href=" java\tscript:alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><a href="data:text/html,x"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><set attributeName="href" to="javascript:alert(1)"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
    ],
)
def test_check_svg_still_refuses_real_script(svg: str) -> None:
    with pytest.raises(ModelmapError, match="refusing to write SVG"):
        check_svg(svg)


def test_names_beyond_graphvizs_string_limit_are_drawn() -> None:
    import modelmap as mm

    a = mm.analyze(_named(["n" * 40_000, "<b>" * 10_000]))
    dot = str(generate(a, "dot"))
    assert max(len(line) for line in dot.splitlines()) < 16_384
    check_svg(str(generate(a, "svg")))  # before: Graphviz refused the file


def test_graphviz_gets_a_budget_of_boxes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import modelmap as mm

    a = mm.analyze(_named([f"op{i}" for i in range(60)]))
    monkeypatch.setenv("MODELMAP_GRAPHVIZ_NODES", "50")
    with pytest.raises(InputError, match=r"has 62 boxes, more than Graphviz's budget of 50 .*MODELMAP_GRAPHVIZ_NODES"):
        generate(a, "svg", DrawOptions(fold=False))
    assert not list(tmp_path.iterdir())
    assert "op59" in str(generate(a, "dot", DrawOptions(fold=False)))  # DOT text is no Graphviz run


def test_a_deep_model_over_budget_is_collapsed_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELMAP_GRAPHVIZ_NODES", "30")
    with pytest.warns(DrawingWarning, match=r"collapsed modules to depth \d"):
        svg = str(generate(seed_analysis("seed_resnet"), "svg", DrawOptions(fold=False)))
    check_svg(svg)
    assert svg.count('class="node"') <= 30


def test_graphviz_gets_a_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelmap.exporters.render import run_dot

    slow = "digraph { " + " ".join(f"n{i} -> n{(i * 7919) % 3000};" for i in range(3000)) + " }"
    monkeypatch.setenv("MODELMAP_GRAPHVIZ_SECONDS", "1")
    with pytest.raises(InputError, match=r"Graphviz did not finish laying out the diagram in 1 s .*MODELMAP_GRAPHVIZ_SECONDS"):
        run_dot(slow, "svg")


@pytest.mark.parametrize("fmt", ["dot", "mermaid", "html"])
def test_a_huge_graph_name_is_shortened_in_every_title(fmt: str) -> None:
    """A 20,000-character graph name (outside data) becomes a title of at most 160 characters
    that keeps its start and its end, in DOT, Mermaid and the HTML page."""
    import modelmap as mm

    model = _named(["a"])
    model.graph.name = "S" + "x" * 20_000 + "E"
    text = str(generate(mm.analyze(model), fmt))
    assert "x" * 200 not in text
    assert re.search(r"Sx{30,}(\u2026|#8230;)x{30,}E", text), text[:500]  # Mermaid writes the ellipsis as #8230;
