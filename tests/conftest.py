"""Shared fixtures: the repo root, a CLI runner that runs the real console script."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PIPELINE = str(Path(sys.executable).parent / "pipeline")


@pytest.fixture
def run_cli(tmp_path):
    """Run `pipeline ARGS` as a user would (a real process), in tmp_path by default."""

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([PIPELINE, *args], cwd=cwd or tmp_path, env=full_env, capture_output=True,
                              text=True, timeout=timeout)

    return _run
