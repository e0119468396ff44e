"""The public surface is small and deliberate: a change to it must change this test."""

from __future__ import annotations

import inspect

import modelmap as mm

PUBLIC = {
    "__version__",
    # functions
    "to_onnx", "analyze", "draw", "draw_diff", "table", "compare", "weight_stats", "write_weights", "write_tensorboard",
    # data
    "Analysis", "DrawOptions",
    # errors
    "ModelmapError", "InputError", "ModelNotFoundError", "ModelLoadError", "UnsupportedModelError",
    "FactoryError", "MissingInputError", "ConversionError", "InvalidGraphError", "MissingDependencyError",
}  # fmt: skip


def test_all_is_the_public_surface() -> None:
    assert set(mm.__all__) == PUBLIC
    for name in mm.__all__:
        assert hasattr(mm, name), name


def test_no_other_public_names_leak() -> None:
    leaked = {n for n in vars(mm) if not n.startswith("_") and not inspect.ismodule(getattr(mm, n))} - PUBLIC
    assert leaked == {"annotations"} or leaked == set()


def test_errors_form_one_tree() -> None:
    for name in PUBLIC:
        obj = getattr(mm, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, mm.ModelmapError)
    assert issubclass(mm.ModelLoadError, mm.InputError)
    assert not issubclass(mm.MissingDependencyError, mm.InputError)


def test_functions_are_documented() -> None:
    for name in PUBLIC:
        obj = getattr(mm, name)
        if callable(obj):
            assert inspect.getdoc(obj), name
