"""The examples in the core modules' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "modelmap.core.graph",
    "modelmap.core.kinds",
    "modelmap.core.ops",
    "modelmap.core.params",
    "modelmap.core.dataflow",
    "modelmap.core.layers.describe",
    "modelmap.core.skips",
    "modelmap.core.blocks",
    "modelmap.core.compare",
    "benchmarks.synthetic",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
