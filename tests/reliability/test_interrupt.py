"""Ctrl-C in every stage of a real small build: exit 130 with one line, no partial cache entry,
the next build resumes after the last finished stage, and the result equals an uninterrupted build.

Byte-identity: every stage's cache key and the int8 model are identical. Files that carry wall
times (train.json, verify.json, convert.log, bench.json, report.*) are compared with their timing
fields removed or not at all (bench.json measures latency); model files (*.pt) are byte-identical
too (pipeline.models.save_model replaces torch.save's random serialization id).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


pytestmark = pytest.mark.slow

STAGES = ["data", "teacher", "distill", "compress", "convert", "verify", "package", "bench", "report"]
CONFIG = "[teacher]\nepochs = 2\n[student]\nepochs = 2\n"
ARGS = ["build", "--target", "host", "--dataset", "digits", "--allow-partial"]
TIMING = re.compile(r"(_s|_ms|_us|seconds|wall.*|created|time.*|latency.*|.*_per_s)$")
MEASURED = {"bench.json", "report.json", "report.html", "convert.log"}


def _env():
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


# Runs the CLI with one test hook, so that a Ctrl-C lands inside even a stage that takes
# milliseconds (on a fresh, fast machine package and bench did, and only 6 of 9 stages were hit):
# the stage named by HOLD_STAGE waits 3 s after writing its outputs, before its cache entry is
# committed. The hook lives here, not in pipeline/build.py.
HOLD_LAUNCHER = """
import os, sys, time
from pipeline import cache, interrupt
from pipeline.cli import main
_store = cache.StageCache.store
def store(self, stage, key, parents, produce):
    def held(out_dir):
        art = produce(out_dir)
        if stage == os.environ.get("HOLD_STAGE"):
            time.sleep(3)
            interrupt.raise_if_received()
        return art
    return _store(self, stage, key, parents, held)
cache.StageCache.store = store
sys.argv[0] = "pipeline"
sys.exit(main())
"""


def _build(cwd: Path, interrupt_at: str | None = None) -> tuple[int, str, str | None]:
    """Run a build; with interrupt_at, send SIGINT as soon as that stage starts running.
    Returns (exit code, stderr, the stage that was running when the signal was sent)."""
    env = {**_env(), "HOLD_STAGE": interrupt_at} if interrupt_at else _env()
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LAUNCHER, *ARGS], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines, running, sent = [], None, None
    deadline = time.monotonic() + 600
    for line in proc.stderr:
        lines.append(line)
        m = re.match(r"\[\d+/\d+\] (\w+): running", line.strip())
        if m:
            running = m.group(1)
            if interrupt_at and sent is None and STAGES.index(running) >= STAGES.index(interrupt_at):
                time.sleep(0.3)  # inside the stage, not at its first line
                proc.send_signal(signal.SIGINT)
                sent = running
        assert time.monotonic() < deadline, "build hung"
    proc.wait(timeout=120)
    proc.stdout.close()
    # the stage that really was interrupted: the last one that started running
    return proc.returncode, "".join(lines), running if sent else None


def _no_partial_entries(cache: Path) -> None:
    for stage_dir in cache.iterdir():
        for entry in stage_dir.iterdir():
            assert not entry.name.startswith(".tmp-"), f"partial cache entry left: {entry}"
            assert (entry / "meta.json").is_file(), f"cache entry without meta.json: {entry}"


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if not TIMING.match(str(k))}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _same_file(a: Path, b: Path) -> bool:
    if a.read_bytes() == b.read_bytes():
        return True
    if a.suffix == ".pt":
        import torch

        x, y = torch.load(a, weights_only=False), torch.load(b, weights_only=False)
        return x["spec"] == y["spec"] and x["state_dict"].keys() == y["state_dict"].keys() and all(
            torch.equal(x["state_dict"][k], y["state_dict"][k]) for k in x["state_dict"])
    if a.suffix == ".json":
        return _strip(json.loads(a.read_text())) == _strip(json.loads(b.read_text()))
    return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    d = tmp_path_factory.mktemp("uninterrupted")
    (d / "pipeline.toml").write_text(CONFIG)
    rc, err, _ = _build(d)
    assert rc == 0, err[-2000:]
    return d


def test_ctrl_c_in_every_stage_resumes_and_matches(reference, tmp_path):
    (tmp_path / "pipeline.toml").write_text(CONFIG)
    cache = tmp_path / "build" / "cache"
    interrupted = []
    stage = "data"
    while stage is not None:
        rc, err, hit = _build(tmp_path, interrupt_at=stage)
        # resume: every stage before the one interrupted last time comes from the cache
        for done in STAGES[: STAGES.index(interrupted[-1])] if interrupted else []:
            assert re.search(rf"\] {done}: cached", err), f"{done} was re-run after an interrupt:\n{err}"
        if rc == 0:  # the signal landed after the last stage finished
            break
        assert rc == 130, err[-2000:]
        assert "Traceback" not in err
        last = [ln for ln in err.strip().splitlines() if ln.strip()][-1]
        assert last.startswith("interrupted; finished stages are cached"), last
        _no_partial_entries(cache)
        assert not (tmp_path / "build" / "cache" / hit).is_dir() or all(
            (e / "meta.json").is_file() for e in (tmp_path / "build" / "cache" / hit).iterdir())
        interrupted.append(hit)
        nxt = STAGES.index(hit) + 1
        stage = STAGES[nxt] if nxt < len(STAGES) else None
    rc, err, _ = _build(tmp_path)
    assert rc == 0, err[-2000:]
    print("interrupted in:", interrupted)
    assert interrupted == STAGES, f"only interrupted {interrupted}"
    ref = json.loads((reference / "build/host/manifest.json").read_text())
    got = json.loads((tmp_path / "build/host/manifest.json").read_text())
    assert [s["stage"] for s in got["stages"]] == STAGES
    differ = []
    for r, g in zip(ref["stages"], got["stages"]):
        assert r["key"] == g["key"], f"stage {r['stage']}: cache key differs"
        assert r["files"].keys() == g["files"].keys(), r["stage"]
        for name in r["files"]:
            if name in MEASURED or r["files"][name] == g["files"][name]:
                continue
            a = reference / "build/host" / r["stage"] / name
            b = tmp_path / "build/host" / g["stage"] / name
            if not _same_file(a, b):
                differ.append(f"{r['stage']}/{name}")
    assert not differ, f"differ from the uninterrupted build: {differ}"
    model = next(s for s in got["stages"] if s["stage"] == "convert")["files"]
    ref_model = next(s for s in ref["stages"] if s["stage"] == "convert")["files"]
    tflite = [n for n in model if n.endswith(".tflite")]
    assert tflite and all(model[n] == ref_model[n] for n in tflite)


def test_two_builds_have_byte_identical_checkpoints(reference, tmp_path):
    (tmp_path / "pipeline.toml").write_text(CONFIG)
    rc, err, _ = _build(tmp_path)
    assert rc == 0, err[-2000:]
    ref = json.loads((reference / "build/host/manifest.json").read_text())
    got = json.loads((tmp_path / "build/host/manifest.json").read_text())
    for r, g in zip(ref["stages"], got["stages"]):
        if r["stage"] in ("teacher", "distill"):
            assert r["files"] == g["files"], r["stage"]
