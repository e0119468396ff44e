"""The examples in the docstrings run and give what they show.

The modules are found, not listed: every module of the package (the folders
``[tool.setuptools.package-dir]`` in pyproject.toml maps to ``modelmap.*``) and of
``benchmarks/`` whose source holds a ``>>>`` prompt is one test. Examples that need a
real model are marked ``# doctest: +SKIP``.
"""

from __future__ import annotations

import doctest
import importlib
import io
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def package_dirs() -> dict[str, Path]:
    """``module prefix -> folder``: the package's folders, and ``benchmarks``."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    return {**{name: ROOT / d for name, d in setuptools["package-dir"].items()}, "benchmarks": ROOT / "benchmarks"}


def modules_with_examples() -> list[str]:
    """Dotted names of the modules whose source holds ``>>>`` (found without importing them)."""
    names = []
    for prefix, folder in package_dirs().items():
        for path in sorted(folder.rglob("*.py")):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] != "__main__" and ">>>" in path.read_text(encoding="utf-8"):
                names.append(".".join((prefix, *parts[: -1 if parts[-1] == "__init__" else None])))
    return names


MODULES = modules_with_examples()


def run_examples(name: str) -> tuple[doctest.TestResults, int, str]:
    """(results, number of examples found, the failure report) of module ``name``'s examples."""
    if str(ROOT) not in sys.path:  # benchmarks/ is a folder of the tree, not of the package
        sys.path.insert(0, str(ROOT))
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    found = 0
    for test in doctest.DocTestFinder().find(module):
        found += len(test.examples)
        runner.run(test, out=report.write)
    return doctest.TestResults(runner.failures, runner.tries), found, report.getvalue()


def test_every_package_folder_is_searched():
    assert set(package_dirs()) == {"modelmap", "modelmap.core", "modelmap.converters", "modelmap.exporters", "benchmarks"}
    assert {name.rsplit(".", 1)[0] for name in MODULES if name.count(".") == 2} >= {
        "modelmap.core", "modelmap.converters", "modelmap.exporters"
    }
    assert {"modelmap", "modelmap._api", "modelmap.core.skips", "benchmarks.synthetic"} <= set(MODULES)


def test_a_failing_example_is_reported(tmp_path, monkeypatch):
    (tmp_path / "doctest_sample.py").write_text('"""\n>>> 1 + 1\n3\n>>> 2  # doctest: +SKIP\n"""\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    (failed, attempted), found, report = run_examples("doctest_sample")
    assert (failed, attempted, found) == (1, 1, 2)
    assert "Expected:\n    3\nGot:\n    2" in report


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    (failed, _), found, report = run_examples(name)
    assert found > 0, f"{name} holds '>>>' but no docstring example"
    assert failed == 0, report
