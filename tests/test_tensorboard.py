"""`modelmap tensorboard`: event files with the layer graph and weight histograms.

The name scopes and the event contents are checked on small ONNX graphs; then a real
TensorBoard, started on a loopback port, must serve the seed residual network's graph and
its histograms over two steps through its HTTP data API.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from modelmap.core import analyze_onnx
from modelmap.exporters import tensorboard as tb
from onnx import TensorProto, helper, numpy_helper

import modelmap as mm
from modelmap import _metadata as md
from modelmap._errors import InputError
from tests.helpers import assert_one_line_error, cli

TB_NAME = re.compile(r"[A-Za-z0-9.][A-Za-z0-9_.\-/>]*")  # TensorFlow's rule for node names






# --------------------------------------------------------------------------- small graphs


def _node(op: str, ins: list[str], outs: list[str], path: list[str], classes: list[str], **attrs: Any) -> onnx.NodeProto:
    n = helper.make_node(op, ins, outs, name=f"{'_'.join(path)}/{op}_{outs[0]}", **attrs)
    md.annotate_node(n, path, classes)
    return n


def residual_model(nested: bool, names: dict[str, str] | None = None) -> onnx.ModelProto:
    """stem conv, two residual blocks (conv, relu, conv, add, relu), dense.

    ``nested``: each block is a module (PyTorch style); otherwise every layer sits at the
    root (a Keras functional model)."""
    n = names or {}
    rng = np.random.default_rng(0)
    inits = []

    def w(name: str, *shape: int) -> str:
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name))
        return name

    conv = {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}
    nodes = [_node("Conv", ["x", w("stem.w", 4, 3, 3, 3)], ["t0"], [n.get("stem", "stem")], ["Conv2d"], **conv)]
    x = "t0"
    for b in (1, 2):
        def where(layer: str, cls: str) -> tuple[list[str], list[str]]:
            name = n.get(f"{layer}{b}", f"{layer}{b}")
            return ([f"block{b}", name], ["Block", cls]) if nested else ([name], [cls])

        nodes += [
            _node("Conv", [x, w(f"c{b}a.w", 4, 4, 3, 3)], [f"a{b}"], *where("conv_a", "Conv2d"), **conv),
            _node("Relu", [f"a{b}"], [f"r{b}"], *where("relu_a", "ReLU")),
            _node("Conv", [f"r{b}", w(f"c{b}b.w", 4, 4, 3, 3)], [f"b{b}"], *where("conv_b", "Conv2d"), **conv),
            _node("Add", [x, f"b{b}"], [f"s{b}"], *where("add", "Add")),
            _node("Relu", [f"s{b}"], [f"o{b}"], *where("relu_out", "ReLU")),
        ]
        x = f"o{b}"
    inits.append(numpy_helper.from_array(np.array([1, -1], np.int64), "shape"))
    nodes += [
        _node("Reshape", [x, "shape"], ["f"], ["flatten"], ["Flatten"]),
        _node("Gemm", ["f", w("fc.w", 10, 256), w("fc.b", 10)], ["y"], [n.get("fc", "fc")], ["Linear"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "res", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits,
    )
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    return m


@pytest.fixture(scope="module")
def flat() -> Any:
    return analyze_onnx(residual_model(nested=False))


@pytest.fixture(scope="module")
def nested() -> Any:
    return analyze_onnx(residual_model(nested=True))


def test_flat_models_get_a_scope_per_residual_block(flat: Any) -> None:
    assert len(flat.skips) == 2
    names = tb.scope_names(flat)  # the blocks, stage and head core/inferred.py gives a flat model
    assert names["conv_a1"] == "stage1/block1/conv_a1" and names["add1"] == "stage1/block1/add1"
    assert names["conv_b2"] == "stage1/block2/conv_b2" and names["add2"] == "stage1/block2/add2"
    assert names["relu_out1"] == "stage1/block1/relu_out1" and names["stem"] == "stem" and names["fc"] == "head/fc"
    assert flat.tree[("stage1",)].inferred == "shapes" and flat.tree[("stage1", "block1")].inferred == "skips"


def test_nested_models_keep_their_module_scopes(nested: Any) -> None:
    names = tb.scope_names(nested)
    assert names["conv_a1"] == "block1/conv_a1" and names["add2"] == "block2/add2"
    assert not [v for v in names.values() if "residual" in v]  # the module is the block already


def test_pytorch_qualified_names_are_shortened_under_their_parent() -> None:
    class L:
        def __init__(self, name: str, path: tuple[str, ...]) -> None:
            self.name, self.path = name, path

    class A:
        layers = [L("layer1.0.conv1", ("layer1", "layer1.0", "layer1.0.conv1")), L("fc", ("fc",))]
        skips = ()

    assert tb.scope_names(A()) == {"layer1.0.conv1": "layer1/0/conv1", "fc": "fc"}


def test_hostile_names_become_valid_unique_node_names() -> None:
    hostile = {"conv_a1": "a b:c", "conv_b1": "a b?c", "add1": "<script>", "stem": "_x", "fc": "-"}
    a = analyze_onnx(residual_model(nested=False, names=hostile))
    names = tb.scope_names(a)
    assert len(set(names.values())) == len(names)
    for v in names.values():
        assert TB_NAME.fullmatch(v), v
    scopes = {"/".join(v.split("/")[:i]) for v in names.values() for i in range(1, v.count("/") + 1)}
    assert not scopes & set(names.values())  # no node is also a scope
    gd = tb.graph_def(a, names)
    assert {n.name for n in gd.node} == set(names.values())
    assert gd.node[[n.name for n in gd.node].index(names["<script>"])].attr["layer"].s == b"<script>"


def test_graph_def_wiring_shapes_and_skip_attributes(flat: Any) -> None:
    names = tb.scope_names(flat)
    gd = tb.graph_def(flat, names)
    by = {n.name: n for n in gd.node}
    assert set(by) == set(names.values())
    add = by["stage1/block1/add1"]
    assert add.op == "Add"
    assert sorted(add.input) == sorted([names["stem"], names["conv_b1"]])
    assert add.attr["skip"].s.decode().startswith("identity skip from stem")
    dims = [d.size for d in by["stage1/block1/conv_a1"].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [1, 4, 8, 8]
    assert by["head/fc"].attr["params"].i == 2570 and by["head/fc"].attr["kind"].s == b"linear"
    for node in gd.node:
        assert all(i in by for i in node.input)


def test_events_hold_the_graph_and_one_histogram_per_weight(flat: Any, tmp_path: Path) -> None:
    run = mm.write_tensorboard(flat, tmp_path / "logs" / "flat", step=7)
    assert run.event_file.parent == tmp_path / "logs" / "flat"
    events = list(tb.read_events(run.event_file))
    graphs = [e for e in events if e.WhichOneof("what") == "graph_def"]
    summaries = [v for e in events if e.WhichOneof("what") == "summary" for v in e.summary.value]
    assert len(graphs) == 1 and graphs[0].step == 7
    assert {e.step for e in events if e.WhichOneof("what") == "summary"} == {7}
    assert [v.tag for v in summaries] == list(run.tags) == [
        "stem/weight", "stage1/block1/conv_a1/weight", "stage1/block1/conv_b1/weight",
        "stage1/block2/conv_a2/weight", "stage1/block2/conv_b2/weight", "head/fc/weight", "head/fc/bias",
    ]  # fmt: skip
    for v in summaries:
        assert v.metadata.plugin_data.plugin_name == "histograms"
        buckets = np.frombuffer(v.tensor.tensor_content, dtype=np.float64).reshape(-1, 3)
        assert buckets.shape == (30, 3)
    fc = next(v for v in summaries if v.tag == "head/fc/weight")
    assert np.frombuffer(fc.tensor.tensor_content, dtype=np.float64).reshape(-1, 3)[:, 2].sum() == 2560
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["flat"]


def test_no_partial_event_file_on_failure(flat: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    def boom(self: Any, event: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(EventFileWriter, "add_event", boom)
    with pytest.raises(OSError, match="disk full"):
        tb.write_tensorboard(flat, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        tb.write_tensorboard(flat, tmp_path / "file")


def test_writing_does_not_import_tensorflow(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    onnx.save(residual_model(nested=True), model)
    code = (
        "import sys, modelmap as mm\n"
        f"mm.write_tensorboard({str(model)!r}, {str(tmp_path / 'logs')!r})\n"
        "print('tensorflow' in sys.modules, 'tensorboard.compat.notf' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_cli_tensorboard_and_its_bad_input(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    onnx.save(residual_model(nested=True), model)
    r = cli("tensorboard", str(model), "--logdir", str(tmp_path / "logs"), "--step", "3")
    assert r.returncode == 0, r.stderr
    assert "at step 3" in r.stdout and r.stderr == ""
    assert len(list((tmp_path / "logs").glob("events.out.tfevents.*"))) == 1

    assert_one_line_error(cli("tensorboard", str(tmp_path / "nope.onnx"), "--logdir", str(tmp_path / "new")), "no such file")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(os.urandom(1000))
    assert_one_line_error(cli("tensorboard", str(junk), "--logdir", str(tmp_path / "new")), "junk.onnx")
    assert_one_line_error(cli("tensorboard", str(model), "--logdir", str(model)), "not a folder")
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.onnx", "logs", "m.onnx"]
    assert len(list((tmp_path / "logs").iterdir())) == 1


# --------------------------------------------------------------------------- a real TensorBoard


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, logdir: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("tensorboard")
        cmd = [str(exe), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(self.port), "--reload_interval", "1"]
        self.log = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=logdir)

    def get(self, path: str, **query: str) -> bytes:
        url = self.base + path + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.read()

    def get_json(self, path: str, **query: str) -> Any:
        return json.loads(self.get(path, **query))

    def wait_for(self, check: Any, what: str, timeout: float = 120.0) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tensorboard exited with {self.proc.returncode}")
            try:
                last = check()
                if last:
                    return last
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError, KeyError) as e:
                last = e
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {last!r}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)
        self.log.close()


@pytest.fixture(scope="module")
def seed_logdir(tmp_path_factory: pytest.TempPathFactory, fixture_cache: Any) -> tuple[Path, dict[str, Any]]:
    """The seed residual network at step 0, a 'checkpoint' of it (weights x2 + 0.5) at step 1,
    both in run ``resnet``; the flat residual model in run ``flat``."""
    pytest.importorskip("torch")
    logdir = tmp_path_factory.mktemp("tb")
    resnet = fixture_cache.analysis("torch", "seed_resnet")
    first = mm.write_tensorboard(resnet, logdir / "resnet", step=0)
    later = onnx.ModelProto()
    later.CopyFrom(resnet.model)
    for t in later.graph.initializer:
        if t.data_type == TensorProto.FLOAT:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t) * 2 + 0.5, t.name))
    second = mm.write_tensorboard(analyze_onnx(later), logdir / "resnet", step=1)
    mm.write_tensorboard(analyze_onnx(residual_model(nested=False)), logdir / "flat")
    return logdir, {"resnet": resnet, "first": first, "second": second}


@pytest.fixture(scope="module")
def server(seed_logdir: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    logdir, _ = seed_logdir
    s = Server(logdir, tmp_path_factory.mktemp("tblog") / "tensorboard.log")
    try:
        s.wait_for(lambda: s.get_json("/data/runs"), "the server to list runs")
        yield s
    finally:
        s.stop()


@pytest.mark.torch
def test_tensorboard_serves_the_scoped_graph(server: Server, seed_logdir: tuple[Path, dict[str, Any]]) -> None:
    _, info = seed_logdir
    runs = server.wait_for(lambda: set(server.get_json("/data/runs")) >= {"resnet", "flat"} and server.get_json("/data/runs"), "both runs")
    assert set(runs) == {"resnet", "flat"}
    graphs = server.wait_for(lambda: server.get_json("/data/plugin/graphs/info"), "graph info")
    assert graphs["resnet"]["run_graph"] is True and graphs["flat"]["run_graph"] is True
    text = server.get("/data/plugin/graphs/graph", run="resnet").decode()
    names = re.findall(r'^\s*name: "([^"]*)"', text, re.M)
    assert len(names) == len(info["resnet"].layers)
    assert set(names) == set(info["second"].nodes.values())
    # the module tree as scopes: stage / block / layer
    assert {"stage1/0/conv1", "stage2/0/shortcut", "stage4/1/bn2", "fc"} <= set(names)
    merges = [n for n in names if n.startswith("stage") and n.endswith("add")]
    assert len(merges) == 14 and all(n.count("/") == 2 for n in merges)
    assert text.count('key: "_output_shapes"') == len(names)
    assert text.count('key: "skip"') == 14 and "projection skip from" in text
    flat = server.get("/data/plugin/graphs/graph", run="flat").decode()
    assert 'name: "stage1/block1/add1"' in flat and 'name: "stage1/block2/conv_a2"' in flat


@pytest.mark.torch
def test_tensorboard_serves_histograms_over_steps(server: Server, seed_logdir: tuple[Path, dict[str, Any]]) -> None:
    _, info = seed_logdir
    tags = server.wait_for(lambda: server.get_json("/data/plugin/histograms/tags").get("resnet"), "histogram tags")
    assert set(tags) == set(info["first"].tags) and len(tags) == 186
    tag = "stage1/0/conv1/weight"
    assert tag in tags and "stage1/0/bn1/mean" in tags and "fc/bias" in tags

    def both_steps() -> Any:
        data = server.get_json("/data/plugin/histograms/histograms", run="resnet", tag=tag)
        return data if len(data) == 2 else None

    data = server.wait_for(both_steps, "two steps of one histogram")
    assert [step for _, step, _ in data] == [0, 1]
    (_, _, b0), (_, _, b1) = data
    assert sum(c for _, _, c in b0) == pytest.approx(64 * 64 * 9) == sum(c for _, _, c in b1)
    lo0, hi0 = b0[0][0], b0[-1][1]
    lo1, hi1 = b1[0][0], b1[-1][1]
    assert lo1 == pytest.approx(2 * lo0 + 0.5, rel=1e-5) and hi1 == pytest.approx(2 * hi0 + 0.5, rel=1e-5)
    # a sampled tensor (stage4 convs have 2.4M values) still counts every value
    big = server.get_json("/data/plugin/histograms/histograms", run="resnet", tag="stage4/1/conv2/weight")
    assert sum(c for _, _, c in big[0][2]) == pytest.approx(512 * 512 * 9)
    flat_tags = server.get_json("/data/plugin/histograms/tags")["flat"]
    assert "stage1/block1/conv_a1/weight" in flat_tags
