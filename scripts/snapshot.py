"""Snapshot every fixture's results, to prove a refactoring changes none of them.

    python scripts/snapshot.py OUT [--framework torch|keras|onnx] [--skip-heavy]

For each fixture: its converted ONNX (``OUT/onnx/NAME.onnx``; with ``--framework onnx`` these
are read back instead of converting again), ``analyze --json --explain`` at depth none, 1 and
2, and the drawings in DOT, Mermaid and JSON in the detailed, paper and depth-2 variants.
Compare two snapshots with ``diff -r`` (the ONNX files may differ by exporter randomness;
everything else must be byte-identical).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAVY = {"resnet50", "densenet121", "mobilenet_v2"}
SKIP = {"unsupported_op", "broken", "randomize_batchnorm"}


def fixtures(framework: str) -> dict[str, object]:
    module = __import__(f"fixtures.{framework}_models", fromlist=["x"])
    out = {}
    for name, fn in vars(module).items():
        if name.startswith("_") or name in SKIP or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
            continue
        if inspect.signature(fn).parameters:
            continue
        out[name] = fn
    return out


def dump(onnx_model, stem: str, out: Path) -> None:
    import modelmap as mm
    from modelmap.core import analyze_onnx

    a = analyze_onnx(onnx_model)
    for depth in (None, 1, 2):
        (out / "json").mkdir(parents=True, exist_ok=True)
        (out / "json" / f"{stem}.d{depth}.json").write_text(json.dumps(a.to_dict(depth=depth), indent=1))
        (out / "json" / f"{stem}.d{depth}.txt").write_text(a.summary(depth=depth, explain=True))
    (out / "draw").mkdir(parents=True, exist_ok=True)
    for variant, opts in {"detailed": {}, "paper": {"style": "paper"}, "depth2": {"depth": 2}}.items():
        for ext in ("dot", "mmd", "json"):
            mm.draw(a, out / "draw" / f"{stem}.{variant}.{ext}", **opts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--framework", choices=["torch", "keras", "onnx"], default="torch")
    ap.add_argument("--skip-heavy", action="store_true")
    args = ap.parse_args()
    import onnx

    import modelmap as mm

    (args.out / "onnx").mkdir(parents=True, exist_ok=True)
    if args.framework == "onnx":
        for path in sorted((args.out / "onnx").glob("*.onnx")):
            dump(onnx.load(path), path.stem, args.out)
            print(path.stem, flush=True)
        return
    for name, fn in fixtures(args.framework).items():
        if args.skip_heavy and name in HEAVY:
            continue
        if args.framework == "keras":
            import keras

            keras.backend.clear_session()
        made = fn()
        model, example = made if isinstance(made, tuple) else (made, None)
        stem = f"{args.framework}_{name}"
        onnx_model = mm.to_onnx(model, args.out / "onnx" / f"{stem}.onnx", example)
        dump(onnx_model, stem, args.out)
        print(stem, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    main()
