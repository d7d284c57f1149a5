"""Pipeline cost: wall time of a cold `pipeline build` (empty cache) and of a warm one (all cached).

Each build is the real CLI in a subprocess, so start-up and imports are counted as a user sees them.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TITLE = "Pipeline cost: cold vs warm `pipeline build` per target (digits)"
TARGETS = ("rpi", "cortex-m4")
PIPELINE = str(Path(sys.executable).parent / "pipeline")


def _build(target: str, workdir: Path) -> float:
    t0 = time.monotonic()
    res = subprocess.run([PIPELINE, "build", "--target", target, "--allow-partial"], cwd=workdir,
                         capture_output=True, text=True, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"build --target {target} failed: {res.stderr.strip().splitlines()[-1:]}")
    return time.monotonic() - t0


def run(progress) -> dict:
    out = {}
    for target in TARGETS:
        workdir = Path(tempfile.mkdtemp(prefix=f"cost-{target}-"))
        # The emulator rootfs cache is per machine, not per build: keep it shared (it is not a stage).
        (workdir / "pipeline.toml").write_text('[data]\ndataset = "digits"\n')
        try:
            progress.log(f"   {target}: cold build")
            cold = _build(target, workdir)
            progress.log(f"   {target}: warm build")
            warm = _build(target, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        out[target] = {"cold_s": round(cold, 1), "warm_s": round(warm, 2), "speedup": round(cold / warm, 1)}
    return out


def markdown(result: dict) -> str:
    rows = ["| target | cold s | warm s | cold/warm |", "|---|---:|---:|---:|"]
    for target, r in result.items():
        if isinstance(r, dict):
            rows.append(f"| {target} | {r['cold_s']} | {r['warm_s']} | {r['speedup']} |")
    return "\n".join(rows) + "\n"
