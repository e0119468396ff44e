"""Benchmark: build the graph and run every analysis on synthetic graphs of 1k-100k ops.

    .venv/bin/python benchmarks/analysis.py             # the table (each case in a fresh process)
    .venv/bin/python benchmarks/analysis.py --sizes 1000 10000

Each case runs in its own subprocess so that its peak resident memory (``ru_maxrss``) is
its own; the baseline (Python + onnx + networkx imported, the model generated) is reported
too. Each case runs ``--repeat`` times (3 by default) and the run with the median total
is reported, so that one slow run (other load on the machine) does not skew the ratios. Times are wall-clock for the passes of :func:`modelmap.core.analyze_onnx`
(validation, shape inference, roles; layers, parameters; skips; blocks), their total,
and the process's CPU time for the same span (which other load on the machine does not
inflate). The targets: 100k ops in at most 20 s, and time(100k) / time(10k) at most 15.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KINDS = ("resnet", "transformer")


def run_one(kind: str, size: int) -> dict[str, object]:
    from modelmap.core.blocks import find_blocks
    from modelmap.core.graph import build_graph
    from modelmap.core.layers import group_layers
    from modelmap.core.pipeline import paused_gc
    from modelmap.core.skips import find_skips

    from benchmarks import synthetic
    from modelmap import _metadata as md

    model = synthetic.resnet_of_size(size) if kind == "resnet" else synthetic.transformer_of_size(size)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c0 = time.process_time()
    with paused_gc():  # as analyze_onnx does
        t0 = time.perf_counter()
        g = build_graph(model)
        t1 = time.perf_counter()
        grouping = group_layers(g, md.model_layers(model), md.model_framework(model))
        t2 = time.perf_counter()
        skips, rejections = find_skips(g, grouping.op_layer, {layer.name: layer.kind for layer in grouping.layers})
        t3 = time.perf_counter()
        blocks = find_blocks(grouping.layers, grouping.tree, skips)
        t4 = time.perf_counter()
    cpu = time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "kind": kind,
        "ops": len(model.graph.node),
        "layers": len(grouping.layers),
        "skips": len(skips),
        "rejections": len(rejections),
        "blocks": len(blocks),
        "graph_s": t1 - t0,
        "layers_s": t2 - t1,
        "skips_s": t3 - t2,
        "blocks_s": t4 - t3,
        "total_s": t4 - t0,
        "cpu_s": cpu,
        "base_mb": base_rss / 1024,
        "peak_mb": peak / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the median run is reported")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]))))
        return 0
    rows = []
    for kind in args.kinds:
        for size in args.sizes:
            runs = []
            for _ in range(max(1, args.repeat)):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", kind, str(size)],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**os.environ, "PYTHONHASHSEED": "0"},
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            runs.sort(key=lambda r: r["total_s"])
            rows.append(runs[len(runs) // 2])  # the median run
            r = rows[-1]
            times = ", ".join(f"{x['total_s']:.2f}" for x in runs)
            print(f"  {kind} {r['ops']} ops: {r['total_s']:.2f} s (runs: {times})", file=sys.stderr, flush=True)
    head = f"{'graph':<12}{'ops':>8}{'layers':>8}{'skips':>7}{'blocks':>7}  {'build':>6}{'layers':>7}{'skips':>7}{'blocks':>7}{'total s':>9}{'cpu s':>7}  {'peak MB':>8}{'(base)':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['kind']:<12}{r['ops']:>8}{r['layers']:>8}{r['skips']:>7}{r['blocks']:>7}  "
            f"{r['graph_s']:>6.2f}{r['layers_s']:>7.2f}{r['skips_s']:>7.2f}{r['blocks_s']:>7.2f}{r['total_s']:>9.2f}{r['cpu_s']:>7.2f}  "
            f"{r['peak_mb']:>8.0f}{r['base_mb']:>8.0f}"
        )
    by = {(r["kind"], r["ops"]): r for r in rows}
    for kind in args.kinds:
        sized = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["ops"])
        for small, big in itertools.pairwise(sized):
            ratio = big["total_s"] / max(small["total_s"], 1e-9)
            print(
                f"{kind}: time({big['ops']}) / time({small['ops']}) = {ratio:.1f} (ops x{big['ops'] / small['ops']:.1f})"
            )
    del by
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
