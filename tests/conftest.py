"""Shared pytest set-up. Several test modules add to this file: append, don't overwrite."""

from __future__ import annotations

import pytest


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
    import os

    if tool_available:
        return
    if os.environ.get("MODELMAP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{reason} (required: MODELMAP_REQUIRE_TOOLS=1)")
    pytest.skip(reason)
