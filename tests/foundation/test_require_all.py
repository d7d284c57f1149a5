"""`--require-all` (set by .ci/run): on a machine with every tool, a skipped test fails the run,
so a check that silently did not run cannot look green (issue #24). may_skip is the exemption."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

SAMPLE = '''
import pytest

def test_runs():
    pass

@pytest.mark.skipif(True, reason="needs qemu-system-arm")
def test_needs_a_tool():
    pass

@pytest.mark.may_skip("needs a physical board")
def test_needs_hardware():
    pytest.skip("no board attached")
'''


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(folder)],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def _suite(tmp_path: Path, body: str) -> Path:
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")   # the hook under test, as CI loads it
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    may_skip(reason): exempt\n")
    (tmp_path / "test_sample.py").write_text(body)
    return tmp_path


def test_a_skip_fails_the_run_under_require_all(tmp_path):
    res = _pytest(_suite(tmp_path, SAMPLE), "--require-all")
    assert res.returncode != 0, res.stdout
    assert "skipped under --require-all: Skipped: needs qemu-system-arm" in res.stdout
    assert "test_needs_hardware" not in res.stdout.split("short test summary")[-1]


def test_without_the_switch_skips_stay_skips(tmp_path):
    res = _pytest(_suite(tmp_path, SAMPLE))
    assert res.returncode == 0 and "1 passed, 2 skipped" in res.stdout, res.stdout


def test_may_skip_alone_passes_under_require_all(tmp_path):
    body = SAMPLE.replace('@pytest.mark.skipif(True, reason="needs qemu-system-arm")', "")
    res = _pytest(_suite(tmp_path, body), "--require-all")
    assert res.returncode == 0 and "2 passed, 1 skipped" in res.stdout, res.stdout
