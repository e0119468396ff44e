"""Shared pytest set-up. Several test modules add to this file: append, don't overwrite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from .fixture_cache import FixtureCache


# --- exporters: golden files (fixtures/golden/) -----------------------------------------
# Regenerate every golden file with:  .venv/bin/python -m pytest tests/test_export_golden.py --update-goldens
# then read the diff (and look at the rendered pictures) before committing.
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite the golden files in fixtures/golden/ instead of comparing against them",
    )


@pytest.fixture()
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


# --- external tools (Graphviz, mermaid-cli, Chromium) -------------------------------------
# `./run tests` installs them and sets MODELMAP_REQUIRE_TOOLS=1, so a missing tool fails the
# run there instead of silently skipping the real-consumer tests; a bare `pytest` skips.
def skip_or_fail_without(tool_available: bool, reason: str) -> None:
    if tool_available:
        return
    if os.environ.get("MODELMAP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (required: MODELMAP_REQUIRE_TOOLS=1)")
    pytest.skip(reason)


# --- one folder per run, shared by the pytest-xdist workers -------------------------------
# Each worker's basetemp is a child of the run's (`popen-gw0`, ...).
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


# --- fixture models converted once per run (tests/fixture_cache.py) -----------------------
# MODELMAP_FIXTURE_CACHE=DIR keeps the conversions across runs (an entry's key covers the
# sources and versions it was made from).
@pytest.fixture(scope="session")
def fixture_cache(tmp_path_factory: pytest.TempPathFactory) -> FixtureCache:
    return FixtureCache(Path(os.environ.get("MODELMAP_FIXTURE_CACHE") or run_folder(tmp_path_factory) / "fixture-cache"))


# --- parallel runs (pytest-xdist) -----------------------------------------------------------
# `./run tests` runs `-n auto --dist loadgroup`. The tests marked heavy (multi-GB
# conversions) run one at a time: they hold the run's `heavy.lock`, and they are put in
# one xdist group so that loadgroup sends them all to one worker. (With pytest 9.2 and
# xdist 3.8 loadgroup ignores groups, pytest-xdist#1386; the lock holds either way.)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("heavy"):
            item.add_marker(pytest.mark.xdist_group("heavy"))


@pytest.fixture(autouse=True)
def _heavy_tests_one_at_a_time(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if request.node.get_closest_marker("heavy") is None:
        yield
        return
    with FileLock(str(run_folder(tmp_path_factory) / "heavy.lock")):
        yield


# --- modelmap's own cache (modelmap/_cache.py) ------------------------------------------------
# Every test gets an empty cache folder of its own: runs never touch ~/.cache/modelmap, and no
# test depends on what another one left (subprocesses inherit the variable).
@pytest.fixture(autouse=True)
def _modelmap_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("modelmap-cache")
    monkeypatch.setenv("MODELMAP_CACHE", str(folder))
    monkeypatch.delenv("MODELMAP_CACHE_SIZE", raising=False)
    return folder
