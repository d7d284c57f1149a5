"""The exact minimum TensorFlow Lite Micro arena of a model, on the host interpreter.

Bisection over `runtime.Interpreter.from_bytes(model, arena_size=N)`: the answer N constructs and
invokes, N-1 does not. Too-small arenas usually raise at construction, but for some sizes the
tflite_micro Python binding segfaults instead (seen here on the MLPerf Tiny KWS/VWW/AD models, e.g.
"Failed to allocate tail memory" then SIGSEGV). So the search runs in a child process that announces
every probe before trying it; when the child dies, the probe it was on counts as "does not fit"
and a fresh child carries on from the bracket reached so far.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAX_ARENA = 64 * 1024 * 1024
START = 16 * 1024

_CHILD = r"""
import os, sys
data = open(sys.argv[1], "rb").read()
lo, hi, limit = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])   # fails(lo) known; hi=0: unknown
devnull = os.open(os.devnull, os.O_WRONLY)
out = os.dup(1)
os.dup2(devnull, 1)        # TFLM prints allocation failures on stdout
os.dup2(devnull, 2)
from tflite_micro.python.tflite_micro import runtime
def say(s):
    os.write(out, (s + "\n").encode())
def fits(n):
    say(f"TRY {n}")
    try:
        it = runtime.Interpreter.from_bytes(data, arena_size=n)
        it.invoke()
        ok = True
    except Exception:
        ok = False
    say(f"{'OK' if ok else 'FAIL'} {n}")
    return ok
if hi == 0:
    n = max(lo * 2, %(start)d)
    while not fits(n):
        lo = n
        if n >= limit:
            say("NONE"); os._exit(0)
        n = min(n * 2, limit)
    hi = n
while hi - lo > 1:
    mid = (lo + hi) // 2
    if fits(mid): hi = mid
    else: lo = mid
say(f"DONE {hi}")
os._exit(0)
""" % {"start": START}


def min_arena(model: Path, limit: int = MAX_ARENA, max_restarts: int = 40, timeout_s: float = 600.0) -> dict:
    """{"arena": N, "probes": k, "crashes": c} or {"arena": None, "error": ...}."""
    lo, hi = 0, 0
    probes = crashes = 0
    for _ in range(max_restarts):
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(model), str(lo), str(hi), str(limit)],
                              capture_output=True, text=True, timeout=timeout_s)
        trying = None
        for line in proc.stdout.splitlines():
            word, _, val = line.partition(" ")
            if word == "TRY":
                trying = int(val)
                probes += 1
            elif word == "OK":
                hi, trying = int(val), None
            elif word == "FAIL":
                lo, trying = max(lo, int(val)), None
            elif word == "DONE":
                return {"arena": int(val), "probes": probes, "crashes": crashes}
            elif word == "NONE":
                return {"arena": None, "error": f"TFLite Micro cannot run the model with any arena up to {limit} bytes",
                        "probes": probes, "crashes": crashes}
        if trying is None:
            err = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            return {"arena": None, "error": f"arena search child ended unexpectedly: {err}", "probes": probes,
                    "crashes": crashes}
        crashes += 1               # died while probing `trying`: that size does not work
        lo = max(lo, trying)
        if hi and hi - lo <= 1:
            return {"arena": hi, "probes": probes, "crashes": crashes}
    return {"arena": None, "error": f"arena search gave up after {max_restarts} interpreter crashes", "probes": probes,
            "crashes": crashes}
