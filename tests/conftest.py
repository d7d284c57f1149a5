"""Shared fixtures: the repo root, a CLI runner that runs the real console script, the target
registry and the zoo of tiny int8 models (converted once per session, shared by every folder)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--require-all", action="store_true",
                     help="a skipped test fails the run (CI sets it: on a machine that has QEMU, qemu-user, "
                          "debootstrap, sshd, Chromium and root, a skip means a check silently did not run); "
                          "tests marked may_skip are exempt")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and not hasattr(report, "wasxfail") and item.config.getoption("--require-all")
            and item.get_closest_marker("may_skip") is None):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under --require-all: {reason}"
PIPELINE = str(Path(sys.executable).parent / "pipeline")


@pytest.fixture
def run_cli(tmp_path):
    """Run `pipeline ARGS` as a user would (a real process), in tmp_path by default."""

    def _run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([PIPELINE, *args], cwd=cwd or tmp_path, env=full_env, capture_output=True,
                              text=True, timeout=timeout)

    return _run


@pytest.fixture(scope="session")
def targets():
    from pipeline.targets import load_all
    return load_all()


@pytest.fixture(scope="session")
def zoo_models(tmp_path_factory):
    """All zoo models (tests/aot_zoo.py), converted once per session into one shared folder."""
    import aot_zoo as zoo
    return zoo.build(None, tmp_path_factory.getbasetemp() / "zoo")


@pytest.fixture(scope="session")
def reject_models(tmp_path_factory):
    """Zoo models the AOT compiler must refuse, each with the reason."""
    import aot_zoo as zoo
    return zoo.build(list(zoo.REJECTS), tmp_path_factory.getbasetemp() / "zoo")
