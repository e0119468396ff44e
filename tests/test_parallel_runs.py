"""`./run tests` runs the suite on several pytest-xdist workers; the tests marked ``heavy``
(multi-GB conversions) must still run one at a time (tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """
import json, os, time
from pathlib import Path

import pytest

def record(name):
    start = time.monotonic()
    time.sleep(0.4)
    row = {"name": name, "worker": os.environ["PYTEST_XDIST_WORKER"], "start": start, "end": time.monotonic()}
    with open(Path(__file__).with_name("log.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\\n")

@pytest.mark.heavy
@pytest.mark.parametrize("i", range(3))
def test_heavy(i):
    record(f"heavy{i}")

@pytest.mark.parametrize("i", range(6))
def test_light(i):
    record(f"light{i}")
"""


def test_heavy_tests_never_overlap(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import _heavy_tests_one_at_a_time, pytest_collection_modifyitems  # noqa: F401\n"
    )
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SAMPLE))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the project's own pytest configuration (addopts, markers), as `./run tests` passes -n
    args = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "--basetemp", str(tmp_path / "tmp")]
    args += ["-p", "no:cacheprovider", "-n", "2"]
    r = subprocess.run(
        [sys.executable, "-m", "pytest", *args, str(tmp_path)], capture_output=True, text=True, env=env, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    rows = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert len(rows) == 9
    heavy = sorted((row for row in rows if row["name"].startswith("heavy")), key=lambda row: row["start"])
    assert all(a["end"] <= b["start"] for a, b in zip(heavy, heavy[1:]))
    assert {row["worker"] for row in rows} == {"gw0", "gw1"}

