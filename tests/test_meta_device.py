"""Structure first: models on PyTorch's meta device, and analyses without weight values.

A model built under ``with torch.device("meta")`` has shapes and no values; it must
analyse and draw exactly like the same model on the CPU. Commands that need values
(a runnable ONNX, weight statistics) say clearly that there are none. A structure-only
analysis (the default of ``mm.analyze``) equals the analysis with weights.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import onnx
import pytest

import modelmap as mm
from modelmap._errors import InputError
from modelmap.core import analyze_onnx
from modelmap.core.tensors import without_values

from .helpers import assert_one_line_error, cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.torch

LAYERS = 2


def llama(device: str) -> torch.nn.Module:
    """A 2-layer Llama (grouped-query attention, rotary embeddings) built on ``device``."""
    config = transformers.LlamaConfig(
        hidden_size=64, num_hidden_layers=LAYERS, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=128, vocab_size=100, use_cache=False, bos_token_id=0, eos_token_id=0,
    )
    torch.manual_seed(0)
    with torch.device(device):
        return transformers.LlamaForCausalLM(config).eval()


def gpt2(device: str) -> torch.nn.Module:
    """A 2-layer GPT-2 (sdpa attention, tied lm_head) built on ``device``."""
    config = transformers.GPT2Config(
        vocab_size=100, n_positions=64, n_embd=32, n_layer=LAYERS, n_head=2, use_cache=False,
        bos_token_id=0, eos_token_id=0,
    )
    torch.manual_seed(0)
    with torch.device(device):
        return transformers.GPT2LMHeadModel(config).eval()


def tokens(mask: bool) -> dict[str, torch.Tensor]:
    ids = torch.randint(0, 100, (1, 8), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)} if mask else {"input_ids": ids}


@pytest.fixture(scope="module")
def analyses() -> dict[str, tuple]:
    """(CPU analysis, meta analysis, CPU model) per case; the meta models get CPU inputs."""
    cases = {"llama": (llama, False), "gpt2+mask": (gpt2, True)}
    out = {}
    for name, (build, mask) in cases.items():
        cpu = build("cpu")
        out[name] = (mm.analyze(cpu, tokens(mask)), mm.analyze(build("meta"), tokens(mask)), cpu)
    return out


@pytest.mark.parametrize("case", ["llama", "gpt2+mask"])
def test_meta_model_analyses_like_the_cpu_model(analyses: dict[str, tuple], case: str) -> None:
    on_cpu, on_meta, model = analyses[case]
    assert on_meta.params == on_cpu.params == sum(p.numel() for p in model.parameters())
    assert [s.kind.value for s in on_meta.skips] == ["identity"] * (2 * LAYERS)
    assert len(on_meta.blocks) == len(on_cpu.blocks)
    # layers, their parameters, shapes and costs, skips, blocks, rejections: all equal
    assert on_meta.to_dict() == on_cpu.to_dict()


def test_meta_model_has_shapes_and_no_values(analyses: dict[str, tuple]) -> None:
    on_meta = analyses["llama"][1]
    graph = on_meta.model.graph
    missing = set(without_values(graph))
    weight = "model.layers.0.mlp.gate_proj.weight"
    assert weight in missing
    stored = {t.name: t for t in graph.initializer}[weight]
    assert list(stored.dims) == [128, 64] and stored.data_type == onnx.TensorProto.FLOAT
    assert stored.ByteSize() < 100  # a name, a type and two dims: no values


def test_meta_model_draws(tmp_path: Path) -> None:
    out = tmp_path / "llama.svg"
    assert mm.draw(llama("meta"), out, tokens(False)) == [out]
    assert "model.layers.0" in out.read_text()


def test_meta_model_without_weights_is_a_structure_only_onnx(tmp_path: Path) -> None:
    path = tmp_path / "llama.onnx"
    mm.to_onnx(llama("meta"), path, tokens(False), weights=False)
    saved = onnx.load(str(path))
    state = {t.name for t in saved.graph.initializer} & set(llama("cpu").state_dict())
    assert len(state) > 10 and state <= set(without_values(saved.graph))
    assert analyze_onnx(saved).params == sum(p.numel() for p in llama("cpu").parameters())


def test_meta_model_refuses_what_needs_values(tmp_path: Path) -> None:
    for call in (
        lambda: mm.to_onnx(llama("meta"), tmp_path / "x.onnx", tokens(False)),
        lambda: mm.draw(llama("meta"), tmp_path / "x.onnx", tokens(False)),
        lambda: mm.weight_stats(llama("meta"), tokens(False)),
    ):
        with pytest.raises(InputError, match="meta device: it has no weight values"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_cli_convert_of_a_meta_model_is_one_line_exit_2(tmp_path: Path) -> None:
    factory = tmp_path / "meta_factory.py"
    factory.write_text(textwrap.dedent("""
        import torch

        def build():
            with torch.device("meta"):
                model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
            return model, torch.randn(1, 8)
    """))
    out = tmp_path / "x.onnx"
    assert_one_line_error(cli("convert", f"{factory}:build", "-o", str(out)), "Sequential is on the meta device")
    assert not out.exists()
    r = cli("analyze", f"{factory}:build", "--json")
    assert r.returncode == 0, r.stderr
    assert '"params": 46' in r.stdout


def test_analysis_without_values_refuses_weight_commands(analyses: dict[str, tuple], tmp_path: Path) -> None:
    structure_only = analyses["llama"][0]
    with pytest.raises(InputError, match="holds no weight values"):
        mm.weight_stats(structure_only)
    with pytest.raises(InputError, match="holds no weight values"):
        mm.draw(structure_only, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("seed", ["seed_resnet", "bottleneck_resnet", "gpt2_tiny"])
def test_structure_only_analysis_equals_the_full_one(fixture_cache, seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelmap.converters import _torch_export

    # on the same route as the full conversion (the other route's analysis: tests/test_torch_routes.py)
    monkeypatch.setattr(_torch_export, "structure_route_suits", lambda model, options: False)
    made = fixture_cache.converted("torch", seed)
    full = made.analysis()
    assert not without_values(full.model.graph)
    structure = mm.analyze(made.model, made.example, cache=False)
    # layers, parameters, parameter bytes, MACs, skips, blocks: all equal
    assert structure.to_dict() == full.to_dict()
    # exactly the model's floating-point state lost its values
    state = set(made.model.state_dict())
    float_state = {t.name for t in full.model.graph.initializer if t.name in state and t.data_type == onnx.TensorProto.FLOAT}
    assert float_state and set(without_values(structure.model.graph)) == float_state


def test_structure_only_on_the_torchscript_route(monkeypatch: pytest.MonkeyPatch) -> None:
    from fixtures.torch_models import bottleneck_resnet

    from modelmap.converters import ConvertOptions, convert
    from modelmap.converters import _torch_export

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("dynamo switched off by the test")

    monkeypatch.setattr(_torch_export, "export_dynamo", fail)
    model, example = bottleneck_resnet()
    full = convert(model, example, ConvertOptions())
    structure = convert(model, example, ConvertOptions(weights=False))
    assert analyze_onnx(structure).to_dict() == analyze_onnx(full).to_dict()
    assert "layer1.0.conv1.weight" in without_values(structure.graph)
    assert not without_values(full.graph)


def test_exported_program_on_the_meta_device() -> None:
    from modelmap.converters import ConvertOptions, convert

    dicts = []
    for device in ("cpu", "meta"):
        ids = tokens(False)["input_ids"].to(device)
        program = torch.export.export(gpt2(device), (), {"input_ids": ids}, strict=False)
        dicts.append(analyze_onnx(convert(program, None, ConvertOptions(weights=False))).to_dict())
    assert dicts[1] == dicts[0]
    assert dicts[1]["params"] == sum(p.numel() for p in gpt2("cpu").parameters())  # tied lm_head once
    with pytest.raises(InputError, match="meta device"):
        convert(program, None, ConvertOptions())
