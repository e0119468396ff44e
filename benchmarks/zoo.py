"""The transformers zoo through modelmap: route, numerics, skips, blocks, figure sizes.

For every factory of ``fixtures/transformers_zoo.py``, in its own Python process with
a timeout: convert (which route: dynamo, the TorchScript fallback and why, or the
failure and why), run the ONNX model in onnxruntime against the eager model, analyse,
compare the skip connections and repeated blocks found with the zoo's ``EXPECTED``,
check that every module that ran keeps its name, and draw a default and a
``--style paper`` SVG (size in inches, and the smallest text in pt once the figure is
scaled to 7 in wide).

    nice -n 10 .venv/bin/python benchmarks/zoo.py                    # all, table on stdout
    .venv/bin/python benchmarks/zoo.py --only t5,swin --json out.json

Writes ``benchmarks/zoo_results.json`` unless ``--json`` says otherwise. ``--bare``
measures without :mod:`modelmap.converters._torch_compat` (what it fixes).

``--figures DIR`` only draws: for every ``DIR/*.onnx`` (zoo models converted before, e.g.
by ``modelmap convert``) and, with ``--seeds``, the PyTorch seed models, the default
detailed and ``--style paper`` SVGs with no other option, each measured: size, smallest
text at 7 in wide and on a 7 x 9 in page (scaled by min(7 in / width, 9 in / height, 1)),
time, and whether modelmap warned. It uses only the public API, so running it with
another checkout first on ``PYTHONPATH`` measures that checkout (before/after)::

    .venv/bin/python benchmarks/zoo.py --figures /tmp/zoo-onnx --seeds --json /tmp/figures.json
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE_WIDTH_IN = 7.0
KINDS = ("identity", "projection", "concat", "gate")

CHILD = r"""
import contextlib, io, json, sys, tempfile, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import numpy as np, torch, onnxruntime as ort
from torch.utils import _pytree
import modelmap as mm
from modelmap.core import analyze_onnx
from fixtures import transformers_zoo as z
from zoo import svg_size
if {bare!r}:
    import modelmap.converters._torch_compat as compat
    compat.translations = lambda: {{}}
    compat.math_attention = contextlib.nullcontext
name = {name!r}
out = {{"name": name}}
model, x = z.FACTORIES[name]()
ran = set()
hooks = [m.register_forward_hook(lambda mod, i, o, n=n: ran.add(n)) for n, m in model.named_modules() if n]
with torch.no_grad():
    eager = [t.numpy() for t in _pytree.tree_leaves(model(**x)) if isinstance(t, torch.Tensor)]
for h in hooks:
    h.remove()
err = io.StringIO()
t0 = time.perf_counter()
try:
    with contextlib.redirect_stderr(err):
        proto = mm.to_onnx(model, None, x)
except Exception as e:
    out.update(route="failed", error=str(e)[:400], convert_s=time.perf_counter() - t0)
    print(json.dumps(out)); sys.exit(0)
out["convert_s"] = time.perf_counter() - t0
warn = [l for l in err.getvalue().splitlines() if "warning" in l]
out["fallback"] = warn[0][:400] if warn else ""
sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
got = sess.run(None, {{i.name: v.numpy() for i, v in zip(sess.get_inputs(), x.values())}})
out["ort_max_diff"] = max((float(np.abs(e - g).max()) for e, g in zip(eager, got)), default=None) if len(got) == len(eager) else "outputs differ in number"
t0 = time.perf_counter()
a = analyze_onnx(proto)
out["analyse_s"] = time.perf_counter() - t0
out["route"] = a.converter
out["op_count"] = a.op_count
out["skips"] = {{k: sum(s.kind.value == k for s in a.skips) for k in {kinds!r}}}
out["skip_list"] = [[s.kind.value, s.fork, s.merge] for s in a.skips]
out["blocks"] = [[".".join(b.parent[-1:]) or "", b.name, b.count] for b in a.blocks]
names = {{l.name for l in a.layers}} | {{p[-1] for p in a.tree if p}}
out["names_missing"] = sorted(ran - names)
with tempfile.TemporaryDirectory() as tmp:
    for style in ("detailed", "paper"):
        t0 = time.perf_counter()
        try:
            mm.draw(a, f"{{tmp}}/{{style}}.svg", style=style)
            out[style] = svg_size(open(f"{{tmp}}/{{style}}.svg", encoding="utf-8").read())
        except Exception as e:
            out[style] = {{"error": str(e)[:200]}}
        out[style]["draw_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def svg_size(svg: str) -> dict[str, float]:
    """Width and height in inches, smallest font in pt, and that font once scaled to 7 in wide.

    >>> svg_size('<svg xmlns="http://www.w3.org/2000/svg" width="144pt" height="72pt">'
    ...          '<text font-size="14.00">a</text><text font-size="10">b</text></svg>')
    {'width_in': 2.0, 'height_in': 1.0, 'min_font_pt': 10.0, 'min_font_at_7in': 35.0}
    """
    root = ET.fromstring(svg.encode("utf-8"))
    width, height = (_points(root.get(k, "0")) for k in ("width", "height"))
    scale = 1.0
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        m = re.search(r"scale\(([\d.]+)", g.get("transform", ""))
        if m:
            scale = float(m.group(1))
            break
    fonts = [float(t.get("font-size")) * scale for t in root.iter() if t.tag.endswith("text") and t.get("font-size")]
    smallest = min(fonts) if fonts else 0.0
    return {
        "width_in": round(width / 72, 2),
        "height_in": round(height / 72, 2),
        "min_font_pt": round(smallest, 2),
        "min_font_at_7in": round(smallest * PAGE_WIDTH_IN * 72 / width, 2) if width else 0.0,
    }


def page_text(size: dict[str, float], page: tuple[float, float] = (7.0, 9.0)) -> float:
    """The smallest text once the figure is scaled to ``page`` (inches), never enlarged.

    >>> page_text({"width_in": 14.0, "height_in": 9.0, "min_font_pt": 9.0})
    4.5
    """
    scale = min(page[0] / size["width_in"], page[1] / size["height_in"], 1.0) if size["width_in"] else 1.0
    return round(size["min_font_pt"] * scale, 2)


def figures(analyses: dict[str, object]) -> list[dict]:
    """The default detailed and paper figures of each analysis, measured (see the module docstring)."""
    import tempfile
    import warnings

    import modelmap as mm

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, analysis in analyses.items():
            row: dict = {"name": name}
            for style in ("detailed", "paper"):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    t0 = time.perf_counter()
                    mm.draw(analysis, f"{tmp}/{style}.svg", style=style)
                    elapsed = time.perf_counter() - t0
                size = svg_size(Path(f"{tmp}/{style}.svg").read_text(encoding="utf-8"))
                said = [str(w.message) for w in caught if "closest" in str(w.message)]
                row[style] = {**size, "at_7x9": page_text(size), "draw_s": round(elapsed, 2), "warned": bool(said)}
            results.append(row)
            print(f"{name}: {row['paper']}", file=sys.stderr, flush=True)
    return results


def figure_table(results: list[dict]) -> str:
    """Markdown: per model and style, size in inches and smallest text at 7 in wide and at 7 x 9 in."""
    head = ("model", "detailed in", "pt@7in", "pt@7x9", "paper in", "pt@7in", "pt@7x9", "paper s", "warned")
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        d, p = r["detailed"], r["paper"]
        rows.append("| " + " | ".join(str(x) for x in (
            r["name"], f"{d['width_in']}x{d['height_in']}", d["min_font_at_7in"], d["at_7x9"],
            f"{p['width_in']}x{p['height_in']}", p["min_font_at_7in"], p["at_7x9"], p["draw_s"],
            "yes" if p["warned"] else "",
        )) + " |")
    return "\n".join(rows)


def figure_models(folder: str, seeds: bool) -> dict[str, object]:
    """Analyses of ``folder/*.onnx`` (sorted by the zoo's order when they are zoo names) and the seeds."""
    import onnx

    from modelmap.core import analyze_onnx
    from fixtures import transformers_zoo as z

    order = {n: i for i, n in enumerate(z.FACTORIES)}
    paths = sorted(Path(folder).glob("*.onnx"), key=lambda p: (order.get(p.stem, len(order)), p.stem))
    out: dict[str, object] = {p.stem: analyze_onnx(onnx.load(str(p))) for p in paths}
    if seeds:
        import modelmap as mm
        from fixtures import torch_models

        for name in ("seed_resnet", "seed_plain", "small_cnn", "mlp", "convnet"):
            out[f"seed:{name}"] = mm.analyze(*getattr(torch_models, name)())
    return out


def _points(value: str) -> float:
    """``"123.5pt"`` -> 123.5; ``"2in"`` -> 144; ``"96px"`` -> 72."""
    m = re.fullmatch(r"([\d.]+)\s*(pt|in|px)?", value.strip())
    if not m:
        return 0.0
    factor = {"in": 72.0, "px": 0.75}.get(m.group(2) or "pt", 1.0)
    return float(m.group(1)) * factor


def measure(name: str, timeout: float, bare: bool = False) -> dict:
    """One zoo model in a fresh process; a timeout or a crash is a result too.

    ``bare``: without :mod:`modelmap.converters._torch_compat` (the grouped-mm
    translation and math attention), to show what they fix.
    """
    code = CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), name=name, kinds=KINDS, bare=bare)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"name": name, "route": "failed", "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0 or not lines:
        tail = [line for line in r.stderr.strip().splitlines() if line.strip()][-1:] or ["no output"]
        return {"name": name, "route": "failed", "error": f"exit {r.returncode}: {tail[0][:300]}"}
    out = json.loads(lines[-1])
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    return out


def compare(result: dict, expected: object) -> None:
    """Add the expected counts and blocks, and whether the found ones match, to ``result``."""
    want = dict(zip(KINDS, expected.skips))
    result["expected_skips"] = want
    result["skips_ok"] = result.get("skips") == want
    result["expected_blocks"] = [list(b) for b in expected.blocks]
    found = {(parent, count) for parent, _, count in result.get("blocks", [])}
    result["blocks_ok"] = all((parent, n) in found for parent, n in expected.blocks)


def route_label(r: dict) -> str:
    if r.get("route") == "failed":
        return "FAILED"
    return "torchscript" if "torchscript" in r.get("route", "") else "dynamo"


def table(results: list[dict]) -> str:
    """A Markdown table, one row per model."""
    head = ("model", "route", "ort diff", "skips i/p/c/g found", "expected", "blocks found", "expected",
            "names", "default in", "paper in", "paper pt@7in", "s")
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        fmt = "/".join(str(r.get("skips", {}).get(k, "-")) for k in KINDS)
        exp = "/".join(str(r["expected_skips"][k]) for k in KINDS)
        blocks = ", ".join(f"{p or '(model)'} x{n}" for p, _, n in r.get("blocks", [])) or "-"
        eblocks = ", ".join(f"{p or '(model)'} x{n}" for p, n in r["expected_blocks"]) or "-"
        size = lambda s: f"{r[s]['width_in']}x{r[s]['height_in']}" if "width_in" in r.get(s, {}) else "-"  # noqa: E731
        diff = r.get("ort_max_diff")
        rows.append("| " + " | ".join((
            r["name"], route_label(r), f"{diff:.1e}" if isinstance(diff, float) else str(diff or "-"),
            fmt + ("" if r.get("skips_ok") else " ✗"), exp, blocks + ("" if r.get("blocks_ok") else " ✗"), eblocks,
            "ok" if r.get("names_missing") == [] else str(len(r.get("names_missing", "?"))) + " missing",
            size("detailed"), size("paper"), str(r.get("paper", {}).get("min_font_at_7in", "-")),
            str(r.get("wall_s", "-")),
        )) + " |")
    return "\n".join(rows)


def main() -> None:
    from fixtures import transformers_zoo as z

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated factory names")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per model")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "zoo_results.json"))
    parser.add_argument("--bare", action="store_true", help="without modelmap's export fixes (_torch_compat)")
    parser.add_argument("--table", action="store_true", help="no runs: compare and tabulate the saved JSON")
    parser.add_argument("--figures", metavar="DIR", help="only draw and measure DIR/*.onnx (see the docstring)")
    parser.add_argument("--seeds", action="store_true", help="with --figures: the PyTorch seed models too")
    args = parser.parse_args()
    if args.figures:
        results = figures(figure_models(args.figures, args.seeds))
        if args.json != parser.get_default("json"):
            Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
        print(figure_table(results))
        return
    if args.table:
        results = json.loads(Path(args.json).read_text(encoding="utf-8"))
        for r in results:
            compare(r, z.EXPECTED[r["name"]])
        print(table(results))
        return
    names = args.only.split(",") if args.only else list(z.FACTORIES)
    results = []
    for name in names:
        r = measure(name, args.timeout, args.bare)
        compare(r, z.EXPECTED[name])
        results.append(r)
        print(f"{name}: {route_label(r)} {r.get('error') or r.get('fallback') or ''}", file=sys.stderr, flush=True)
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))


if __name__ == "__main__":
    main()
