"""The shape of the package: small units, and the vocabulary compared as kinds, not strings.

Issue 8's rules, checked on the source: no function or method longer than 80 lines, no module
longer than 600, and ``core/`` importing neither ``converters/`` nor ``exporters/``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIRS = ["modelmap", "converters", "core", "exporters"]
MAX_FUNCTION = 80
MAX_MODULE = 600


def sources() -> list[Path]:
    return sorted(p for d in PACKAGE_DIRS for p in (ROOT / d).rglob("*.py"))


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_FUNCTION
    ]


def test_checker_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n")
    assert long_functions(tmp_path / "m.py", tmp_path) == ["m.py:1 f (81 lines)"]


def test_no_function_longer_than_80_lines():
    assert [f for p in sources() for f in long_functions(p)] == []


def test_no_module_longer_than_600_lines():
    long = [f"{p.relative_to(ROOT)} ({n})" for p in sources() if (n := len(p.read_text().splitlines())) > MAX_MODULE]
    assert long == []


@pytest.mark.parametrize("forbidden", ["converters", "exporters"])
def test_core_imports_neither_converters_nor_exporters(forbidden):
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith((f"modelmap.{forbidden}", f"..{forbidden}"))]
    assert offenders == []
