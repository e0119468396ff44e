"""MACs of modelmap next to PyTorch's FlopCounterMode, torchinfo and fvcore.

Run: ``.venv/bin/python benchmarks/costs.py [factory ...]`` (factories of
``fixtures/torch_models.py``, or ``lstm`` for the recurrent model below; default: three
models). Prints one row per model: MACs by each tool and each one's ratio to modelmap.
FlopCounterMode reports FLOPs (2 per MAC); it runs with the math SDPA kernel, since
torch 2.13 has no FLOP formula for the CPU flash-attention kernel. torchinfo and fvcore
are optional (the ``dev`` extra installs them); a tool that fails prints its error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fixtures"))

DEFAULT = ("seed_resnet", "transformer_encoder", "gpt2_tiny", "lstm")


def lstm() -> tuple[Any, Any]:
    """A 2-layer bidirectional LSTM over 12 steps of 10 features, then a Linear: the tools
    differ most on recurrent layers."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = nn.LSTM(10, 16, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(32, 5)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.rnn(x)[0])

    torch.manual_seed(0)
    return Net().eval(), torch.randn(1, 12, 10)


def _call(model: Any, x: Any) -> Any:
    if isinstance(x, dict):
        return model(**x)
    if isinstance(x, tuple):
        return model(*x)
    return model(x)


def flop_counter_macs(model: Any, x: Any) -> int:
    """Half the FLOPs ``torch.utils.flop_counter.FlopCounterMode`` counts."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    # with grad enabled: under no_grad nn.TransformerEncoderLayer takes a fused fast path
    # that FlopCounterMode has no formula for (it counts 0)
    with sdpa_kernel(SDPBackend.MATH), counter:
        _call(model, x)
    return counter.get_total_flops() // 2


def torchinfo_macs(model: Any, x: Any) -> int:
    import torchinfo

    return int(torchinfo.summary(model, input_data=x, verbose=0).total_mult_adds)


def fvcore_macs(model: Any, x: Any) -> int:
    """fvcore counts one "flop" per MAC."""
    from fvcore.nn import FlopCountAnalysis

    inputs = tuple(x.values()) if isinstance(x, dict) else x if isinstance(x, tuple) else (x,)
    analysis = FlopCountAnalysis(model, inputs)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    return int(analysis.total())


def compare(names: tuple[str, ...]) -> list[tuple[str, dict[str, int | str]]]:
    import modelmap as mm
    import torch_models

    rows = []
    for name in names:
        model, x = lstm() if name == "lstm" else getattr(torch_models, name)()
        row: dict[str, int | str] = {"modelmap": mm.analyze(model, x).macs}
        for tool, fn in (("FlopCounterMode", flop_counter_macs), ("torchinfo", torchinfo_macs), ("fvcore", fvcore_macs)):
            try:
                row[tool] = fn(model, x)
            except Exception as e:  # noqa: BLE001 - a tool that cannot run says why
                row[tool] = f"error: {type(e).__name__}"
        rows.append((name, row))
    return rows


def main(argv: list[str]) -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    rows = compare(tuple(argv) or DEFAULT)
    tools = ("modelmap", "FlopCounterMode", "torchinfo", "fvcore")
    print(f"{'model':<22}" + "".join(f"{t:>26}" for t in tools))
    for name, row in rows:
        base = row["modelmap"]
        cells = []
        for t in tools:
            v = row[t]
            cells.append(f"{v:>26}" if isinstance(v, str) else f"{v:>16,} ({v / base:5.3f})")
        print(f"{name:<22}" + "".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
