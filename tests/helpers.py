"""What many test modules share: running the real CLI and checking the bad-input contract."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path | None = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m modelmap ARGS`` in a fresh process (an empty ``TORCH_LOGS`` removed)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k != "TORCH_LOGS"}
    return subprocess.run(
        [sys.executable, "-m", "modelmap", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900
    )


def assert_one_line_error(r: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit code 2, exactly one ``modelmap: error:`` line on stderr holding every fragment."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelmap: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
