"""Golden files of the seed models, and every text output through its real consumer.

The goldens in ``fixtures/golden/`` are the DOT, Mermaid and JSON of the PyTorch seed
models (``fixtures/torch_models.py``) as converted by the torch converter and analysed
by the core. Regenerate them all with ONE flag, then read the diff and look at the
pictures before committing::

    .venv/bin/python -m pytest tests/test_export_golden.py --update-goldens
    for f in fixtures/golden/*.dot; do dot -Tpng "$f" -o "/tmp/$(basename "$f").png"; done

Every golden DOT file goes through Graphviz (exit 0, nothing on stderr) and every
Mermaid diagram we make (goldens, hostile names, over-the-limit models) through the
real mermaid-cli, in one ``mmdc`` run.
"""

from __future__ import annotations

import difflib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from modelmap.exporters import DrawOptions, generate

from modelmap._io import atomic_write
from tests.conftest import skip_or_fail_without

from .test_export_formats import _flat_chain, _transformer
from .test_export_models import (
    MERMAID_ERRORS,
    ROOT,
    analyze,
    dot_json,
    mermaid_cli_available,
    render_mermaid,
    seed_analysis,
)

GOLDEN = ROOT / "fixtures" / "golden"
SEEDS = ["seed_resnet", "seed_plain", "small_cnn", "mlp", "convnet"]
EXT = {"dot": "dot", "mermaid": "mmd", "json": "json"}
VARIANTS = {
    "": DrawOptions(),
    "paper": DrawOptions(style="paper"),
    "depth2": DrawOptions(depth=2),
    "lr": DrawOptions(direction="LR", fold=True),
}
CASES = [(seed, fmt, "") for seed in SEEDS for fmt in EXT] + [
    ("seed_resnet", fmt, variant) for variant in ("paper", "depth2") for fmt in ("dot", "mermaid")
] + [("seed_plain", "dot", "lr")]


def golden_name(seed: str, fmt: str, variant: str) -> str:
    return f"{seed}{'.' + variant if variant else ''}.{EXT[fmt]}"


_CONVERTED: dict[str, object] = {}


def converted(seed: str):  # -> Analysis of the seed converted by the torch converter
    if seed not in _CONVERTED:
        pytest.importorskip("torch")
        import modelmap as mm
        from fixtures import torch_models

        model, example = getattr(torch_models, seed)()
        _CONVERTED[seed] = mm.analyze(model, example, weights=True)  # the Netron test runs it
    return _CONVERTED[seed]


def check_golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write(path, text)
        return
    assert path.exists(), f"no golden file {path}; make it with: pytest tests/test_export_golden.py --update-goldens"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "golden", "now", n=2))
        lines = diff.splitlines()
        pytest.fail(f"{name} differs from its golden file ({len(lines)} diff lines; --update-goldens to accept):\n" + "\n".join(lines[:80]))


@pytest.mark.torch
@pytest.mark.parametrize("seed, fmt, variant", CASES, ids=[golden_name(*c) for c in CASES])
def test_golden(seed: str, fmt: str, variant: str, update_goldens: bool) -> None:
    text = generate(converted(seed), fmt, VARIANTS[variant])
    check_golden(golden_name(seed, fmt, variant), text, update_goldens)


def _goldens(ext: str) -> list[Path]:
    files = sorted(GOLDEN.glob(f"*.{ext}"))
    assert files, f"no golden .{ext} files in {GOLDEN}"
    return files


def test_golden_set_is_complete() -> None:
    present = {p.name for p in GOLDEN.iterdir() if p.suffix in (".dot", ".mmd", ".json")}
    assert present == {golden_name(*c) for c in CASES}


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.dot")), ids=lambda p: p.name)
def test_golden_dot_renders_cleanly_with_graphviz(path: Path) -> None:
    d = dot_json(path.read_text(encoding="utf-8"))
    assert d["objects"], "no nodes"


def _mermaid_cases() -> dict[str, str]:
    cases = {p.name: p.read_text(encoding="utf-8") for p in _goldens("mmd")}
    hostile = seed_analysis("hostile")
    # (hostile has no repeated blocks: folding changes nothing there)
    cases["hostile.detailed"] = generate(hostile, "mermaid", DrawOptions())
    cases["hostile.paper.lr.depth1"] = generate(hostile, "mermaid", DrawOptions(style="paper", direction="LR", depth=1))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases["transformer48.collapsed"] = generate(analyze(_transformer(48)), "mermaid", DrawOptions(fold=False))
        cases["chain700.cut"] = generate(analyze(_flat_chain(700)), "mermaid", DrawOptions())
    return cases


def test_every_mermaid_output_renders_with_mermaid_cli(tmp_path: Path) -> None:
    skip_or_fail_without(mermaid_cli_available(), "mermaid-cli not installed: ./run tests installs it into .tools/")
    cases = _mermaid_cases()
    svgs = render_mermaid(cases, tmp_path)
    for name, svg in svgs.items():
        assert not MERMAID_ERRORS.search(svg), f"{name} renders as an error"
        root = ET.fromstring(svg)
        tags = {el.tag.rsplit("}", 1)[-1].lower() for el in root.iter()}
        assert "script" not in tags, name
        for el in root.iter():
            assert not any(k.rsplit("}", 1)[-1].lower().startswith("on") for k in el.attrib), (name, el.attrib)
        # the nodes we wrote are the nodes drawn
        ids = set(re.findall(r"^\s+(n\d+)[(\[]", cases[name], re.M))
        drawn = set(re.findall(r'id="[^"]*flowchart-(n\d+)-\d+"', svg))
        assert ids == drawn, (name, sorted(ids ^ drawn)[:10])
    text = "".join(el for el in ET.fromstring(svgs["hostile.detailed"]).itertext())
    assert "<img src=x onerror=\"alert(1)\">" in text  # shown as text
    assert "digraph { a -> b }" in text


@pytest.mark.torch
def test_netron_onnx_of_a_converted_seed_is_valid_and_equivalent() -> None:
    import numpy as np
    import onnx
    import onnxruntime as ort

    a = converted("seed_resnet")
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)

    def run(m):
        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return sess.run(None, {sess.get_inputs()[0].name: x})[0]

    for flat in (False, True):
        out = onnx.load_from_string(generate(a, "onnx", DrawOptions(flat=flat)))
        onnx.checker.check_model(out, full_check=True)
        assert np.array_equal(run(a.model), run(out))
        nodes = list(out.graph.node) + [n for f in out.functions for n in f.node]
        docs = [n.doc_string for n in nodes if n.op_type == "Conv" and "shortcut" in n.name]
        assert len(docs) == 3 and all("projection shortcut" in d for d in docs)
