"""The PyTorch front end on real models: validity, numerics, annotation, layer table, errors.

Every fixture in ``fixtures/torch_models.py`` is converted once per run (the ``converted``
fixture reads ``tests/fixture_cache.py``); the tests then read the shared result. The
helper tests at the bottom need no export.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from modelmap.converters import ConvertOptions, convert
from modelmap.converters._base import quiet
from modelmap.converters._neighbours import place_by_neighbours
from onnx import helper

from modelmap import _metadata as md
from modelmap._errors import ConversionError, InputError, MissingInputError
from tests.helpers import cli

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import modelmap.converters._torch_errors as terrors  # noqa: E402
import modelmap.converters._torch_export as texport  # noqa: E402
import modelmap.converters._torch_scopes as tscopes  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils import _pytree  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "torch_models.py"


def _load_fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("modelmap_test_torch_models", FIXTURES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tm = _load_fixtures()
NAMES = sorted(tm.FACTORIES)


@pytest.fixture(scope="module")
def converted(fixture_cache: Any) -> Any:
    """``converted(name)``: the fixture's model and input, and its ONNX converted once per run."""
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = fixture_cache.converted("torch", name)
        return cache[name]

    return get


# ----------------------------------------------------------------------------- helpers


def call_args(example: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(example, dict):
        return (), dict(example)
    if isinstance(example, tuple):
        return example, {}
    return (example,), {}


def eager_outputs(model: Any, example: Any) -> list[np.ndarray]:
    args, kwargs = call_args(example)
    with torch.no_grad():
        out = model(*args, **kwargs)
    return [t.numpy() for t in _pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]


def onnx_outputs(proto: onnx.ModelProto, example: Any) -> list[np.ndarray]:
    args, kwargs = call_args(example)
    values = [*args, *kwargs.values()]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {i.name: v.numpy() for i, v in zip(session.get_inputs(), values)}
    assert len(feed) == len(values), [i.name for i in session.get_inputs()]
    return session.run(None, feed)


def assert_same_outputs(proto: onnx.ModelProto, model: Any, example: Any) -> None:
    expected, got = eager_outputs(model, example), onnx_outputs(proto, example)
    assert len(got) == len(expected)
    for e, g in zip(expected, got):
        assert e.shape == g.shape
        assert float(np.abs(e - g).max()) <= 1e-4


def node_levels(node: onnx.NodeProto) -> tuple[tuple[str, ...], tuple[str, ...]]:
    assert any(p.key == md.NAMESPACE for p in node.metadata_props), f"{node.op_type} {node.name} has no namespace"
    return md.node_namespace(node)


def assert_namespaces_are_modules(proto: onnx.ModelProto, model: Any) -> None:
    """Each node's namespace is a chain of real, nested modules with their classes."""
    modules = dict(model.named_modules())
    for node in proto.graph.node:
        segs, classes = node_levels(node)
        parent = ""
        for seg, cls in zip(segs, classes):
            assert seg in modules, (node.name, segs)
            assert not parent or seg.startswith(parent + "."), (node.name, segs)
            assert cls == type(modules[seg]).__name__, (node.name, seg, cls)
            parent = seg


def ops(proto: onnx.ModelProto, op_type: str) -> list[onnx.NodeProto]:
    return [n for n in proto.graph.node if n.op_type == op_type]


def last_segments(proto: onnx.ModelProto, op_type: str | None = None) -> set[str]:
    return {md.node_namespace(n)[0][-1] for n in proto.graph.node if (op_type in (None, n.op_type)) and md.node_namespace(n)[0]}


def unique_params(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


class DataDependent(nn.Module):
    """Python control flow on a tensor value: torch.export refuses it, tracing specializes."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.lin(x)
        if y.sum() > 0:
            return torch.relu(y)
        return -y


class Inverse(nn.Module):
    """``torch.linalg.inv`` has no ONNX translation in either exporter."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.inv(self.lin(x))


# ----------------------------------------------------------------------------- every fixture


@pytest.mark.parametrize("name", NAMES)
def test_fixture_converts_to_a_valid_self_contained_model(converted: Any, name: str) -> None:
    c = converted(name)
    onnx.checker.check_model(c.proto, full_check=True)
    assert md.model_framework(c.proto) == "pytorch"
    assert md.model_converter(c.proto) == texport.ROUTE_DYNAMO
    for init in c.proto.graph.initializer:
        assert init.data_location != onnx.TensorProto.EXTERNAL, init.name
    graph_inputs = {i.name for i in c.proto.graph.input}
    assert not graph_inputs & {i.name for i in c.proto.graph.initializer}
    assert not ops(c.proto, "Constant"), "constants are lifted into initializers"
    for node in c.proto.graph.node:
        keys = {p.key for p in node.metadata_props}
        assert not keys & set(tscopes.NOISY_KEYS), node.name


@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_matches_eager(converted: Any, name: str) -> None:
    c = converted(name)
    assert_same_outputs(c.proto, c.model, c.example)


@pytest.mark.parametrize("name", NAMES)
def test_every_node_sits_in_a_real_module(converted: Any, name: str) -> None:
    c = converted(name)
    assert_namespaces_are_modules(c.proto, c.model)
    # every plain layer that has weights shows up as some node's layer
    plain = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.Linear, nn.LayerNorm, nn.Embedding)
    layers = {n for n, m in c.model.named_modules() if type(m) in plain}
    assert layers <= last_segments(c.proto)


@pytest.mark.parametrize("name", NAMES)
def test_layer_table_matches_model_and_graph(converted: Any, name: str) -> None:
    c = converted(name)
    records = md.model_layers(c.proto)
    assert records
    modules = dict(c.model.named_modules())
    assert sum(r.params for r in records) == unique_params(c.model)
    by_name = {r.name: r for r in records}
    assert len(by_name) == len(records)
    for r in records:
        m = modules[r.name]
        assert r.cls == type(m).__name__
        assert r.leaf == (not list(m.children()))
        assert r.namespace.split(md.SEP)[-1] == r.name
    # a node's namespace is its layer's record namespace (or lies above it)
    for node in c.proto.graph.node:
        segs, _ = md.node_namespace(node)
        if segs:
            assert by_name[segs[-1]].namespace == md.SEP.join(segs), node.name


# ----------------------------------------------------------------------------- specific models


def test_seed_resnet_keeps_batchnorm_and_names_its_blocks(converted: Any) -> None:
    proto = converted("seed_resnet").proto
    assert len(ops(proto, "BatchNormalization")) == 30
    assert len(ops(proto, "Conv")) == 32
    assert len(ops(proto, "Add")) == 14
    bn_layers = last_segments(proto, "BatchNormalization")
    assert {"input_bn", "bn", "stage1.0.bn1", "stage4.1.bn2"} <= bn_layers
    add = {md.node_namespace(n) for n in ops(proto, "Add")}
    assert (("stage2", "stage2.0"), ("Sequential", "ResidualBlock")) in add
    shortcut = [md.node_namespace(n) for n in ops(proto, "Conv") if md.node_namespace(n)[0][-1].endswith("shortcut")]
    assert sorted(s[0][-1] for s in shortcut) == ["stage2.0.shortcut", "stage3.0.shortcut", "stage4.0.shortcut"]
    assert shortcut[0][1] == ("Sequential", "ResidualBlock", "Conv2d")


def test_bias_free_convolutions_get_no_made_up_bias(converted: Any) -> None:
    proto = converted("bottleneck_resnet").proto
    convs = ops(proto, "Conv")
    assert len(convs) == 15 and all(len(n.input) == 2 for n in convs)
    assert len(ops(proto, "BatchNormalization")) == 15
    floats = sum(int(np.prod(i.dims)) for i in proto.graph.initializer if i.data_type == onnx.TensorProto.FLOAT)
    model = converted("bottleneck_resnet").model
    assert floats == sum(t.numel() for t in model.state_dict().values() if t.is_floating_point())


def test_root_level_ops_have_an_empty_namespace(converted: Any) -> None:
    proto = converted("convnet").proto
    relus = ops(proto, "Relu")
    assert len(relus) == 2 and all(node_levels(n) == ((), ()) for n in relus)
    assert [md.node_namespace(n)[0] for n in ops(proto, "Gemm")] == [("fc1",), ("fc2",)]


def test_nodes_made_by_folding_take_their_neighbours_namespace(converted: Any) -> None:
    proto = converted("transformer_decoder").proto
    splits = ops(proto, "Split")
    assert splits, "the folder turns SplitToSequence+SequenceAt into Split"
    for node in splits:
        assert not any(p.key == tscopes.SCOPES_KEY for p in node.metadata_props)
        assert md.node_namespace(node)[0][-1].endswith("multihead_attn")


def test_tied_weights_are_counted_once(converted: Any) -> None:
    c = converted("gpt2_tiny")
    records = {r.name: r for r in md.model_layers(c.proto)}
    assert c.model.lm_head.weight is c.model.transformer.wte.weight
    assert records["lm_head"].params == 0
    assert records["transformer.wte"].params == c.model.transformer.wte.weight.numel()


def test_modules_that_own_weights_without_running_are_listed(converted: Any) -> None:
    c = converted("transformer_encoder")
    records = {r.name: r for r in md.model_layers(c.proto)}
    out_proj = records["layers.0.self_attn.out_proj"]
    assert out_proj.params == 32 * 32 + 32
    # the ModuleList "layers" is never called, so it is no level of the call stack
    assert out_proj.namespace == "layers.0/layers.0.self_attn/layers.0.self_attn.out_proj"


def test_dict_input_becomes_named_graph_inputs(converted: Any) -> None:
    proto = converted("bert_tiny").proto
    assert [i.name for i in proto.graph.input] == ["input_ids", "attention_mask"]
    assert len(proto.graph.output) == 2  # last_hidden_state, pooler_output


class DictAndTuple(nn.Module):
    """Returns a dict holding a tensor and a tuple: outputs flatten in pytree order."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> dict[str, Any]:
        return {"first": self.a(x), "pair": (self.b(x), torch.tanh(x))}


def test_dict_and_tuple_outputs_flatten_in_order() -> None:
    model, example = DictAndTuple().eval(), torch.randn(2, 4)
    proto = convert(model, example, ConvertOptions())
    assert [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in proto.graph.output] == [[2, 3], [2, 2], [2, 4]]
    assert_same_outputs(proto, model, example)


def test_opset_option_is_honoured() -> None:
    model, example = tm.mlp()
    proto = convert(model, example, ConvertOptions(opset=18))
    assert {o.domain: o.version for o in proto.opset_import}[""] == 18
    assert_same_outputs(proto, model, example)


def test_conversion_leaves_the_model_in_its_own_mode() -> None:
    model, example = tm.se_block()
    block = model[1]  # the SEBlock
    model.train()
    block.se.eval()
    proto = convert(model, example, ConvertOptions())
    assert model.training and not block.se.training and block.body.training
    model.eval()
    assert_same_outputs(proto, model, example)


# ----------------------------------------------------------------------------- inputs


def test_input_shape_option_builds_the_example_input() -> None:
    model, _ = tm.mlp()
    proto = convert(model, None, ConvertOptions(input_shape=((3, 784),)))
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 784]


def test_input_shape_option_with_two_inputs() -> None:
    model, _ = tm.transformer_decoder()
    proto = convert(model, None, ConvertOptions(input_shape=((1, 5, 32), (1, 7, 32))))
    shapes = [[d.dim_value for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert shapes == [[1, 5, 32], [1, 7, 32]]


def test_missing_input_is_a_clear_error() -> None:
    model, _ = tm.mlp()
    with pytest.raises(MissingInputError) as err:
        convert(model, None, ConvertOptions())
    message = str(err.value)
    assert "\n" not in message
    assert "example input" in message and "--input-shape" in message and "Sequential" in message


def test_input_of_the_wrong_kind_is_an_input_error() -> None:
    model, _ = tm.mlp()
    with pytest.raises(InputError, match="expected a tensor, a tuple of tensors or a dict"):
        convert(model, "1,784", ConvertOptions())


def test_input_the_model_cannot_run_is_an_input_error() -> None:
    model, _ = tm.mlp()
    with pytest.raises(InputError, match=r"running Sequential on the example input failed \(RuntimeError: mat1"):
        convert(model, torch.randn(1, 3), ConvertOptions())


# ----------------------------------------------------------------------------- routes and errors


def test_unconvertible_op_names_the_op() -> None:
    with pytest.raises(ConversionError) as err:
        convert(Inverse().eval(), torch.randn(4, 4), ConvertOptions())
    message = str(err.value)
    assert "\n" not in message
    assert "cannot export Inverse" in message
    assert "aten.linalg_inv" in message and "aten::linalg_inv" in message  # both exporters' reasons


def test_dynamo_failure_falls_back_to_torchscript_and_warns(capfd: pytest.CaptureFixture[str]) -> None:
    model, example = DataDependent().eval(), torch.randn(2, 4)
    proto = convert(model, example, ConvertOptions())
    out, err = capfd.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("modelmap: warning: dynamo export failed (")
    assert "data-dependent" in lines[0] and lines[0].endswith("; used the TorchScript exporter")
    assert md.model_converter(proto) == texport.ROUTE_TORCHSCRIPT
    onnx.checker.check_model(proto, full_check=True)
    assert_same_outputs(proto, model, example)
    assert md.node_namespace(ops(proto, "Gemm")[0]) == (("lin",), ("Linear",))


@pytest.fixture()
def no_dynamo(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("dynamo switched off by the test")

    monkeypatch.setattr(texport, "export_dynamo", fail)


@pytest.mark.parametrize("name", ["bottleneck_resnet", "bert_tiny"])
def test_torchscript_route_annotates_from_node_names(no_dynamo: None, name: str, capfd: pytest.CaptureFixture[str]) -> None:
    model, example = tm.FACTORIES[name]()
    proto = convert(model, example, ConvertOptions())
    assert "dynamo switched off by the test" in capfd.readouterr().err
    assert md.model_converter(proto) == texport.ROUTE_TORCHSCRIPT
    onnx.checker.check_model(proto, full_check=True)
    assert_same_outputs(proto, model, example)
    assert_namespaces_are_modules(proto, model)
    assert not any(n.name.startswith("/model/") for n in proto.graph.node)
    assert sum(r.params for r in md.model_layers(proto)) == unique_params(model)
    if name == "bottleneck_resnet":
        assert len(ops(proto, "BatchNormalization")) == 15  # not fused into Conv
        relus = {md.node_namespace(n)[0][-1] for n in ops(proto, "Relu")}
        assert "layer1.0.relu" in relus  # relu, relu_1, relu_2 are one module called thrice
        assert "layer1.0.downsample.0" in last_segments(proto, "Conv")
        assert {i.name for i in proto.graph.initializer} >= {"fc.weight", "layer1.0.conv1.weight"}
    else:
        assert [i.name for i in proto.graph.input] == ["input_ids", "attention_mask"]


def test_pt2_file_round_trip(tmp_path: Path, converted: Any) -> None:
    model, example = tm.bottleneck_resnet()
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (example,)), str(path))
    proto = convert(str(path), None, ConvertOptions())
    onnx.checker.check_model(proto, full_check=True)
    assert md.model_converter(proto) == texport.ROUTE_DYNAMO
    assert_same_outputs(proto, model, example)
    assert_namespaces_are_modules(proto, model)
    direct = converted("bottleneck_resnet").proto
    assert [md.node_namespace(n) for n in proto.graph.node] == [md.node_namespace(n) for n in direct.graph.node]
    records, expected = md.model_layers(proto), md.model_layers(direct)
    assert sum(r.params for r in records) == unique_params(model)
    assert {(r.name, r.namespace, r.cls, r.params, r.leaf) for r in records} == {
        (r.name, r.namespace, r.cls, r.params, r.leaf) for r in expected
    }


def test_exported_program_with_tied_weights() -> None:
    model, example = tm.gpt2_tiny()
    program = torch.export.export(model, (), kwargs=example)
    proto = convert(program, None, ConvertOptions())
    assert sum(r.params for r in md.model_layers(proto)) == unique_params(model)
    assert_same_outputs(proto, model, example)


def test_unreadable_pt2_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pt2"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(InputError, match=r"broken.pt2 is not a torch.export .pt2 archive \(BadZipFile"):
        convert(str(path), None, ConvertOptions())


def test_pt2_loading_never_unpickles_code(tmp_path: Path) -> None:
    """A .pt2 whose pickled weight runs code when loaded is refused, and the code never runs."""
    import json
    import pickle
    import zipfile

    model, example = tm.convnet()
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (example,)), str(path))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt2"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        (config_name,) = [n for n in src.namelist() if n.endswith("model_weights_config.json")]
        config = json.loads(src.read(config_name))
        first = next(iter(config["config"].values()))
        first["use_pickle"] = True
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == config_name:
                data = json.dumps(config).encode()
            elif item.filename.endswith("/data/weights/" + first["path_name"]):
                data = pickle.dumps(Evil())
            dst.writestr(item, data)
    # torch's own loader runs the payload: the archive really is hostile
    with contextlib.suppress(Exception):
        torch.export.load(str(evil))
    assert marker.exists()
    marker.unlink()
    with pytest.raises(InputError, match="refusing to load it"):
        convert(str(evil), None, ConvertOptions())
    assert not marker.exists()
    # the untouched archive still loads
    assert convert(str(path), None, ConvertOptions()).graph.node


def test_exporter_chatter_stays_hidden_unless_verbose(capfd: pytest.CaptureFixture[str]) -> None:
    model, example = tm.mlp()
    convert(model, example, ConvertOptions())
    assert capfd.readouterr() == ("", "")
    convert(model, example, ConvertOptions(verbose=True))
    out, err = capfd.readouterr()
    assert "[torch.onnx]" in out and "modelmap: folding constants" in err


# ----------------------------------------------------------------------------- command line




def test_cli_converts_the_seed_resnet(tmp_path: Path) -> None:
    out = tmp_path / "resnet.onnx"
    r = cli("convert", "fixtures/torch_models.py:seed_resnet", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith(f"wrote {out} (")
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert len(ops(proto, "BatchNormalization")) == 30
    assert md.model_converter(proto) == texport.ROUTE_DYNAMO


def test_cli_factory_that_raises_exits_2_without_output(tmp_path: Path) -> None:
    factory = tmp_path / "models.py"
    factory.write_text("def broken():\n    raise ValueError('no weights here')\n")
    out = tmp_path / "out.onnx"
    r = cli("convert", f"{factory}:broken", "-o", str(out))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelmap: error: ")
    assert "raised ValueError: no weights here" in lines[0]
    assert not out.exists()


def test_cli_op_the_exporter_cannot_convert_exits_2_without_output(tmp_path: Path) -> None:
    factory = tmp_path / "models.py"
    factory.write_text(
        "import torch\n\n"
        "class Inverse(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.linalg.inv(x)\n\n"
        "def make():\n"
        "    return Inverse(), torch.eye(3) * 2\n"
    )
    out = tmp_path / "out.onnx"
    r = cli("convert", f"{factory}:make", "-o", str(out))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelmap: error: "), r.stderr
    assert "linalg_inv" in lines[0] and "Traceback" not in r.stderr
    assert {p.name for p in tmp_path.iterdir()} <= {"models.py", "__pycache__"}


def test_cli_needs_an_input_shape_for_a_bare_model(tmp_path: Path) -> None:
    factory = tmp_path / "bare.py"
    factory.write_text("import torch\n\ndef net():\n    return torch.nn.Sequential(torch.nn.Linear(8, 2))\n")
    out = tmp_path / "out.onnx"
    r = cli("convert", f"{factory}:net", "-o", str(out))
    assert r.returncode == 2 and "--input-shape" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    r = cli("convert", f"{factory}:net", "-o", str(out), "--input-shape", "4,8")
    assert r.returncode == 0, r.stderr
    assert [d.dim_value for d in onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim] == [4, 8]


# ----------------------------------------------------------------------------- helpers, no export


def test_module_levels_drop_root_and_op() -> None:
    assert tscopes.module_levels("['', 'view']", "['m.Net', 'aten.view.default']") == ([], [])
    assert tscopes.module_levels(
        "['', 'layer1', 'layer1.0', 'layer1.0.conv1', 'conv2d']",
        "['m.Net', 'torch.nn.modules.container.Sequential', 'm.Block', 'torch.nn.modules.conv.Conv2d', 'aten.conv2d.default']",
    ) == (["layer1", "layer1.0", "layer1.0.conv1"], ["Sequential", "Block", "Conv2d"])


def test_resolve_scopes_handles_torchscript_names() -> None:
    children = {
        "": {"encoder", "layer1"},
        "encoder": {"layer"},
        "encoder.layer": {"0"},
        "encoder.layer.0": {"attention"},
        "encoder.layer.0.attention": set(),
        "layer1": {"0"},
        "layer1.0": {"relu", "downsample"},
        "layer1.0.relu": set(),
        "layer1.0.downsample": {"0"},
        "layer1.0.downsample.0": set(),
    }
    assert tscopes.resolve_scopes(["encoder", "layer.0", "attention"], children) == [
        "encoder",
        "encoder.layer.0",
        "encoder.layer.0.attention",
    ]
    assert tscopes.resolve_scopes(["layer1", "layer1.0", "downsample", "downsample.0"], children) == [
        "layer1",
        "layer1.0",
        "layer1.0.downsample",
        "layer1.0.downsample.0",
    ]
    assert tscopes.resolve_scopes(["layer1", "layer1.0", "relu_2"], children)[-1] == "layer1.0.relu"
    assert tscopes.resolve_scopes(["layer1", "nothere", "relu"], children) == ["layer1"]


def test_failure_reason_names_the_op_and_follows_causes() -> None:
    inner = RuntimeError("No ONNX function found for <OpOverload(op='aten.histc', overload='default')>. Failure")
    outer = RuntimeError("\x1b[96mFailed\x1b[0m to convert\nlots of text")
    outer.__cause__ = inner
    assert terrors.failure_reason(outer) == "no ONNX translation for aten.histc"
    ts = RuntimeError("Exporting the operator 'aten::histc' to ONNX opset version 20 is not supported")
    assert terrors.failure_reason(ts) == "no ONNX symbolic for aten::histc (opset 20)"
    plain = ValueError("first line\nsecond line")
    assert terrors.failure_reason(plain) == "ValueError: first line"


def test_fill_from_neighbours_uses_the_readers_common_namespace() -> None:
    a = helper.make_node("Relu", ["x"], ["a"], name="a")
    new = helper.make_node("Split", ["a"], ["s1", "s2"], name="new", axis=0, num_outputs=2)
    q = helper.make_node("Relu", ["s1"], ["q"], name="q")
    k = helper.make_node("Relu", ["s2"], ["k"], name="k")
    md.annotate_node(a, ["enc"], ["Encoder"])
    md.annotate_node(q, ["enc", "enc.attn", "enc.attn.q"], ["Encoder", "Attention", "Linear"])
    md.annotate_node(k, ["enc", "enc.attn", "enc.attn.k"], ["Encoder", "Attention", "Linear"])
    lonely = helper.make_node("Constant", [], ["c"], name="lonely", value_float=1.0)
    graph = helper.make_graph([a, new, q, k, lonely], "g", [], [])
    model = helper.make_model(graph)
    tscopes.fill_from_neighbours(model)
    assert md.node_namespace(model.graph.node[1]) == (("enc", "enc.attn"), ("Encoder", "Attention"))
    assert node_levels(model.graph.node[4]) == ((), ())  # annotated, as the model's own


def test_neighbour_placement_follows_consumers_then_producers() -> None:
    """A chain of new nodes follows the node it feeds; a node feeding only an output, its producer."""
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="a"),
        helper.make_node("Neg", ["a"], ["n1"], name="n1"),
        helper.make_node("Neg", ["n1"], ["n2"], name="n2"),
        helper.make_node("Relu", ["n2"], ["q"], name="q"),
        helper.make_node("Neg", ["q"], ["out"], name="tail"),
        helper.make_node("Constant", [], ["c"], name="lonely", value_float=1.0),
    ]
    graph = helper.make_graph(nodes, "g", [], [])
    found = [("enc",), None, None, ("enc", "enc.q"), None, None]
    assert place_by_neighbours(graph, found) == [("enc",), ("enc", "enc.q"), ("enc", "enc.q"), ("enc", "enc.q"), ("enc", "enc.q"), ()]


def test_a_plain_dynamo_onnx_file_gets_its_namespaces(tmp_path: Path) -> None:
    """An .onnx written by torch.onnx itself (not modelmap) is annotated from its name_scopes."""
    model, example = tm.FACTORIES["convnet"]()
    path = tmp_path / "plain.onnx"
    with quiet(ConvertOptions()):
        torch.onnx.export(model, (example,), str(path), dynamo=True, external_data=False)
    proto = convert(str(path))
    namespaces = {md.node_namespace(n)[0] for n in proto.graph.node}
    assert ("conv1",) in namespaces
    classes = {md.node_namespace(n)[1] for n in proto.graph.node}
    assert ("Conv2d",) in classes


def test_a_transformers_model_with_its_cache_on_exports_with_dynamo(capfd: pytest.CaptureFixture[str]) -> None:
    """GPT-2's default use_cache=True returns a DynamicCache dynamo cannot flatten: it is switched off."""
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=97, n_positions=32, attn_implementation="eager")
    assert config.use_cache
    model = GPT2LMHeadModel(config).eval()
    example = {"input_ids": torch.randint(0, 97, (1, 8))}
    proto = convert(model, example, ConvertOptions())
    assert md.model_converter(proto) == texport.ROUTE_DYNAMO
    assert "warning" not in capfd.readouterr().err
    assert len(proto.graph.output) == 1  # the logits, no cache tensors
    with torch.no_grad():
        logits = model(**example, use_cache=False).logits.numpy()
    (got,) = onnx_outputs(proto, example)
    assert float(np.abs(got - logits).max()) <= 1e-4


@pytest.mark.parametrize("module", ["pytorch", "_torch_scopes", "_neighbours"])
def test_converter_docstring_examples(module: str) -> None:
    import doctest

    result = doctest.testmod(importlib.import_module(f"modelmap.converters.{module}"), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
