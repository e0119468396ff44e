"""MACs of real PyTorch and Keras models, cross-checked: PyTorch's own FlopCounterMode
(2 FLOPs per MAC), a hand count for recurrent layers (which FlopCounterMode does not
count on CPU), the Keras seed network against its PyTorch twin; and the architecture
table of the seed network."""

from __future__ import annotations

import csv
import io

import pytest

torch = pytest.importorskip("torch")

import modelmap as mm  # noqa: E402

pytestmark = pytest.mark.torch

#: convolutional (plain, ConvTranspose + concat) and transformer (torch.nn and transformers)
CROSS_CHECKED = ("seed_resnet", "unet", "transformer_decoder", "gpt2_tiny")


def flop_counter_macs(model, x) -> int:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    # the math SDPA kernel: torch 2.13 has no FLOP formula for the CPU flash kernel;
    # grad enabled: under no_grad nn.Transformer* layers take a fused path it cannot see
    with sdpa_kernel(SDPBackend.MATH), counter:
        model(**x) if isinstance(x, dict) else model(*x) if isinstance(x, tuple) else model(x)
    return counter.get_total_flops() // 2


@pytest.fixture(scope="module")
def seed_resnet(fixture_cache):
    c = fixture_cache.converted("torch", "seed_resnet")
    return c.model, c.example, c.analysis()


@pytest.mark.parametrize("name", CROSS_CHECKED[1:])
def test_total_macs_equal_flop_counter_mode(name, fixture_cache):
    c = fixture_cache.converted("torch", name)
    model, x, analysis = c.model, c.example, c.analysis()
    reference = flop_counter_macs(model, x)
    assert reference > 0
    assert abs(analysis.macs - reference) <= 0.02 * reference, (analysis.macs, reference)
    assert analysis.costs.unknown == ()


def test_seed_resnet_macs_equal_flop_counter_mode_and_per_layer(seed_resnet):
    model, x, a = seed_resnet
    reference = flop_counter_macs(model, x)
    assert abs(a.macs - reference) <= 0.02 * reference
    assert a.costs.layers["conv"].macs == 64 * 32 * 32 * 3 * 3 * 3
    assert a.costs.layers["fc"].macs == 512 * 10
    assert a.costs.layers["conv"].output_bytes == 64 * 32 * 32 * 4
    for layer in a.layers:
        if layer.kind.value in ("norm", "activation", "pool", "merge"):
            assert a.costs.layers[layer.name].macs == 0, layer.name
    assert a.costs.param_bytes == 4 * a.params == 4 * sum(p.numel() for p in model.parameters())


def test_recurrent_layers_by_hand():
    """FlopCounterMode counts 0 for a CPU LSTM/GRU (fused aten kernels): a hand count here."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(10, 16, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = torch.nn.GRU(32, 8, batch_first=True)
            self.fc = torch.nn.Linear(8, 5)

        def forward(self, x):
            return self.fc(self.gru(self.lstm(x)[0])[0])

    torch.manual_seed(0)
    steps = 12
    a = mm.analyze(Net().eval(), torch.randn(1, steps, 10))
    lstm = steps * 2 * (4 * 16 * (10 + 16) + 4 * 16 * (32 + 16))  # 2 layers x 2 directions
    gru = steps * 3 * 8 * (32 + 8)
    assert a.macs == lstm + gru + steps * 8 * 5


def test_architecture_table_of_the_seed_network(seed_resnet):
    _, _, a = seed_resnet
    text = mm.table(a, format="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    body, total = rows[:-1], rows[-1]
    assert len(body) <= 40
    numbered = [r for r in body if r["params"] != ""]
    assert sum(int(r["params"]) for r in numbered) == int(total["params"]) == a.params
    assert sum(int(r["macs"]) for r in numbered) == int(total["macs"]) == a.macs
    blocks = [(r["layer"], r["repeat"]) for r in body if int(r["repeat"]) > 1]
    assert blocks == [("stage1.0..stage1.1", "2"), ("stage2.1..stage2.4", "4"), ("stage3.1..stage3.4", "4")]
    assert {r["inside"] for r in body} == {"0"}  # at depth 2 no block is opened
    headings = [r["layer"] for r in body if r["params"] == ""]
    assert headings == ["stage1", "stage2", "stage3", "stage4"]  # default depth 2: stages expanded
    shallow = list(csv.DictReader(io.StringIO(mm.table(a, format="csv", depth=1))))
    assert [r["layer"] for r in shallow][4:8] == ["stage1", "stage2", "stage3", "stage4"]
    assert int(shallow[5]["macs"]) == sum(a.costs.layers[n].macs for n in a.tree[("stage2",)].layers)


def test_table_opens_the_first_repetition_when_the_depth_reaches_inside(fixture_cache):
    a = fixture_cache.analysis("torch", "transformer_encoder")
    rows = list(csv.DictReader(io.StringIO(mm.table(a, format="csv", depth=2))))
    block, inside, total = rows[0], rows[1:-1], rows[-1]
    assert (block["layer"], block["type"], block["repeat"], block["inside"]) == (
        "layers.0..layers.1", "TransformerEncoderLayer", "2", "0")
    assert int(block["macs"]) == int(total["macs"]) == a.macs
    assert inside and all(r["inside"] == "1" and r["level"] == "1" for r in inside)
    assert {"layers.0.self_attn", "layers.0.linear1", "layers.0.linear2"} <= {r["layer"] for r in inside}
    assert 2 * sum(int(r["macs"]) for r in inside) == a.macs  # one repetition's numbers
    assert 2 * sum(int(r["params"]) for r in inside) == a.params
    one_row = list(csv.DictReader(io.StringIO(mm.table(a, format="csv", depth=1))))
    assert len(one_row) == 2 and one_row[0]["repeat"] == "2"


@pytest.mark.keras
def test_keras_seed_resnet_has_the_macs_of_its_pytorch_twin(seed_resnet, fixture_cache):
    pytest.importorskip("tensorflow")
    keras_analysis = fixture_cache.analysis("keras", "seed_resnet")
    torch_macs = seed_resnet[2].macs
    assert abs(keras_analysis.macs - torch_macs) <= 0.01 * torch_macs, (keras_analysis.macs, torch_macs)
    # Keras counts BatchNorm's moving statistics as parameters, PyTorch does not
    assert keras_analysis.costs.param_bytes == 4 * keras_analysis.params
    # a flat Keras model's table folds its runs of residual blocks too
    rows = list(csv.DictReader(io.StringIO(mm.table(keras_analysis, format="csv"))))
    body, total = rows[:-1], rows[-1]
    assert sorted(int(r["repeat"]) for r in body if int(r["repeat"]) > 1) == [2, 4, 4]
    assert sum(int(r["macs"]) for r in body if r["macs"]) == int(total["macs"]) == keras_analysis.macs
    assert sum(int(r["params"]) for r in body if r["params"]) == keras_analysis.params
