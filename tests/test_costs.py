"""MACs, output and parameter bytes (core/costs.py) and the architecture table
(exporters/table.py, ``modelmap table``) on small ONNX models written inline."""

from __future__ import annotations

import csv
import doctest
import html
import importlib
import io
import json
import re
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import modelmap as mm
from modelmap import _metadata as md
from modelmap.core import analyze_onnx
from modelmap.core.costs import compute_costs

from .conftest import skip_or_fail_without
from .helpers import assert_one_line_error, cli

HOSTILE = ["a_b & c% $d$ #e", "{f} ~g ^h \\i", "x|y *z* <b>`q` --'s\"<<"]


def _init(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


def _model(nodes: list, inputs: list, outputs: list, inits: list, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _vi(name: str, *shape: int | str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(shape))


def every_op_model() -> onnx.ModelProto:
    """Conv, ConvTranspose, Gemm, MatMul (QK^T-like), Einsum, LSTM, GRU, RNN and free ops."""
    nodes = [
        helper.make_node("Conv", ["x", "Wc"], ["c"], "conv", pads=[1, 1, 1, 1]),          # 1x4x8x8 out
        helper.make_node("Relu", ["c"], ["r"], "relu"),
        helper.make_node("BatchNormalization", ["r", "s", "b", "m", "v"], ["bn"], "bn"),
        helper.make_node("ConvTranspose", ["bn", "Wt"], ["t"], "up", strides=[2, 2]),    # 1x2x16x16
        helper.make_node("Reshape", ["t", "shape"], ["flat"], "flat"),                    # 1x512
        helper.make_node("Gemm", ["flat", "Wg"], ["gm"], "fc", transB=1),                # 1x20
        helper.make_node("Reshape", ["gm", "shape2"], ["seq"], "seq"),                    # 5x1x4
        helper.make_node("MatMul", ["seq", "seqT"], ["att"], "qk"),                      # 5x1x1 @ ...
        helper.make_node("Einsum", ["seq", "We"], ["e"], "ein", equation="sbi,ij->sbj"),  # 5x1x6
        helper.make_node("LSTM", ["e", "Wl", "Rl"], ["ly", "lh"], "lstm", hidden_size=3),
        helper.make_node("GRU", ["e", "Wgru", "Rgru"], ["gy"], "gru", hidden_size=2, direction="bidirectional"),
        helper.make_node("RNN", ["e", "Wr", "Rr"], ["ry"], "rnn", hidden_size=7),
        helper.make_node("Add", ["lh", "lh"], ["y"], "add"),
    ]
    inits = [
        _init("Wc", 4, 3, 3, 3), _init("s", 4), _init("b", 4), _init("m", 4), _init("v", 4),
        _init("Wt", 4, 2, 2, 2), numpy_helper.from_array(np.array([1, 512], np.int64), "shape"),
        _init("Wg", 20, 512), numpy_helper.from_array(np.array([5, 1, 4], np.int64), "shape2"),
        _init("seqT", 5, 4, 3), _init("We", 4, 6),
        _init("Wl", 1, 12, 6), _init("Rl", 1, 12, 3), _init("Wgru", 2, 6, 6), _init("Rgru", 2, 6, 2),
        _init("Wr", 1, 7, 6), _init("Rr", 1, 7, 7),
    ]
    outputs = [_vi("y", 1, 1, 3), _vi("att", 5, 1, 3), _vi("gy", 5, 2, 1, 2), _vi("ry", 5, 1, 1, 7)]
    return _model(nodes, [_vi("x", 1, 3, 8, 8)], outputs, inits)


EXPECTED_OP_MACS = {
    "conv": 4 * 8 * 8 * 27,            # outputs x (C_in * 3 * 3)
    "up": 4 * 8 * 8 * 2 * 2 * 2,       # inputs x (C_out * 2 * 2)
    "fc": 20 * 512,
    "qk": 5 * 1 * 3 * 4,               # [5,1,4] @ [5,4,3]
    "ein": 5 * 1 * 4 * 6,
    "lstm": 5 * 1 * (12 * 6 + 12 * 3),  # steps x batch x (W + R)
    "gru": 5 * 1 * (2 * 6 * 6 + 2 * 6 * 2),
    "rnn": 5 * 1 * (7 * 6 + 7 * 7),
}


def test_docstring_examples_of_costs_table_and_escaping():
    for name in ("modelmap.core.costs", "modelmap.exporters._escape"):
        result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, name


def test_every_mac_op_counted_by_hand_and_free_ops_cost_nothing():
    a = analyze_onnx(every_op_model())
    costs = a.costs
    by_name = {a.graph.by_id[op].name: macs for op, macs in costs.ops.items()}
    assert by_name == EXPECTED_OP_MACS
    assert costs.unknown == ()
    assert costs.macs == sum(EXPECTED_OP_MACS.values()) == a.macs
    for layer in a.layers:  # Relu, BatchNormalization, Reshape, Add: no MACs
        if layer.type in ("Relu", "BatchNormalization", "Reshape", "Add"):
            assert costs.layers[layer.name].macs == 0, layer.name
    # output bytes: the conv's 1x4x8x8 float tensor, the fc's 1x20
    assert costs.layers["conv"].output_bytes == 4 * 8 * 8 * 4
    assert costs.layers["fc"].output_bytes == 20 * 4
    assert costs.param_bytes == 4 * a.params


def test_attention_op_counts_qk_and_av():
    nodes = [helper.make_node("Attention", ["q", "k", "v"], ["y"], "attn")]
    inputs = [_vi("q", 1, 2, 6, 8), _vi("k", 1, 2, 10, 8), _vi("v", 1, 2, 10, 4)]
    a = analyze_onnx(_model(nodes, inputs, [_vi("y", 1, 2, 6, 4)], [], opset=23))
    assert a.macs == 2 * 6 * 10 * 8 + 2 * 6 * 10 * 4


def symbolic_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], "conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], "relu")]
    return _model(nodes, [_vi("x", "N", 3, 8, 8)], [_vi("y", "N", 4, 8, 8)], [_init("W", 4, 3, 3, 3)])


def test_symbolic_dims_take_the_example_input_sizes(tmp_path):
    per_image = 4 * 8 * 8 * 27
    a = analyze_onnx(symbolic_model())
    assert a.macs == per_image and a.costs.bound == {"N": 1}  # nothing said: 1
    assert compute_costs(a, [(3, 3, 8, 8)]).macs == 3 * per_image
    path = tmp_path / "sym.onnx"
    onnx.save(symbolic_model(), path)
    b = mm.analyze(str(path), input_shape=((5, 3, 8, 8),))  # --input-shape fixes the ONNX file's dims
    assert b.macs == 5 * per_image and b.costs.bound == {}
    assert b.costs.layers["conv"].output_bytes == 5 * 4 * 8 * 8 * 4


def test_json_keys_in_contract_order_with_costs(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(every_op_model(), path)
    r = cli("analyze", str(path), "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d)[:7] == ["framework", "converter", "op_count", "params", "param_bytes", "macs", "depth"]
    assert d["macs"] == sum(EXPECTED_OP_MACS.values())
    conv = next(e for e in d["layers"] if e["name"] == "conv")
    assert list(conv)[:7] == ["name", "path", "type", "kind", "params", "macs", "output_bytes"]
    assert (conv["macs"], conv["output_bytes"]) == (EXPECTED_OP_MACS["conv"], 1024)
    text = cli("analyze", str(path)).stdout
    assert "MACs" in text.splitlines()[0] and f"{sum(EXPECTED_OP_MACS.values()):,}" in text


def hostile_model() -> onnx.ModelProto:
    """Conv -> Relu -> Gemm whose layers carry LaTeX/Markdown special characters."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], "n0", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], "n1"),
        helper.make_node("Flatten", ["r"], ["f"], "n2"),
        helper.make_node("Gemm", ["f", "Wg"], ["y"], "n3", transB=1),
    ]
    model = _model(nodes, [_vi("x", 1, 3, 4, 4)], [_vi("y", 1, 5)], [_init("W", 2, 3, 3, 3), _init("Wg", 5, 32)])
    for node, (name, cls) in zip(model.graph.node, [(HOSTILE[0], "Conv%2d"), (HOSTILE[1], "Re_LU"),
                                                    ("flat", "Flatten"), (HOSTILE[2], "Lin&ear")]):
        md.annotate_node(node, [name], [cls])
    return model


def _hostile_analysis():
    return analyze_onnx(hostile_model())


def test_latex_table_compiles_with_booktabs_and_shows_hostile_names_literally(tmp_path):
    skip_or_fail_without(bool(shutil.which("pdflatex") and shutil.which("pdftotext")), "pdflatex/pdftotext not installed")
    tex = mm.table(_hostile_analysis(), tmp_path / "arch.tex")
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
    # no special character is left bare (escaped ones are preceded by a backslash or spelled out)
    for line in body.splitlines()[5:-4]:
        cells = line.rsplit("\\\\", 1)[0]
        assert not re.search(r"(?<!\\)[&]", cells.replace(" & ", "")), line
        assert not re.search(r"(?<!\\)[%$#_^~]", cells.replace("$\\times$", "")), line
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{booktabs}\n"
        "\\begin{document}\\input{arch.tex}\\end{document}\n"
    )
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    text = subprocess.run(["pdftotext", "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    for name in [*HOSTILE, "Conv%2d", "Re_LU", "Lin&ear"]:
        assert re.sub(r"\s+", "", name) in flat, (name, text)


def test_markdown_table_renders_one_cell_per_column_with_hostile_names():
    from markdown_it import MarkdownIt

    md_text = mm.table(_hostile_analysis(), format="markdown")
    page = MarkdownIt("commonmark").enable("table").render(md_text)
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    cells = [[html.unescape(c).strip("\u00a0 ") for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)] for r in rows]
    assert all(len(r) == 5 for r in cells), cells
    names = [r[0] for r in cells[1:-1]]
    assert names == [HOSTILE[0], HOSTILE[1], "flat", HOSTILE[2]]
    assert [r[1] for r in cells[1:-1]] == ["Conv%2d", "Re_LU", "Flatten", "Lin&ear"]
    assert "<b>" not in page.replace("&lt;b&gt;", "")  # no tag got through


def test_csv_rows_add_up_to_the_totals():
    a = _hostile_analysis()
    rows = list(csv.DictReader(io.StringIO(mm.table(a, format="csv"))))
    body, total = rows[:-1], rows[-1]
    assert [r["layer"] for r in body] == [HOSTILE[0], HOSTILE[1], "flat", HOSTILE[2]]
    assert sum(int(r["params"]) for r in body) == int(total["params"]) == a.params == 2 * 27 + 5 * 32
    assert sum(int(r["macs"]) for r in body) == int(total["macs"]) == 2 * 16 * 27 + 5 * 32
    assert body[0]["output_shape"] == "1x2x4x4"


def test_table_cli_writes_each_format(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(hostile_model(), path)
    for ext, marker in ((".tex", "\\toprule"), (".md", "| Layer |"), (".csv", "layer,level,type")):
        out = tmp_path / f"arch{ext}"
        r = cli("table", str(path), "-o", str(out), "--depth", "1")
        assert r.returncode == 0, r.stderr
        assert marker in out.read_text()


def test_table_bad_input_is_one_line_exit_2_and_no_file(tmp_path):
    path = tmp_path / "m.onnx"
    onnx.save(hostile_model(), path)
    out = tmp_path / "arch.xlsx"
    assert_one_line_error(cli("table", str(path), "-o", str(out)), "arch.xlsx", ".tex")
    assert not out.exists()
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    out = tmp_path / "arch.tex"
    assert_one_line_error(cli("table", str(broken), "-o", str(out)), "broken.onnx")
    assert not out.exists()
    assert_one_line_error(cli("table", str(tmp_path / "missing.onnx"), "-o", str(out)))
    assert not out.exists()
