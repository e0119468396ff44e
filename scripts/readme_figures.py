"""The README's figures, regenerated: paper style, sized to be read on the page.

    .venv/bin/python scripts/readme_figures.py [--out docs]

Writes ``seed_resnet.paper.png`` (the seed residual network, PyTorch) and
``gpt2.paper.png`` (GPT-2 from ``fixtures/transformers_zoo.py``, 2 layers of width 32),
both at depth 2 with repeated blocks folded, as PNG at 144 dpi, drawn as ``modelmap draw``
draws them (cluster titles cleared of arrows) (a 9 pt label is 18 px
high on a screen at 100 %). Prints each figure's size in pixels and inches.
"""

from __future__ import annotations

import argparse
import struct
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import modelmap as mm  # noqa: E402
from dataclasses import replace  # noqa: E402

from modelmap.exporters import DrawOptions, generate  # noqa: E402

DPI = 144

#: file stem -> (factory, drawing options)
FIGURES = {
    "seed_resnet.paper": ("torch_models:seed_resnet", DrawOptions(style="paper", depth=2, fold=True, params=False)),
    "gpt2.paper": ("transformers_zoo:gpt2", DrawOptions(style="paper", depth=2, fold=True)),
}


def analysis(factory: str) -> mm.Analysis:
    module, name = factory.split(":")
    fixtures = __import__(f"fixtures.{module}", fromlist=[name])
    model, example = getattr(fixtures, name)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.analyze(model, example)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    return struct.unpack(">II", data[16:24])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, (factory, options) in FIGURES.items():
        png = generate(analysis(factory), "png", replace(options, dpi=DPI))  # as `modelmap draw` draws it
        (args.out / f"{stem}.png").write_bytes(png)
        w, h = png_size(png)
        print(f"{stem}.png: {w} x {h} px, {w / DPI:.1f} x {h / DPI:.1f} in")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
