"""The Keras 3 front end: conversion, numerics, annotation, layer table, files, errors, CLI.

Conversions are shared through the ``converted`` fixture (one per factory and run,
``tests/fixture_cache.py``). The keras.applications models are marked ``heavy``;
ResNet50 has one test only (about 26 s and several GB).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

pytestmark = pytest.mark.keras

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # for `fixtures`, whichever way pytest is started
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
ort = pytest.importorskip("onnxruntime")

from fixtures import keras_models as km  # noqa: E402
from modelmap import _metadata as md  # noqa: E402
from modelmap._errors import ConversionError, MissingInputError, ModelLoadError, UnsupportedModelError  # noqa: E402
from modelmap.converters import ConvertOptions, convert, find_converter  # noqa: E402
from modelmap.converters.keras3 import KerasConverter  # noqa: E402
from modelmap.core import LayerKind, analyze_onnx  # noqa: E402

PYTHON = sys.executable

#: Keras layers that compute nothing at inference, so leave no ONNX node.
NO_OP_CLASSES = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "ActivityRegularization"}

LIGHT = [
    "seed_resnet",
    "seed_plain",
    "small_cnn",
    "mlp",
    "subclassed",
    "nested",
    "bottleneck_resnet",
    "inverted_residual",
    "densenet",
    "unet",
    "inception",
    "se_block",
    "transformer_encoder",
    "normalized",
]
APPLICATIONS = [pytest.param("mobilenet_v2", marks=pytest.mark.heavy), pytest.param("densenet121", marks=pytest.mark.heavy)]


def _convert(model: Any, example_input: Any = None, **options: Any) -> onnx.ModelProto:
    return convert(model, example_input, ConvertOptions(**options))


@pytest.fixture(scope="module")
def converted(fixture_cache: Any) -> Any:
    """``converted(name)``: the fixture model (BatchNorm statistics randomised) and its ONNX, once per run."""
    cache: dict[str, Any] = {}

    def get(name: str) -> Any:
        if name not in cache:
            cache[name] = fixture_cache.converted("keras", name)
        return cache[name]

    return get


# ----------------------------------------------------------------- helpers


def _feeds(proto: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in proto.graph.input:
        shape = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        feeds[inp.name] = rng.uniform(-1.0, 1.0, shape).astype("float32")
    return feeds


def _run_both(model: Any, proto: onnx.ModelProto) -> tuple[np.ndarray, np.ndarray]:
    feeds = _feeds(proto)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)[0]
    arrays = list(feeds.values())
    want = model(arrays[0] if len(arrays) == 1 else arrays, training=False)
    return got, keras.ops.convert_to_numpy(want)


def _assert_same_numbers(model: Any, proto: onnx.ModelProto) -> None:
    got, want = _run_both(model, proto)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-3)  # softmax outputs are small


def summary_layers(model: Any) -> dict[str, str]:
    """``name -> class`` of every row of ``model.summary(expand_nested=True)`` except InputLayer."""
    lines: list[str] = []
    model.summary(print_fn=lambda text, *a, **k: lines.append(text), expand_nested=True, line_length=250)
    rows = re.findall(r"│\s+(?:└ )?(\S+) \((\w+)\)", "\n".join(lines))
    return {name: cls for name, cls in rows if cls != "InputLayer"}


def _namespaces(proto: onnx.ModelProto) -> list[tuple[str, ...]]:
    return [md.node_namespace(node)[0] for node in proto.graph.node]


def _nodes_of(proto: onnx.ModelProto, op_type: str) -> list[onnx.NodeProto]:
    return [n for n in proto.graph.node if n.op_type == op_type]


def _layers_of(model: Any, cls: type | tuple[type, ...]) -> list[Any]:
    out = []
    for layer in model.layers:
        if isinstance(layer, cls):
            out.append(layer)
        if isinstance(layer, keras.Model):
            out.extend(_layers_of(layer, cls))
    return out


def _assert_names_are_summary_names(model: Any, proto: onnx.ModelProto) -> None:
    summary = summary_layers(model)
    records = {r.name: r for r in md.model_layers(proto)}
    assert set(records) == set(summary)
    assert {name: r.cls for name, r in records.items()} == summary
    namespaces = [ns for ns in _namespaces(proto) if ns]
    segments = {seg for ns in namespaces for seg in ns}
    assert segments <= set(summary), f"namespace segments that are not layer names: {segments - set(summary)}"
    last = {ns[-1] for ns in namespaces}
    without_op = set(summary) - last
    allowed = {name for name, r in records.items() if not r.leaf or r.cls in NO_OP_CLASSES}
    assert without_op <= allowed, f"layers with no ONNX node: {without_op - allowed}"
    record_paths = {r.namespace for r in records.values()}
    assert {"/".join(ns) for ns in namespaces} <= record_paths


# ------------------------------------------------------- conversion + numbers


@pytest.mark.parametrize("name", LIGHT + APPLICATIONS)
def test_converts_to_a_valid_model_with_keras_numbers(converted: Any, name: str) -> None:
    c = converted(name)
    onnx.checker.check_model(c.proto, full_check=True)
    assert md.model_framework(c.proto) == "keras"
    assert md.model_converter(c.proto).startswith("tf2onnx ")
    assert not any(init.data_location == onnx.TensorProto.EXTERNAL for init in c.proto.graph.initializer)
    _assert_same_numbers(c.model, c.proto)


@pytest.mark.parametrize("name", LIGHT + APPLICATIONS)
def test_namespaces_are_exactly_the_summary_names(converted: Any, name: str) -> None:
    c = converted(name)
    _assert_names_are_summary_names(c.model, c.proto)


@pytest.mark.parametrize("name", LIGHT + APPLICATIONS)
def test_layer_records_hold_the_parameter_truth(converted: Any, name: str) -> None:
    c = converted(name)
    records = md.model_layers(c.proto)
    assert sum(r.params for r in records if r.leaf) == c.model.count_params()
    by_name = {r.name: r for r in records}
    for layer in _layers_of(c.model, keras.layers.Layer):
        if not isinstance(layer, (keras.Model, keras.layers.InputLayer)):
            assert by_name[layer.name].params == layer.count_params()


@pytest.mark.parametrize("name", [n for n in LIGHT if n != "subclassed"])
def test_every_node_of_a_graph_model_belongs_to_a_layer(converted: Any, name: str) -> None:
    c = converted(name)
    for node, ns in zip(c.proto.graph.node, _namespaces(c.proto)):
        assert ns, f"{node.op_type} node {node.name!r} has no namespace"
        classes = md.node_namespace(node)[1]
        assert len(classes) == len(ns) and all(classes)


def test_subclassed_ops_written_in_call_belong_to_the_model_itself(converted: Any) -> None:
    c = converted("subclassed")
    root = [n.op_type for n, ns in zip(c.proto.graph.node, _namespaces(c.proto)) if not ns]
    assert sorted(root) == ["Add", "Relu"]  # keras.ops.relu and `x + conv2(x)` in call()
    assert all(r.inbound == () for r in md.model_layers(c.proto))


def test_display_names_carry_no_trace_tokens(converted: Any) -> None:
    proto = converted("seed_resnet").proto
    names = [n.name for n in proto.graph.node]
    tensors = [t for n in proto.graph.node for t in (*n.input, *n.output)] + [i.name for i in proto.graph.initializer]
    assert not [s for s in names + tensors if re.search(r"mmL\d{4}", s)]
    assert len(set(names)) == len(names)
    conv_names = [n.name for n in _nodes_of(proto, "Conv")]
    assert all(name.split("/")[0] in summary_layers(converted("seed_resnet").model) for name in conv_names)


# ---------------------------------------------------- Conv and BatchNorm apart


def _assert_conv_and_bn_apart(model: Any, proto: onnx.ModelProto) -> None:
    convs = _layers_of(model, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))
    bns = _layers_of(model, keras.layers.BatchNormalization)
    conv_layers = {ns[-1] for n, ns in zip(proto.graph.node, _namespaces(proto)) if n.op_type == "Conv"}
    bn_layers = {ns[-1] for n, ns in zip(proto.graph.node, _namespaces(proto)) if n.op_type == "BatchNormalization"}
    assert conv_layers == {layer.name for layer in convs}
    assert bn_layers == {layer.name for layer in bns}
    assert len(_nodes_of(proto, "Conv")) == len(convs)
    assert len(_nodes_of(proto, "BatchNormalization")) == len(bns)


@pytest.mark.parametrize("name", ["seed_resnet", "bottleneck_resnet", "inverted_residual", "nested"])
def test_conv_and_batchnorm_are_separate_nodes(converted: Any, name: str) -> None:
    c = converted(name)
    _assert_conv_and_bn_apart(c.model, c.proto)


def test_batchnorm_node_holds_the_layer_statistics(converted: Any) -> None:
    c = converted("bottleneck_resnet")
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in c.proto.graph.initializer}
    bn_layers = {layer.name: layer for layer in _layers_of(c.model, keras.layers.BatchNormalization)}
    checked = 0
    for node, ns in zip(c.proto.graph.node, _namespaces(c.proto)):
        if node.op_type != "BatchNormalization":
            continue
        layer = bn_layers[ns[-1]]
        gamma, beta, mean, var = (w.numpy() for w in layer.weights)
        scale, bias, onnx_mean, onnx_var = (inits[name] for name in node.input[1:5])
        np.testing.assert_allclose(scale, gamma)
        np.testing.assert_allclose(bias, beta)
        np.testing.assert_allclose(onnx_mean, mean)
        np.testing.assert_allclose(onnx_var, var)
        assert next(a.f for a in node.attribute if a.name == "epsilon") == pytest.approx(layer.epsilon)
        checked += 1
    assert checked == len(bn_layers) == 8


@pytest.mark.parametrize("name", ["normalized", "efficientnet_b0"])
def test_a_normalization_layers_statistics_are_constants_not_inputs(converted: Any, name: str) -> None:
    """A Normalization layer's mean and variance are constant tensors the traced function
    captures; tf2onnx made them graph inputs (three inputs, three boxes in a drawing, and
    onnxruntime asked for them). They are initializers: one input, Keras' numbers."""
    c = converted(name)
    initializers = {t.name for t in c.proto.graph.initializer}
    assert [i.name for i in c.proto.graph.input] == ["input_layer"]
    assert {n for node in c.proto.graph.node for n in node.input if n.startswith("normalization/")} <= initializers | {
        o for node in c.proto.graph.node for o in node.output}
    _assert_same_numbers(c.model, c.proto)
    inputs = [layer.name for layer in analyze_onnx(c.proto).layers if layer.kind is LayerKind.INPUT]
    assert inputs == ["input_layer"]


def test_seed_resnet_keeps_its_14_residual_adds(converted: Any) -> None:
    c = converted("seed_resnet")
    add_layers = [r for r in md.model_layers(c.proto) if r.cls == "Add"]
    assert len(add_layers) == 14 and all(len(r.inbound) == 2 for r in add_layers)
    adds = {ns[-1] for n, ns in zip(c.proto.graph.node, _namespaces(c.proto)) if n.op_type == "Add"}
    assert adds == {r.name for r in add_layers}


def test_conversion_leaves_keras_and_tf2onnx_as_they_were(converted: Any) -> None:
    from keras.src.backend.tensorflow import nn as tf_nn
    from tf2onnx import tfonnx
    from tf2onnx.optimizer import back_to_back_optimizer as b2b
    from tf2onnx.optimizer.optimizer_base import GraphOptimizerBase as base

    before = (tf_nn.batch_normalization, tfonnx.rewrite_gemm, tfonnx.rewrite_conv2d_with_pad, list(b2b._func_map),
              base.optimize)
    model = km.bottleneck_resnet()
    names = [layer.name for layer in model.layers]
    _convert(model)
    after = (tf_nn.batch_normalization, tfonnx.rewrite_gemm, tfonnx.rewrite_conv2d_with_pad, list(b2b._func_map),
             base.optimize)
    assert after == before
    assert ("Conv", "BatchNormalization") in b2b._func_map
    assert [layer.name for layer in model.layers] == names


class FailsWhenTraced(keras.layers.Layer):
    """Works eagerly, raises inside a tf.function trace."""

    def compute_output_shape(self, shape: Any) -> Any:
        return shape

    def call(self, x: Any) -> Any:
        import tensorflow as tf

        if not tf.executing_eagerly():
            raise RuntimeError("no graphs please")
        return x


def test_a_failing_trace_is_a_conversion_error_and_names_come_back() -> None:
    inputs = keras.Input((4,))
    x = keras.layers.Dense(4, name="before_failure")(inputs)
    model = keras.Model(inputs, FailsWhenTraced(name="fails")(x), name="failing")
    names = [layer.name for layer in model.layers]
    with pytest.raises(ConversionError, match=r"'failing'.*no graphs please"):
        _convert(model)
    assert [layer.name for layer in model.layers] == names
    assert names[1:] == ["before_failure", "fails"] and model.name == "failing"


class _BrokenPass:
    """A tf2onnx optimizer pass that always fails."""

    graph_been_opt = False

    def optimize(self, graph: Any, iteration: int) -> Any:
        raise RuntimeError("broken optimizer pass")


def test_a_failing_optimizer_pass_is_skipped_like_tf2onnx_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from tf2onnx import optimizer

    monkeypatch.setitem(optimizer._optimizers, "modelmap_test_broken", _BrokenPass)
    model = km.mlp()
    proto = _convert(model)
    _assert_same_numbers(model, proto)


# ---------------------------------------------------------- wiring and nesting


def test_sequential_wiring_is_the_previous_layer(converted: Any) -> None:
    records = md.model_layers(converted("small_cnn").proto)
    assert records[0].inbound == ()
    for prev, rec in zip(records, records[1:]):
        assert rec.inbound == (prev.name,)


def test_nested_model_layers_have_multi_segment_namespaces(converted: Any) -> None:
    c = converted("nested")
    records = {r.name: r for r in md.model_layers(c.proto)}
    encoder = records["encoder"]
    assert encoder.cls == "Functional" and not encoder.leaf and encoder.params == 0
    inner = [r for r in records.values() if r.namespace.startswith("encoder/")]
    assert [r.cls for r in inner] == ["Conv2D", "BatchNormalization", "ReLU"]
    conv_before = next(r.name for r in records.values() if r.cls == "Conv2D" and r.namespace == r.name)
    assert inner[0].inbound == (conv_before,)  # the encoder's input is fed by the outer conv
    add = next(r for r in records.values() if r.cls == "Add")
    assert set(add.inbound) == {conv_before, "encoder"}
    nested_nodes = [(n, md.node_namespace(n)) for n in c.proto.graph.node]
    assert any(ns[0] == "encoder" and len(ns) == 2 and cls == ("Functional", "Conv2D") for n, (ns, cls) in nested_nodes if ns)


def test_shared_layers_and_two_inputs() -> None:
    a, b = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    shared = keras.layers.Dense(6, name="shared")
    merged = keras.layers.Add(name="merge")([shared(a), shared(b)])
    model = keras.Model([a, b], keras.layers.Dense(2, name="head")(merged))
    proto = _convert(model)
    assert [i.name for i in proto.graph.input] == ["left", "right"]
    _assert_same_numbers(model, proto)
    matmuls = [md.node_namespace(n)[0] for n in _nodes_of(proto, "MatMul")]
    assert matmuls.count(("shared",)) == 2
    assert [md.node_namespace(n)[0] for n in _nodes_of(proto, "Add")] == [("merge",)]
    names = [n.name for n in proto.graph.node]
    assert len(set(names)) == len(names)


def test_residual_add_after_a_dense_is_not_fused_into_a_gemm() -> None:
    inputs = keras.Input((8,))
    x = keras.layers.Dense(8, name="d1")(inputs)  # zero biases: grappler drops them, leaving
    y = keras.layers.Dense(8, name="d2")(x)  # Add(MatMul, MatMul), which tf2onnx would make a Gemm of d1
    model = keras.Model(inputs, keras.layers.Add(name="residual")([x, y]))
    proto = _convert(model)
    _assert_same_numbers(model, proto)
    assert not _nodes_of(proto, "Gemm")
    assert [md.node_namespace(n)[0] for n in _nodes_of(proto, "Add")] == [("residual",)]


def test_zero_padding_is_not_fused_into_the_next_conv() -> None:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.ZeroPadding2D(1, name="pad")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="valid", name="conv")(x))
    proto = _convert(model)
    _assert_same_numbers(model, proto)
    assert [md.node_namespace(n)[0] for n in _nodes_of(proto, "Pad")] == [("pad",)]
    conv = _nodes_of(proto, "Conv")[0]
    assert md.node_namespace(conv)[0] == ("conv",)
    assert all(a.ints == [0, 0, 0, 0] for a in conv.attribute if a.name == "pads")


def test_wiring_looks_through_keras_ops_between_layers() -> None:
    inputs = keras.Input((5,))
    x = keras.layers.Dense(5, name="first")(inputs)
    x = keras.ops.tanh(x)  # an operation, not a layer: no name scope, no record
    model = keras.Model(inputs, keras.layers.Dense(2, name="second")(x))
    proto = _convert(model)
    _assert_same_numbers(model, proto)
    records = {r.name: r for r in md.model_layers(proto)}
    assert set(records) == {"first", "second"}
    assert records["second"].inbound == ("first",)
    assert [md.node_namespace(n)[0] for n in _nodes_of(proto, "Tanh")] == [()]


def test_example_input_fixes_the_batch_size() -> None:
    model = km.mlp()
    proto = _convert(model, np.zeros((3, 784), "float32"))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [3, 784]
    proto = _convert(model, input_shape=((2, 784),))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [2, 784]
    proto = _convert(model)
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [1, 784]


# ---------------------------------------------------------------- files


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside model.save
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_file_round_trip(converted: Any, tmp_path: Path, suffix: str) -> None:
    live = converted("nested")
    path = tmp_path / f"nested{suffix}"
    live.model.save(path)
    assert isinstance(find_converter(str(path)), KerasConverter)
    proto = _convert(str(path))
    onnx.checker.check_model(proto, full_check=True)
    loaded = keras.models.load_model(path, compile=False)
    _assert_same_numbers(loaded, proto)
    _assert_same_numbers(live.model, proto)  # the file holds the same weights
    _assert_names_are_summary_names(loaded, proto)
    assert [n.op_type for n in proto.graph.node] == [n.op_type for n in live.proto.graph.node]
    assert _namespaces(proto) == _namespaces(live.proto)


def test_saved_model_folder_converts_with_scope_annotation(tmp_path: Path) -> None:
    model = km.nested()
    folder = tmp_path / "exported"
    model.export(str(folder), verbose=False)
    proto = _convert(str(folder))
    onnx.checker.check_model(proto, full_check=True)
    _assert_same_numbers(model, proto)
    assert md.model_layers(proto) is None
    names = set(summary_layers(model))
    by_op = {n.op_type: md.node_namespace(n)[0] for n in proto.graph.node}
    add_layer = next(layer.name for layer in model.layers if isinstance(layer, keras.layers.Add))
    dense_layer = next(layer.name for layer in model.layers if isinstance(layer, keras.layers.Dense))
    assert by_op["Add"] == (add_layer,)
    assert by_op["MatMul"] == (dense_layer,)
    assert by_op["Relu"][0] == "encoder" and by_op["Relu"][-1] in names


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_random_bytes_are_a_one_line_load_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ModelLoadError) as info:
        _convert(str(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_layer_in_a_file_is_refused_not_run(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "lambda-ran"
    fn = eval(f"lambda x: x + 0.0 * len(str(__import__('pathlib').Path({str(marker)!r}).touch()))")  # noqa: S307
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Lambda(fn)(inputs))
    path = tmp_path / f"lambda{suffix}"
    model.save(path)
    marker.unlink(missing_ok=True)  # building the model ran it once, before saving
    with pytest.raises(ModelLoadError, match=r"Lambda layer") as info:
        _convert(str(path))
    assert str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside model.save
def test_unregistered_custom_layer_in_a_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "custom.keras"
    km.unsupported_op().save(path)  # holds fixtures' LogGamma layer, never registered
    with pytest.raises(ModelLoadError, match=r"custom class 'LogGamma'"):
        _convert(str(path))


def test_op_tf2onnx_cannot_convert_is_named() -> None:
    with pytest.raises(ConversionError, match=r"Lgamma.*log_gamma"):
        _convert(km.unsupported_op())


class Unbuilt(keras.Model):
    def __init__(self) -> None:
        super().__init__()
        self.dense = keras.layers.Dense(3, name="only_dense")

    def call(self, x: Any) -> Any:
        return self.dense(x)


def test_unbuilt_subclassed_model_needs_an_input() -> None:
    with pytest.raises(MissingInputError, match=r"input shape"):
        _convert(Unbuilt())
    model = Unbuilt()
    proto = _convert(model, input_shape=((2, 5),))
    assert [r.name for r in md.model_layers(proto)] == ["only_dense"]
    _assert_same_numbers(model, proto)


def test_match_is_cheap_and_specific(tmp_path: Path) -> None:
    conv = KerasConverter()
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    assert conv.match(str(tmp_path / "a.keras")) and conv.match(tmp_path / "b.H5") and conv.match(str(tmp_path / "sm"))
    assert not conv.match(str(tmp_path)) and not conv.match("model.onnx") and not conv.match(object())
    assert conv.match(km.mlp())
    with pytest.raises(UnsupportedModelError, match="Dense"):
        _convert(keras.layers.Dense(3))  # a keras object, but not a model


def test_importing_modelmap_imports_no_framework() -> None:
    code = (
        "import sys, modelmap, modelmap.converters;"
        "from modelmap.converters.keras3 import KerasConverter;"
        "assert KerasConverter().match('model.keras') and not KerasConverter().match(1.0);"
        "print(sorted(m for m in ('tensorflow', 'keras', 'tf2onnx') if m in sys.modules))"
    )
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


# ---------------------------------------------------------------- CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "modelmap", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_cli_converts_the_seed_resnet_factory(tmp_path: Path) -> None:
    out = tmp_path / "seed.onnx"
    result = _cli("convert", "fixtures/keras_models.py:seed_resnet", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert md.model_framework(proto) == "keras"
    assert len(_nodes_of(proto, "Add")) == 14


def test_cli_factory_that_raises_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "never.onnx"
    result = _cli("convert", "fixtures/keras_models.py:broken", "-o", str(out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "this factory always fails" in result.stderr
    assert not out.exists()


def test_cli_user_factory_importing_keras_is_quiet(tmp_path: Path) -> None:
    factory = tmp_path / "user_factory.py"
    factory.write_text("import keras\n\ndef build():\n    raise ValueError('user factory failed')\n")
    result = _cli("convert", f"{factory}:build", "-o", str(tmp_path / "x.onnx"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


# ---------------------------------------------------------------- heavy


@pytest.mark.heavy
def test_resnet50_conv_and_batchnorm_apart_and_names(converted: Any) -> None:
    c = converted("resnet50")
    model, proto = c.model, c.proto
    onnx.checker.check_model(proto, full_check=True)
    _assert_conv_and_bn_apart(model, proto)
    _assert_names_are_summary_names(model, proto)
    assert len(_nodes_of(proto, "Add")) == 16
    _assert_same_numbers(model, proto)
