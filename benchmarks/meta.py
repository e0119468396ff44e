"""Drawing very large models built on PyTorch's meta device: wall time and peak memory.

Each model is built under ``with torch.device("meta")`` (shapes, no values) and drawn to
SVG by ``modelmap.draw`` in its own fresh Python process, so peak RSS (ru_maxrss of the
child) is that run's alone. "draw s" starts once the model object exists; "process s" is
the whole child (imports, build, draw); "draw cpu s" is the CPU time of the draw, which a
loaded machine inflates less than wall time (Graphviz runs in a child process: not in it);
"analyze s" / "render s" split the draw into conversion and analysis, and Graphviz. The targets (issue 11): a Llama-3-70B-sized model
within 2 minutes and 4 GB, with its full parameter count and two identity skips per layer.

    .venv/bin/python benchmarks/meta.py                 # every model
    .venv/bin/python benchmarks/meta.py --only llama70b --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = {
    "llama70b": """
from transformers import LlamaConfig, LlamaForCausalLM
config = LlamaConfig(hidden_size=8192, num_hidden_layers=80, num_attention_heads=64, num_key_value_heads=8,
                     intermediate_size=28672, vocab_size=128256, use_cache=False)
with torch.device("meta"):
    model = LlamaForCausalLM(config)
x = {"input_ids": torch.zeros(1, 16, dtype=torch.long)}
layers = config.num_hidden_layers
""",
    "gpt2_48x1600": """
from transformers import GPT2Config, GPT2LMHeadModel
config = GPT2Config(n_layer=48, n_embd=1600, n_head=25, use_cache=False)
with torch.device("meta"):
    model = GPT2LMHeadModel(config)
ids = torch.zeros(1, 16, dtype=torch.long)
x = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
layers = config.n_layer
""",
}

CHILD = """
import json, os, resource, sys, time
t_start = time.perf_counter()
import torch
{build}
import modelmap as mm
t0, c0 = time.perf_counter(), time.process_time()
analysis = mm.analyze(model, x)
ta, ca = time.perf_counter(), time.process_time()
mm.draw(analysis, {out!r})
t1, c1 = time.perf_counter(), time.process_time()
skips = [s.kind.value for s in analysis.skips]
print(json.dumps({{
    "draw_s": t1 - t0, "draw_cpu_s": c1 - c0, "process_s": t1 - t_start,
    "analyze_s": ta - t0, "analyze_cpu_s": ca - c0, "render_s": t1 - ta,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "params": analysis.params, "model_params": sum(p.numel() for p in model.parameters()),
    "identity_skips": skips.count("identity"), "other_skips": len(skips) - skips.count("identity"),
    "layers": layers, "svg_kb": os.path.getsize({out!r}) / 1024,
}}))
"""


KEYS = ("draw_s", "draw_cpu_s", "analyze_s", "analyze_cpu_s", "render_s", "process_s", "peak_mb")


def measure(name: str) -> dict[str, float]:
    """One fresh process drawing ``name``; its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        code = CHILD.format(build=BUILD[name], out=f"{tmp}/{name}.svg")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise SystemExit(f"{name} failed:\n{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(BUILD), default=sorted(BUILD))
    ap.add_argument("--repeat", type=int, default=1, help="report the median of N runs")
    args = ap.parse_args()
    print(
        f"{'model':<14} {'draw s':>7} {'draw cpu s':>11} {'analyze s':>10} {'analyze cpu s':>14} {'render s':>9} "
        f"{'process s':>10} {'peak MB':>8} {'params':>15} {'skips':>12}"
    )
    for name in args.only:
        runs = [measure(name) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in KEYS}
        r = runs[0]
        ok = r["params"] == r["model_params"] and r["identity_skips"] == 2 * r["layers"] and not r["other_skips"]
        print(
            f"{name:<14} {med['draw_s']:>7.1f} {med['draw_cpu_s']:>11.1f} {med['analyze_s']:>10.1f} "
            f"{med['analyze_cpu_s']:>14.1f} {med['render_s']:>9.1f} {med['process_s']:>10.1f} {med['peak_mb']:>8.0f} "
            f"{r['params']:>15,} {r['identity_skips']:>5} ident. {'ok' if ok else 'WRONG'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
