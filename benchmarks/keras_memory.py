"""Where the Keras front end's memory and time go, stage by stage.

Each model runs in a fresh process that imports TensorFlow and Keras, builds the model and
draws it with ``mm.draw`` (structure only: ``ConvertOptions.weights`` is False), as
``benchmarks/peers.py`` does. Hooks on tf2onnx's and modelmap's functions cut the run into
stages; for each stage the table gives its seconds, the resident memory (VmRSS) at its end
and its own peak. The peak is VmHWM, reset at every stage boundary by writing ``5`` to
``/proc/self/clear_refs`` (Linux), so it sees TensorFlow's C++ memory, which tracemalloc
does not. The process's peak is the largest of them (resetting VmHWM resets ``ru_maxrss`` too).

    .venv/bin/python benchmarks/keras_memory.py                       # the seed ResNet
    .venv/bin/python benchmarks/keras_memory.py --models seed_resnet resnet50
    .venv/bin/python benchmarks/keras_memory.py --weights             # mm.to_onnx with weights
    .venv/bin/python benchmarks/keras_memory.py --modelmap-path DIR   # another modelmap (as in peers.py)

Keras ResNet50 takes half a minute and a few GB: run it alone.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

MODELS = {
    "seed_resnet": "fixtures.keras_models:seed_resnet",
    "resnet50": "benchmarks.peers:keras_resnet50",
    "mobilenet_v2": "fixtures.keras_models:mobilenet_v2",
}

#: (module, attribute, stage label) hooked in order; a class attribute is "Class.method"
HOOKS = (
    ("tf2onnx.tf_loader", "from_function", "freeze + grappler"),
    ("tf2onnx.tf_loader", "convert_variables_to_constants_v2", "freeze: variables to constants"),
    ("tf2onnx.tf_loader", "tf_optimize", "grappler"),
    ("tf2onnx.convert", "process_tf_graph", "op mapping"),
    ("tf2onnx.tfonnx", "compute_const_folding_using_tf", "op mapping: TensorFlow folds constants"),
    ("tf2onnx.tfonnx", "tensorflow_to_onnx", "op mapping: TensorFlow nodes to ONNX nodes"),
    ("tf2onnx.tfonnx", "process_parsed_graph", "op mapping: handlers, rewriters"),
    ("tf2onnx.optimizer", "optimize_graph", "tf2onnx optimizers"),
    ("tf2onnx.graph", "Graph.make_model", "make_model"),
    ("modelmap.converters.keras3", "annotate", "annotate"),
    ("modelmap.converters.keras3", "finish", "onnx checker"),
    ("modelmap._memo", "strip_float_weights", "strip weights"),
)


def _status() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


class Stages:
    """Stage boundaries: each mark closes the segment since the previous mark."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.last = time.perf_counter()
        self.reset()

    @staticmethod
    def reset() -> None:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")

    def mark(self, label: str) -> None:
        now = time.perf_counter()
        rss, hwm = _status()
        self.rows.append({"stage": label, "s": now - self.last, "rss_mb": rss, "peak_mb": hwm})
        self.reset()
        self.last = time.perf_counter()


def _hook(stages: Stages, module: str, attr: str, label: str) -> None:
    import importlib

    owner: Any = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stages.mark(f"(before {label})")
        try:
            return original(*args, **kwargs)
        finally:
            stages.mark(label)

    setattr(owner, name, wrapper)


def child(factory: str, weights: bool) -> None:
    """One run, in this process: prints the stage rows as JSON."""
    stages = Stages()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras  # noqa: F401  (TensorFlow's import, as plot_model pays it)
    import tensorflow  # noqa: F401

    stages.mark("import tensorflow, keras")
    import importlib

    module, name = factory.split(":")
    model = getattr(importlib.import_module(module), name)()
    stages.mark("build the model")
    import modelmap as mm
    import modelmap._memo  # noqa: F401
    import modelmap.converters.keras3  # noqa: F401
    import tf2onnx  # noqa: F401

    stages.mark("import modelmap, tf2onnx")
    for module, attr, label in HOOKS:
        _hook(stages, module, attr, label)
    shape = tuple((1,) + tuple(t.shape[1:]) for t in model.inputs)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if weights:
            mm.to_onnx(model, f"{tmp}/m.onnx", input_shape=shape, cache=False)
        else:
            mm.draw(model, f"{tmp}/m.svg", input_shape=shape, cache=False)
    in_process = time.perf_counter() - t0
    stages.mark("(to the end: analysis, drawing)" if not weights else "(to the end: writing)")
    peak = max(r["peak_mb"] for r in stages.rows)
    print(json.dumps({"rows": stages.rows, "in_process": in_process, "process_peak_mb": peak}))


def _merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fold repeated labels (tf2onnx's optimizers run make_model for subgraphs) and empty gaps."""
    out: list[dict[str, Any]] = []
    for r in rows:
        if r["stage"].startswith("(before") and r["s"] < 0.01 and out:
            out[-1]["peak_mb"] = max(out[-1]["peak_mb"], r["peak_mb"])
            continue
        if out and out[-1]["stage"] == r["stage"]:
            out[-1] = {**r, "s": out[-1]["s"] + r["s"], "peak_mb": max(out[-1]["peak_mb"], r["peak_mb"])}
        else:
            out.append(dict(r))
    return out


def report(model: str, weights: bool, modelmap_path: str | None) -> None:
    t0 = time.perf_counter()
    extra = (["--weights"] if weights else []) + (["--modelmap-path", modelmap_path] if modelmap_path else [])
    r = subprocess.run([sys.executable, __file__, "--child", MODELS[model], *extra], cwd=ROOT, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{model} failed:\n{r.stderr[-3000:]}")
    data = json.loads(r.stdout.strip().splitlines()[-1])
    print(f"\n{model} ({'with weights' if weights else 'structure only'}): process {whole:.2f} s, "
          f"in-process {data['in_process']:.2f} s, peak {data['process_peak_mb']:.0f} MB")
    print("| stage | s | RSS at end MB | stage peak MB |\n| --- | --- | --- | --- |")
    for row in _merge(data["rows"]):
        print(f"| {row['stage']} | {row['s']:.2f} | {row['rss_mb']:.0f} | {row['peak_mb']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", choices=sorted(MODELS), default=["seed_resnet"])
    ap.add_argument("--weights", action="store_true", help="convert with weights (mm.to_onnx) instead of drawing")
    ap.add_argument("--modelmap-path", default=None, help="a folder with another modelmap package, put first on sys.path")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        sys.path[:0] = ([args.modelmap_path] if args.modelmap_path else []) + [str(ROOT)]
        child(args.child, args.weights)
        return
    for model in args.models:
        report(model, args.weights, args.modelmap_path)


if __name__ == "__main__":
    main()
