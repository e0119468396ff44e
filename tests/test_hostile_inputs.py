"""Each boundary where outside data enters, with the exact one-line answer a user gets (issue 12).

The fuzz suite (``test_fuzz.py``) throws a thousand cases at the same boundaries; here each
one has a case of its own with the message a user should read.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper

from modelmap._cli import cli as modelmap_cli
from modelmap._errors import ModelLoadError
from modelmap._limits import check_zip

from .fuzz.factories import BEHAVIOURS, MODEL
from .fuzz.files import bomb_zip, external_data_case
from .fuzz.models import random_model, set_model_prop, set_namespace
from .helpers import assert_one_line_error, cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in this process (click's runner), as a CompletedProcess."""
    r = CliRunner().invoke(modelmap_cli, list(args))
    return subprocess.CompletedProcess(args, r.exit_code, r.stdout, r.stderr)


def model_file(tmp_path: Path, model: onnx.ModelProto | bytes, name: str = "model.onnx") -> str:
    path = tmp_path / name
    path.write_bytes(model if isinstance(model, bytes) else model.SerializeToString())
    return str(path)


# --------------------------------------------------------------------------- file kinds
def test_a_fifo_named_onnx_is_refused_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.onnx")
    r = cli("analyze", str(tmp_path / "x.onnx"))  # before: blocked forever in open()
    assert_one_line_error(r, "x.onnx is a named pipe (FIFO), not a regular file")


@pytest.mark.parametrize("suffix", [".onnx", ".keras", ".pt2"])
def test_a_symlink_to_dev_zero_is_refused(tmp_path: Path, suffix: str) -> None:
    os.symlink("/dev/zero", tmp_path / f"z{suffix}")
    assert_one_line_error(run("analyze", str(tmp_path / f"z{suffix}")), "is a character device, not a regular file")


def test_an_onnx_file_over_2_gib_is_refused_before_reading(tmp_path: Path) -> None:
    with open(tmp_path / "big.onnx", "wb") as f:
        f.truncate(3 * 2**30)  # sparse: no disk used
    assert_one_line_error(run("analyze", str(tmp_path / "big.onnx")), "is 3.0 GiB; an ONNX file holds at most 2 GiB")


# --------------------------------------------------------------------------- archives
def test_a_keras_zip_bomb_is_refused_before_tensorflow(tmp_path: Path) -> None:
    path = tmp_path / "bomb.keras"
    path.write_bytes(bomb_zip([("config.json", b" ", 10), ("model.weights.h5", b"\0", 2**28)]))
    assert path.stat().st_size < 2**20
    r = cli("analyze", str(path))
    assert_one_line_error(r, "'model.weights.h5' unpacks 254.8 KiB into 256.0 MiB (1,028 times), like a zip bomb",
                          "MODELMAP_MAX_ARCHIVE_RATIO")


def test_a_keras_config_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.keras"
    path.write_bytes(bomb_zip([("config.json", b" ", 2**27)]))
    with pytest.raises(ModelLoadError, match=r"'config.json' unpacks to 128.0 MiB, more than the 64.0 MiB a configuration"):
        check_zip(path, ".keras file")


def test_archive_limits_are_raised_by_their_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "many.keras"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(120):
            z.writestr(f"assets/{i}", b"")
    monkeypatch.setenv("MODELMAP_MAX_ARCHIVE_ENTRIES", "100")
    with pytest.raises(ModelLoadError, match=r"holds 120 files, more than the 100 allowed; raise the limit with MODELMAP_MAX_ARCHIVE_ENTRIES"):
        check_zip(path, ".keras file")
    monkeypatch.setenv("MODELMAP_MAX_ARCHIVE_ENTRIES", "1000")
    check_zip(path, ".keras file")
    monkeypatch.setenv("MODELMAP_MAX_ARCHIVE_ENTRIES", "lots")
    assert_one_line_error(run("analyze", str(path)), "MODELMAP_MAX_ARCHIVE_ENTRIES='lots' is not a whole number")


# --------------------------------------------------------------------------- external data
@pytest.mark.parametrize(
    ("kind", "fragment"),
    [("long", "which is not a usable file name"), ("dotdot", "outside the model's folder"),
     ("absolute", "outside the model's folder"), ("dev", "outside the model's folder"),
     ("symlink", "a link that leads outside the model's folder"), ("length", "beyond the end of that"),
     ("fifo", "is a named pipe (FIFO)"), ("missing", "no such external data file")],
)
def test_external_data_stays_in_the_models_folder(tmp_path: Path, kind: str, fragment: str) -> None:
    path = external_data_case(random.Random(0), tmp_path, kind)
    assert_one_line_error(run("analyze", path), fragment)


def test_external_data_beside_the_model_still_loads(tmp_path: Path) -> None:
    r = run("analyze", external_data_case(random.Random(0), tmp_path, "ok"), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["params"] > 0


# --------------------------------------------------------------------------- what the file says
@pytest.mark.parametrize(
    ("layers", "fragment"),
    [("{not json", "is not JSON (JSONDecodeError)"), ("[" * 100_000, "is not JSON (RecursionError)"),
     ('{"a": 1}', "a JSON dict, not a list of layer records"),
     ('[{"name": "a", "namespace": "a", "cls": "C", "params": "many"}]', "invalid at record 0: params must be a non-negative integer"),
     ('[{"name": "a", "namespace": ["a"], "cls": "C"}]', "namespace must be a string"),
     ('[{"name": "a", "namespace": "a", "cls": "C", "inbound": "b"}]', "inbound must be a list of layer names"),
     ('[{"name": "a", "namespace": "a", "cls": "C", "rogue": 1}]', "unknown field 'rogue'")],
)
def test_layer_metadata_is_checked_against_its_schema(tmp_path: Path, layers: str, fragment: str) -> None:
    model = random_model(random.Random(1))
    set_model_prop(model, "modelmap.layers", layers)
    assert_one_line_error(run("analyze", model_file(tmp_path, model)), "modelmap.layers metadata", fragment)


@pytest.mark.parametrize("literal", ["__import__('os').system('touch CANARY')", "[" * 100_000, "['a'", "9" * 5000, "{'a': 1}"])
def test_name_scopes_are_read_as_literals_only(tmp_path: Path, literal: str) -> None:
    model = random_model(random.Random(2), scopes=False)
    for node in model.graph.node:
        p = node.metadata_props.add()
        p.key, p.value = "pkg.torch.onnx.name_scopes", literal
    r = run("analyze", model_file(tmp_path, model))
    assert_one_line_error(r, "pkg.torch.onnx.name_scopes is not a Python list of strings")
    assert not (Path.cwd() / "CANARY").exists()


def test_a_reference_attribute_outside_a_function_is_named(tmp_path: Path) -> None:
    model = random_model(random.Random(3), layers=3)
    a = model.graph.node[1].attribute.add()
    a.name, a.ref_attr_name, a.type = "alpha", "outer_alpha", onnx.AttributeProto.FLOAT
    assert_one_line_error(run("analyze", model_file(tmp_path, model)),
                          "attribute 'alpha' refers to 'outer_alpha' of an enclosing function")


@pytest.mark.parametrize("field", ["node name", "graph name", "metadata"])
def test_invalid_utf8_in_a_string_field_is_named(tmp_path: Path, field: str) -> None:
    model = random_model(random.Random(4), layers=3)
    if field == "node name":
        model.graph.node[0].name = "QQQQ"
    elif field == "graph name":
        model.graph.name = "QQQQ"
    else:
        set_model_prop(model, "note", "QQQQ")
    data = model.SerializeToString().replace(b"QQQQ", b"Q\xff\xfeQ")
    assert_one_line_error(run("analyze", model_file(tmp_path, data)), "is not valid UTF-8 text (b'Q\\xff\\xfeQ')")


def test_module_paths_a_thousand_deep_are_drawn_and_deeper_ones_refused(tmp_path: Path) -> None:
    model = random_model(random.Random(5), layers=3, scopes=False)
    for node in model.graph.node:
        path = [f"m{k}" for k in range(990)] + [node.name]
        set_namespace(node, path, ["C"] * len(path))
    for ext in ("svg", "mmd", "html"):
        r = run("draw", model_file(tmp_path, model), "-o", str(tmp_path / f"deep.{ext}"))
        assert r.returncode == 0, r.stderr  # before: RecursionError
    for node in model.graph.node:
        del node.metadata_props[:]
        set_namespace(node, [f"m{k}" for k in range(5000)], ["C"] * 5000)
    assert_one_line_error(run("analyze", model_file(tmp_path, model)), "sits 5,000 modules deep", "at most 1,024 levels")


# --------------------------------------------------------------------------- factories
def factory(tmp_path: Path, behaviour: str) -> str:
    top, body = BEHAVIOURS[behaviour]
    (tmp_path / "factory.py").write_text(f"{top}\n{MODEL}\n\ndef make():\n    {body}\n")
    return f"{tmp_path / 'factory.py'}:make"


@pytest.mark.parametrize(
    ("behaviour", "fragment"),
    [("exit0", "raised SystemExit: it called sys.exit(0)"), ("keyboard", "raised KeyboardInterrupt"),
     ("base_exception", "raised Odd: odd"), ("os_exit3", "ended the process with exit code 3 before returning a model"),
     ("abort", "ended the process by signal SIGABRT"), ("exit_at_import", "importing")],
)
def test_a_factory_that_exits_or_aborts_is_exit_2_naming_it(tmp_path: Path, behaviour: str, fragment: str) -> None:
    r = cli("analyze", factory(tmp_path, behaviour), "--json")
    assert_one_line_error(r, "factory.py", fragment)
    assert r.stdout == ""


@pytest.mark.parametrize("behaviour", ["prints", "prints_fd", "atexit_print", "atexit_fd", "close_stdout"])
def test_a_factory_that_prints_cannot_corrupt_json(tmp_path: Path, behaviour: str) -> None:
    r = cli("analyze", factory(tmp_path, behaviour), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["op_count"] == 1


def test_in_process_factories_turn_base_exceptions_into_factory_errors(tmp_path: Path) -> None:
    import modelmap as mm
    from modelmap._errors import FactoryError

    with pytest.raises(FactoryError, match=r"raised SystemExit: it called sys.exit\(0\)"):
        mm.analyze(factory(tmp_path, "exit0"))


def test_graph_inputs_claiming_huge_dims_cost_no_memory(tmp_path: Path) -> None:
    model = random_model(random.Random(6), layers=3)
    for d in model.graph.input[0].type.tensor_type.shape.dim:
        d.dim_value = 2**62
    model.graph.value_info.append(helper.make_tensor_value_info(model.graph.node[0].output[0], TensorProto.FLOAT, [2**62, 2**62]))
    r = cli("analyze", model_file(tmp_path, model), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["layers"][0]["output_shape"][0] == 2**62


def test_the_module_runs_only_as_a_script() -> None:
    """``python -m modelmap`` runs the CLI; importing ``modelmap.__main__`` (as a child process's
    start-up may) does not."""
    r = subprocess.run([sys.executable, "-c", "import modelmap.__main__"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
