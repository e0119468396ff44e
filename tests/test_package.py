"""The package as users get it: wheel layout, import cost, console script."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = {"modelmap": ROOT / "modelmap", "modelmap/converters": ROOT / "converters",
                "modelmap/core": ROOT / "core", "modelmap/exporters": ROOT / "exporters"}


def run_py(*code: str, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-c", "\n".join(code)], capture_output=True, text=True, cwd="/")


def test_import_does_not_import_frameworks() -> None:
    r = run_py(
        "import sys, modelmap, modelmap.converters, modelmap.core, modelmap.exporters",
        "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'tf2onnx', 'onnxruntime') if m in sys.modules]",
        "print(heavy)",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_version_and_help_for_every_command() -> None:
    from click.testing import CliRunner

    from modelmap._cli import cli
    import modelmap

    runner = CliRunner()
    r = runner.invoke(cli, ["--version"])
    assert r.exit_code == 0 and modelmap.__version__ in r.output
    commands = list(cli.commands)
    assert "convert" in commands
    for name in commands:
        r = runner.invoke(cli, [name, "--help"])
        assert r.exit_code == 0, (name, r.output)
        assert "Usage:" in r.output


def test_python_dash_m_runs_the_cli() -> None:
    r = subprocess.run([sys.executable, "-m", "modelmap", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "modelmap" in r.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once per run: parallel workers share it, and its build (which uses the
    tree's own build/ folder) is never run twice at once."""
    from filelock import FileLock

    from tests.conftest import run_folder

    out = run_folder(tmp_path_factory) / "dist"
    with FileLock(str(out) + ".lock"):
        if not list(out.glob("modelmap-*.whl")):
            r = subprocess.run(
                [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                capture_output=True, text=True,
            )
            assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (whl,) = out.glob("modelmap-*.whl")
    return whl


def test_wheel_holds_exactly_the_tree(wheel: Path) -> None:
    """Every .py file of the four package folders is in the wheel, under modelmap/ only."""
    names = {n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".py")}
    expected = set()
    for prefix, folder in PACKAGE_DIRS.items():
        for f in folder.rglob("*.py"):
            if "__pycache__" not in f.parts:
                expected.add(f"{prefix}/{f.relative_to(folder).as_posix()}")
    assert names == expected
    assert not any(n.split("/")[0] in ("core", "converters", "exporters") for n in names)


def test_wheel_holds_the_html_assets(wheel: Path) -> None:
    """The HTML view's page, script, style and vendored elkjs (package data) are in the wheel."""
    folder = ROOT / "exporters" / "assets"
    names = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("modelmap/exporters/assets/")}
    assert names == {f"modelmap/exporters/assets/{f.name}" for f in folder.iterdir() if f.is_file()}


def test_wheel_installs_and_imports_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    # system_site_packages gives the venv the already installed dependencies without a
    # network round trip; modelmap itself must come from the wheel, not from the checkout.
    venv.create(env_dir, with_pip=True, system_site_packages=False)
    py = str(env_dir / "bin" / "python")
    site = subprocess.run([sys.executable, "-c", "import onnx, os; print(os.path.dirname(os.path.dirname(onnx.__file__)))"],
                          capture_output=True, text=True).stdout.strip()
    r = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    # dependencies: point at the main environment's site-packages (behind the wheel's own)
    pth = next((env_dir / "lib").glob("python3*/site-packages"))
    (pth / "_deps.pth").write_text(site + "\n")
    r = run_py(
        "import modelmap, modelmap.core, modelmap.converters, modelmap.exporters, sys",
        "print(modelmap.__file__); print('core' in sys.modules)",
        python=py,
    )
    assert r.returncode == 0, r.stderr
    location, core_alone = r.stdout.split()
    assert str(env_dir) in location
    assert core_alone == "False"
    r = subprocess.run([str(env_dir / "bin" / "modelmap"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
