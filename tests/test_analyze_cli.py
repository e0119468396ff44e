"""``modelmap analyze``: table, --json, --depth, --explain, and the exit-code contract."""

from __future__ import annotations

import json

import onnx
import pytest
from click.testing import CliRunner

from modelmap._cli import cli

from .test_core_graph import make
from .test_core_layers import BLOCK
from .test_core_skips import BLOCK_NS


@pytest.fixture(scope="module")
def block_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("analyze") / "block.onnx"
    onnx.save(make(BLOCK, BLOCK_NS), path)
    return str(path)


def run(*args: str):
    return CliRunner().invoke(cli, ["analyze", *args])


def test_table(block_file):
    r = run(block_file)
    assert r.exit_code == 0, r.output
    assert "block.conv1" in r.output and "skip connections: 1 (1 identity)" in r.output
    assert "merges that are not" not in r.output


def test_json(block_file):
    r = run(block_file, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert list(d)[:8] == ["framework", "converter", "op_count", "params", "param_bytes", "macs", "depth", "layers"]
    assert "rejections" not in d
    assert [s["kind"] for s in d["skips"]] == ["identity"]
    assert {"name", "type", "params", "inputs", "outputs", "output_shape"} <= set(d["layers"][0])


def test_json_with_depth_and_explain(tmp_path):
    path = tmp_path / "fc.onnx"
    onnx.save(
        make(
            """g (float[1,4] x) => (float[1,4] y) <float[4,4] W, float[4] B> { m = MatMul(x, W)  y = Add(m, B) }""",
            {"m": ("head/fc", "Head/Linear"), "y": ("head/fc", "Head/Linear")},
        ),
        path,
    )
    r = run(str(path), "--json", "--depth", "1", "--explain")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert [layer["name"] for layer in d["layers"]] == ["x", "head", "output"]
    assert d["rejections"] == [
        {"merge": "fc", "op": "Add_1", "reason": "Add at fc: one input is an initializer: a bias add, not a skip"}
    ]
    r = run(str(path), "--explain")
    assert "Add at fc: one input is an initializer: a bias add, not a skip" in r.output


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "cycle.onnx"
    onnx.save(
        onnx.parser.parse_model(
            '<ir_version: 8, opset_import: ["" : 17]>\ng (float[1,4] x) => (float[1,4] y) { a = Relu(y)  y = Abs(a) }'
        ),
        bad,
    )
    r = run(str(bad))
    assert r.exit_code == 2
    assert r.output.strip() == "modelmap: error: the ONNX graph has a cycle: Relu_0 -> Abs_1 -> Relu_0"
    r = run(str(tmp_path / "missing.onnx"))
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "no such file" in r.output
    r = run(str(bad), "--depth", "0")
    assert r.exit_code == 2
