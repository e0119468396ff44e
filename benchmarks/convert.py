"""modelmap convert versus the bare converter call: wall time and peak memory.

Each measurement runs in its own fresh Python process, so peak RSS (ru_maxrss of the
child) is that conversion's alone; the framework import and the model build happen
before the timer starts and are the same for both sides.

    .venv/bin/python benchmarks/convert.py            # all models
    .venv/bin/python benchmarks/convert.py --only torch_resnet --repeat 3

"bare" is what a user would call without modelmap: ``torch.onnx.export(dynamo=True)``
(its default optimizer) or ``tf2onnx.convert.from_function``; "modelmap" is
``modelmap.to_onnx`` (export, constant folding, annotation, the framework's layer table,
checks) including writing the file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BUILD = {
    "torch_resnet": "from fixtures.torch_models import seed_resnet as f; model, x = f()",
    "torch_gpt2": "from fixtures.torch_models import gpt2_tiny as f; model, x = f()",
    "keras_resnet50": (
        "import keras; model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3)); x = None"
    ),
}

BARE = {
    "torch": """
import torch
kwargs = x if isinstance(x, dict) else None
args = () if kwargs is not None else (x if isinstance(x, tuple) else (x,))
prog = torch.onnx.export(model, args, kwargs=kwargs, dynamo=True, external_data=False)
prog.save(out)
""",
    "keras": """
import tensorflow as tf, tf2onnx
spec = [tf.TensorSpec((1,) + tuple(t.shape[1:]), t.dtype, name=f"input_{i}") for i, t in enumerate(model.inputs)]
fn = tf.function(lambda *a: model(list(a) if len(a) > 1 else a[0]))
tf2onnx.convert.from_function(fn, input_signature=spec, output_path=out)
""",
}

MODELMAP = """
import modelmap
shape = None if x is not None else tuple((1,) + tuple(t.shape[1:]) for t in model.inputs)
modelmap.to_onnx(model, out, x, input_shape=shape)
"""

CHILD = """
import os, sys, time, resource, json, io, contextlib
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {root!r})
{build}
out = {out!r}
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
{body}
dt = time.perf_counter() - t0
print(json.dumps({{"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(name: str, side: str) -> dict[str, float]:
    framework = "keras" if name.startswith("keras") else "torch"
    body = BARE[framework] if side == "bare" else MODELMAP
    with tempfile.TemporaryDirectory() as tmp:
        code = CHILD.format(
            root=str(ROOT), build=BUILD[name], out=f"{tmp}/m.onnx",
            body="\n".join("    " + line for line in body.strip().splitlines()),
        )
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if r.returncode != 0:
            raise SystemExit(f"{name}/{side} failed:\n{r.stderr[-3000:]}")
        return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=sorted(BUILD), default=sorted(BUILD))
    ap.add_argument("--repeat", type=int, default=1, help="take the best of N runs")
    args = ap.parse_args()
    print(f"{'model':<16} {'bare s':>8} {'modelmap s':>11} {'overhead':>9} {'bare MB':>9} {'modelmap MB':>12}")
    for name in args.only:
        row = {}
        for side in ("bare", "modelmap"):
            runs = [measure(name, side) for _ in range(args.repeat)]
            row[side] = min(runs, key=lambda r: r["seconds"])
        b, m = row["bare"], row["modelmap"]
        print(
            f"{name:<16} {b['seconds']:>8.2f} {m['seconds']:>11.2f} {100 * (m['seconds'] / b['seconds'] - 1):>8.1f}% "
            f"{b['peak_mb']:>9.0f} {m['peak_mb']:>12.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
