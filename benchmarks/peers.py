"""modelmap side by side with torchview and Keras' plot_model: time to a diagram, and memory.

Each run is a fresh Python process that imports the framework, builds the model, draws it
as SVG (``plot_model``: PNG, its SVG route fails where IPython is installed) and exits. Measured per run: the whole process (wall time, as the parent sees it),
"in-process" (from the built model to the written file, as a notebook user sees it) and
peak RSS. modelmap runs twice on one cache folder: "first" (an empty cache) and "second"
(the same model again: a cache hit). The tools are interleaved run by run, and each
figure is the median of ``--repeat`` runs (3 by default).

    .venv/bin/python benchmarks/peers.py                          # all five models
    .venv/bin/python benchmarks/peers.py --models seed_resnet gpt2_12 --quick
    .venv/bin/python benchmarks/peers.py --modelmap-path /tmp/main-pkg   # another modelmap (say, main's)

``--quick`` runs once and leaves out Keras ResNet50. ``--modelmap-path DIR`` puts DIR first
on the children's ``sys.path`` (a folder holding a ``modelmap`` package), to compare
another version of modelmap on the same models. The models (factories below): the seed
ResNet, a ResNet-50 (bottleneck stages 3-4-6-3, 224x224), GPT-2 with 12 layers (GPT2Model
from its default config, 32 tokens), and in Keras the seed ResNet and ResNet50
(``keras.applications``, no pretrained weights).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: model -> (framework, factory reference, peer)
MODELS = {
    "seed_resnet": ("torch", "fixtures.torch_models:seed_resnet", "torchview"),
    "resnet50": ("torch", "benchmarks.peers:resnet50", "torchview"),
    "gpt2_12": ("torch", "benchmarks.peers:gpt2_12", "torchview"),
    "keras_seed_resnet": ("keras", "fixtures.keras_models:seed_resnet", "plot_model"),
    "keras_resnet50": ("keras", "benchmarks.peers:keras_resnet50", "plot_model"),
}
HEAVY = {"keras_resnet50"}


# ----------------------------------------------------------------------------- factories


def resnet50() -> tuple[Any, Any]:
    """ResNet-50's layout (stem, bottleneck stages 3-4-6-3, head) from the fixtures' Bottleneck."""
    import torch
    from torch import nn

    from fixtures.torch_models import Bottleneck, conv_bn

    torch.manual_seed(0)
    layers: list[Any] = [conv_bn(3, 64, 7, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for i, (width, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3))):
        stage = []
        for b in range(blocks):
            stage.append(Bottleneck(cin, width, stride=2 if b == 0 and i > 0 else 1))
            cin = width * Bottleneck.expansion
        layers.append(nn.Sequential(*stage))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)]
    return nn.Sequential(*layers).eval(), torch.randn(1, 3, 224, 224)


def gpt2_12() -> tuple[Any, Any]:
    """GPT2Model with GPT-2 small's default config: 12 layers, width 768, 124M parameters."""
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    model = GPT2Model(GPT2Config(use_cache=False, attn_implementation="eager")).eval()
    return model, {"input_ids": torch.randint(0, 50257, (1, 32), generator=torch.Generator().manual_seed(0))}


def keras_resnet50() -> Any:
    import keras

    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))


# ----------------------------------------------------------------------------- one run

CHILD = """
import os, sys, time, json, resource
t_start = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path[:0] = {paths!r}
import importlib
module, name = {factory!r}.split(":")
made = getattr(importlib.import_module(module), name)()
model, x = made if isinstance(made, tuple) else (made, None)
t0 = time.perf_counter()
{draw}
t1 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"in_process": t1 - t0, "before_model": t0 - t_start, "peak_mb": peak}}))
"""

DRAW = {
    "modelmap": """
import modelmap as mm
mm.draw(model, {out!r}, x, input_shape=None if x is not None else tuple((1,) + tuple(t.shape[1:]) for t in model.inputs))
""",
    "torchview": """
from torchview import draw_graph
g = draw_graph(model, input_data=x, depth=3)
g.visual_graph.render(outfile={out!r}, format="svg", cleanup=True)
""",
    "plot_model": """
import keras
keras.utils.plot_model(model, to_file={out!r}, show_shapes=True)
""",
}


def run(tool: str, factory: str, cache: Path, paths: list[str]) -> dict[str, float]:
    """One fresh process: whole-process seconds, in-process seconds, peak MB."""
    with tempfile.TemporaryDirectory() as tmp:
        # plot_model returns an IPython Image when IPython is installed, which cannot hold an SVG
        out = f"{tmp}/diagram.{'png' if tool == 'plot_model' else 'svg'}"
        code = CHILD.format(paths=paths, factory=factory, draw=DRAW[tool].format(out=out).strip())
        env = {**os.environ, "MODELMAP_CACHE": str(cache)}
        env.pop("TORCH_LOGS", None)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        whole = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"{tool} on {factory} failed:\n{r.stderr[-3000:]}")
        if not Path(out).exists() or Path(out).stat().st_size == 0:
            raise SystemExit(f"{tool} on {factory} wrote no diagram")
        child = json.loads(r.stdout.strip().splitlines()[-1])
    return {"process": whole, "in_process": child["in_process"], "peak_mb": child["peak_mb"]}


def measure(model: str, repeat: int, paths: list[str]) -> dict[str, list[dict[str, float]]]:
    """``repeat`` rounds of: modelmap on an empty cache, the peer, modelmap again (a hit)."""
    framework, factory, peer = MODELS[model]
    runs: dict[str, list[dict[str, float]]] = {"first": [], "peer": [], "second": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            for kind, tool in (("first", "modelmap"), ("peer", peer), ("second", "modelmap")):
                runs[kind].append(run(tool, factory, Path(cache), paths))
                print(f"{model} {kind}: {json.dumps(runs[kind][-1])}", file=sys.stderr, flush=True)
    return runs


def median(runs: list[dict[str, float]], what: str) -> float:
    return statistics.median(r[what] for r in runs)


HEAD = ("| model | peer | process s: first / peer (ratio) | second (ratio) | in-process s: first / peer (ratio) "
        "| second (ratio) | peak MB: first / peer (ratio) |\n" + "| --- " * 7 + "|")


def row(model: str, runs: dict[str, list[dict[str, float]]]) -> str:
    """One table row: medians of the runs, ratios to the peer."""
    f, p, s = (runs[k] for k in ("first", "peer", "second"))
    cells = [model, MODELS[model][2]]
    for what in ("process", "in_process"):
        mf, mp, ms = median(f, what), median(p, what), median(s, what)
        cells += [f"{mf:.2f} / {mp:.2f} ({mf / mp:.1f}x)", f"{ms:.2f} ({ms / mp:.2f}x)"]
    mf, mp = median(f, "peak_mb"), median(p, "peak_mb")
    cells.append(f"{mf:.0f} / {mp:.0f} ({mf / mp:.1f}x)")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", choices=sorted(MODELS), default=list(MODELS))
    ap.add_argument("--repeat", type=int, default=3, help="runs per tool and model; medians are reported")
    ap.add_argument("--quick", action="store_true", help="one run each, without Keras ResNet50")
    ap.add_argument("--modelmap-path", default=None, help="a folder with another modelmap package, put first on sys.path")
    ap.add_argument("--json", default=None, help="also write the raw runs to this file")
    args = ap.parse_args()
    models = [m for m in args.models if not (args.quick and m in HEAVY)]
    paths = ([args.modelmap_path] if args.modelmap_path else []) + [str(ROOT)]
    print(f"load average at the start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    results = {}
    print(HEAD, flush=True)
    for model in models:
        results[model] = measure(model, 1 if args.quick else args.repeat, paths)
        print(row(model, results[model]), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
