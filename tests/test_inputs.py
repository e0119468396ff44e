"""Bad input never leaves a traceback or a half-written file: one line on stderr, exit 2."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from modelmap.converters import convert
from onnx import TensorProto, helper, numpy_helper

import modelmap as mm
from modelmap._errors import one_line
from tests.helpers import assert_one_line_error, cli

DATA = Path(__file__).parent / "data"






@pytest.fixture()
def random_onnx(tmp_path: Path) -> Path:
    p = tmp_path / "broken.onnx"
    p.write_bytes(os.urandom(4096))
    return p


BAD_INPUTS = [
    # (name, args builder, fragments expected in the one stderr line)
    ("random bytes", lambda t, r: [str(r)], ["broken.onnx", "not a valid ONNX file"]),
    ("missing file", lambda t, r: [str(t / "nope.onnx")], ["no such file", "nope.onnx"]),
    ("unknown extension", lambda t, r: [str(_touch(t / "model.xyz"))], ["unknown model file extension '.xyz'", ".onnx"]),
    ("folder that is no SavedModel", lambda t, r: [str(t)], ["not a SavedModel"]),
    ("factory raises", lambda t, r: [f"{DATA}/factories.py:raises"], ["raised RuntimeError", "the factory's own failure"]),
    ("factory missing name", lambda t, r: [f"{DATA}/factories.py:nothere"], ["'nothere' is not defined"]),
    ("factory missing file", lambda t, r: [f"{t}/none.py:make"], ["no such factory file"]),
    ("factory missing module", lambda t, r: ["no_such_pkg.models:make"], ["no such factory module: no_such_pkg.models"]),
    ("factory returns 3-tuple", lambda t, r: [f"{DATA}/factories.py:returns_three"], ["tuple of 3"]),
    ("factory returns non-model", lambda t, r: [f"{DATA}/factories.py:returns_a_string_thing"], ["cannot convert a builtins.int"]),
]


def _touch(p: Path) -> Path:
    p.write_bytes(b"x")
    return p


@pytest.mark.parametrize("name,args,fragments", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_convert(name, args, fragments, tmp_path: Path, random_onnx: Path) -> None:
    out = tmp_path / "out" / "model.onnx"
    r = cli("convert", *args(tmp_path, random_onnx), "-o", str(out))
    assert_one_line_error(r, *fragments)
    assert not out.exists()
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    r = cli("convert", f"{DATA}/factories.py:raises", "-o", str(tmp_path / "m.onnx"), "--verbose")
    assert r.returncode == 2
    assert "Traceback" in r.stderr


def test_bad_shape_is_usage_error(tmp_path: Path) -> None:
    r = cli("convert", f"{DATA}/factories.py:tiny_onnx", "-o", str(tmp_path / "m.onnx"), "--input-shape", "1,a")
    assert r.returncode == 2
    assert "not a shape" in r.stderr


def test_onnx_factory_and_module_factory(tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    r = cli("convert", f"{DATA}/factories.py:tiny_onnx", "-o", str(out))
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    # the TorchScript-style node name became a namespace
    assert {p.key: p.value for p in model.graph.node[0].metadata_props}["namespace"] == "act"
    # the same factory as package.module:name, the module found on sys.path
    r2 = cli("convert", "factories:not_callable_model", "-o", str(tmp_path / "m2.onnx"), cwd=DATA)
    assert r2.returncode == 0, r2.stderr


def _external_data_model(tmp_path: Path) -> Path:
    w = numpy_helper.from_array(np.full((64, 64), 0.5, dtype=np.float32), "w")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")
    model = helper.make_model(helper.make_graph([node], "ext", [x], [y], [w]))
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.onnx.data", size_threshold=0)
    return path


def test_onnx_with_external_data_becomes_self_contained(tmp_path: Path) -> None:
    src = _external_data_model(tmp_path)
    assert (tmp_path / "ext.onnx.data").exists()
    out = tmp_path / "copy" / "single.onnx"
    model = mm.to_onnx(str(src), out)
    assert not list(out.parent.glob("*.data"))
    loaded = onnx.load(str(out), load_external_data=False)
    (init,) = loaded.graph.initializer
    assert init.data_location == TensorProto.DEFAULT and len(init.raw_data) == 64 * 64 * 4
    onnx.checker.check_model(loaded, full_check=True)
    assert model.graph.node[0].op_type == "MatMul"


def test_onnx_with_missing_external_data(tmp_path: Path) -> None:
    src = _external_data_model(tmp_path)
    (tmp_path / "ext.onnx.data").unlink()
    r = cli("convert", str(src), "-o", str(tmp_path / "o.onnx"))
    assert_one_line_error(r, "external data")


def test_model_proto_is_not_mutated() -> None:
    from tests.data.factories import tiny_onnx

    proto = tiny_onnx()
    before = proto.SerializeToString()
    out = convert(proto)
    assert proto.SerializeToString() == before
    assert out is not proto


def test_unknown_object_type() -> None:
    with pytest.raises(mm.UnsupportedModelError, match="cannot convert a builtins.dict"):
        convert({"not": "a model"})


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelmap import _io

    def boom(*a, **k):
        raise OSError("disk full")

    target = tmp_path / "m.onnx"
    monkeypatch.setattr(_io.os, "replace", boom)
    from tests.data.factories import tiny_onnx

    with pytest.raises(OSError):
        mm.to_onnx(tiny_onnx(), target)
    assert list(tmp_path.iterdir()) == []


def test_an_error_is_shortened_to_one_line() -> None:
    assert one_line("no such\n   file  here") == "no such file here"
    assert one_line(RuntimeError("\x1b[96mFailed\x1b[0m to export\n\nthe story of it"), first_line=True, typed=True) == (
        "RuntimeError: Failed to export"
    )
    assert one_line(ValueError(""), typed=True) == "ValueError"
    assert one_line("x" * 600) == "x" * 497 + "..."
    assert len(one_line("y" * 600, None)) == 600


def test_the_onnx_converter_imports_neither_torch_nor_the_torch_converter() -> None:
    """``.onnx`` files written by torch are read with the scope parsing of ``_torch_scopes``, which needs no torch."""
    converters = Path(__file__).resolve().parents[1] / "converters"
    seen, todo, imported = set(), ["onnx_file"], set()
    while todo:
        name = todo.pop()
        seen.add(name)
        for node in ast.walk(ast.parse((converters / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                imported.add("." + node.module)
                todo += [node.module] if node.module not in seen else []
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    assert "_torch_scopes" in seen
    assert not {m for m in imported if m.split(".")[0] in ("torch", "tensorflow", "keras") or m == ".pytorch"}

