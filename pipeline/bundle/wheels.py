"""A cached wheelhouse of the bundle's pinned runtime for a board's CPU, downloaded on the host.

With it, the board's install.sh runs offline (`pip --no-index --find-links`): the emulated Pi has
no working network/certificates by default and a real Pi may sit on an isolated bench network.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from ..atomic import atomic_dir
from ..errors import PipelineError
from . import PINS

# ai-edge-litert 2.3.0 ships aarch64 as manylinux_2_27 only; numpy/ml_dtypes as 2_27+2_28;
# protobuf as manylinux2014. pip needs every tag listed explicitly when --platform is given.
PLATFORMS = {
    "aarch64": ("manylinux_2_27_aarch64", "manylinux_2_28_aarch64", "manylinux2014_aarch64",
                "manylinux_2_17_aarch64"),
    "x86_64": ("manylinux_2_27_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64",
               "manylinux_2_17_x86_64"),
}
DOWNLOAD_TIMEOUT_S = 900  # ~31 MB for aarch64; minutes on a slow link, never forever


def cache_home() -> Path:
    """$PIPELINE_CACHE_HOME, else $XDG_CACHE_HOME/pipeline, else ~/.cache/pipeline."""
    env = os.environ.get("PIPELINE_CACHE_HOME")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeline"


def wheelhouse_dir(machine: str, python: str = "3.11") -> Path:
    digest = hashlib.sha256(repr(PINS).encode()).hexdigest()[:12]
    return cache_home() / "wheels" / f"{machine}-cp{python.replace('.', '')}-{digest}"


def ensure_wheelhouse(machine: str = "aarch64", python: str = "3.11", log=None) -> Path:
    """Download (once) the pinned wheels for `machine` / CPython `python`; returns the directory."""
    if machine not in PLATFORMS:
        raise PipelineError(f"no wheel platform known for machine '{machine}' (known: {', '.join(PLATFORMS)})")
    dest = wheelhouse_dir(machine, python)
    if (dest / ".complete").exists():
        return dest
    if log:
        log(f"downloading the {machine} cp{python} runtime wheels into {dest}")
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-input",
           "--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for tag in PLATFORMS[machine]:
        cmd += ["--platform", tag]
    with atomic_dir(dest) as tmp:
        cmd += ["--dest", str(tmp), *(f"{n}=={v}" for n, v in PINS)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PipelineError(f"pip download of the {machine} wheels took over {DOWNLOAD_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise PipelineError(f"pip download of the {machine} cp{python} wheels failed: {last}")
        (tmp / ".complete").write_text("ok\n")
    return dest
