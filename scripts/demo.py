"""The main job: the seed residual network in Keras and its PyTorch twin, end to end.

For each framework: convert, analyse (layers, skip connections, repeated blocks,
parameters), print what was found, and write to ``out/<framework>/``:
``seed_resnet.onnx`` (Netron-ready), ``.svg``, ``.png``, ``.mmd``, ``.json`` and a
print-friendly ``seed_resnet_paper.pdf``. Finally compare the two: the same architecture.

    ./run demo [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import modelmap as mm  # noqa: E402


def build(framework: str):
    """The seed model of one framework, with its example input (None for Keras)."""
    if framework == "keras":
        from fixtures.keras_models import seed_resnet

        return seed_resnet(), None
    from fixtures.torch_models import seed_resnet

    return seed_resnet()


def report(framework: str, analysis, seconds: float) -> None:
    skips = Counter(str(s.kind) for s in analysis.skips)
    print(f"\n== {framework}: seed residual network ({seconds:.1f} s to convert and analyse)")
    print(f"   {analysis.op_count} ONNX ops in {len(analysis.layers)} layers, {analysis.params:,} parameters")
    print(f"   {len(analysis.skips)} skip connections: " + ", ".join(f"{n} {k}" for k, n in sorted(skips.items())))
    for block in analysis.blocks:
        where = "/".join(block.parent) if isinstance(block.parent, tuple) else block.parent
        print(f"   repeated: {block.name} x{block.count} in {where or 'the model'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "out"), help="output folder [out/]")
    args = ap.parse_args()
    out = Path(args.out)
    analyses = {}
    for framework in ("keras", "pytorch"):
        t0 = time.perf_counter()
        model, example = build(framework)
        analysis = mm.analyze(model, example)
        analyses[framework] = analysis
        report(framework, analysis, time.perf_counter() - t0)
        folder = out / framework
        written = []
        for ext in (".onnx", ".svg", ".png", ".mmd", ".json"):
            written += mm.draw(analysis, folder / f"seed_resnet{ext}")
        written += mm.draw(analysis, folder / "seed_resnet_paper.pdf", style="paper", direction="LR")
        print("   wrote " + ", ".join(str(Path(p).relative_to(out.parent) if Path(p).is_relative_to(out.parent) else p) for p in written))
    cmp = mm.compare(analyses["keras"], analyses["pytorch"])
    verdict = "the same architecture" if cmp.same else "different architectures"
    print(f"\n== Keras vs PyTorch: {verdict}")
    if not cmp.same:
        print(cmp.summary() if hasattr(cmp, "summary") else cmp)


if __name__ == "__main__":
    main()
