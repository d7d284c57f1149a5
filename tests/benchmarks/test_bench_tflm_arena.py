"""The TFLM arena search is exact (N runs, N-1 does not) even where the tflite_micro binding
segfaults on too-small arenas instead of raising (it does on the MLPerf Tiny AD model)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks import mlperf_tiny
from benchmarks.peers import tflm_arena

_PROBE = r"""
import sys
from tflite_micro.python.tflite_micro import runtime
it = runtime.Interpreter.from_bytes(open(sys.argv[1], "rb").read(), arena_size=int(sys.argv[2]))
it.invoke()
print("RAN")
"""


def _runs(path, n: int) -> bool:
    res = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(n)], capture_output=True, text=True, timeout=120)
    return res.returncode == 0 and "RAN" in res.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ad", "kws"])
def test_min_arena_is_exact(name):
    path = mlperf_tiny.build(name)
    r = tflm_arena.min_arena(path)
    assert r["arena"], r
    assert _runs(path, r["arena"])
    assert not _runs(path, r["arena"] - 1)
