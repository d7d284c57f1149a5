"""The exact minimum TFLite Micro arena of a model on the host `tflite_micro` interpreter, found by
bisection in a child process (N bytes construct and invoke, N-1 do not), so a file that crashes
TFLite Micro becomes a one-line error instead of killing the caller."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .errors import PipelineError
from .tflite import read_model

MAX_ARENA = 512 * 1024 * 1024
_RESULT = "ARENA_RESULT "

# Runs in a child process: imports only tflite_micro, reads the model from stdin.
_WORKER = r"""
import json, os, sys
data = sys.stdin.buffer.read()
limit = int(sys.argv[1])
devnull = os.open(os.devnull, os.O_WRONLY)
saved = os.dup(1)
os.dup2(devnull, 1)          # TFLM prints allocation failures; keep stdout for the result
from tflite_micro.python.tflite_micro import runtime
crashed = []
def ok(n):
    # Each probe in a forked child: TFLite Micro segfaults on some too-small arenas (an
    # unsigned underflow in its tail allocator) instead of raising; a crash counts as "no".
    pid = os.fork()
    if pid == 0:
        try:
            runtime.Interpreter.from_bytes(data, arena_size=n)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        crashed.append(n)
        return False
    return os.WEXITSTATUS(status) == 0
def result(obj):
    os.dup2(saved, 1)
    print("ARENA_RESULT " + json.dumps(obj), flush=True)
    sys.exit(0)
hi = 1024
while not ok(hi):
    if hi >= limit:
        try:
            runtime.Interpreter.from_bytes(data, arena_size=limit)
            err = "allocation failed"
        except BaseException as e:
            err = (str(e).strip().splitlines() or [type(e).__name__])[0]
        result({"error": err, "limit": limit})
    hi = min(hi * 2, limit)
lo = 0 if hi == 1024 else hi // 2          # ok(lo) is False (or lo == 0)
while hi - lo > 1:
    mid = (lo + hi) // 2
    if ok(mid):
        hi = mid
    else:
        lo = mid
below = ok(hi - 1) if hi > 1 else False
at = ok(hi)
invoked, err = False, None
try:
    it = runtime.Interpreter.from_bytes(data, arena_size=hi)
    it.invoke()
    invoked = True
except BaseException as e:
    err = (str(e).strip().splitlines() or [type(e).__name__])[0]
result({"arena": hi, "ok_at": at, "ok_below": below, "invoked": invoked, "error": err,
        "crashed_probes": crashed})
"""


def _arena_probe(model_bytes: bytes, timeout_s: float = 300.0) -> dict:
    try:
        proc = subprocess.run([sys.executable, "-c", _WORKER, str(MAX_ARENA)], input=bytes(model_bytes),
                              capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise PipelineError(f"TFLite Micro arena search timed out after {timeout_s:.0f} s") from None
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith(_RESULT):
            return json.loads(line[len(_RESULT):])
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    why = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
    raise PipelineError(f"TFLite Micro crashed loading the model ({why}): {err[-1][:200] if err else 'no output'}")


def tflm_min_arena(model_bytes: bytes | Path) -> int:
    """The exact minimum TFLite Micro arena (bytes) for this model on the host interpreter:
    an arena of N bytes constructs (and invokes), N-1 bytes does not.

    Validates the file with our reader first; raises a one-line PipelineError when the model is
    malformed or TFLite Micro cannot load it at any arena size (e.g. an op it lacks).
    """
    data = Path(model_bytes).read_bytes() if isinstance(model_bytes, (str, Path)) else bytes(model_bytes)
    read_model(data)
    r = _arena_probe(data)
    if "arena" not in r:
        raise PipelineError(f"TFLite Micro cannot load the model with any arena up to {MAX_ARENA // 2**20} MiB: "
                            f"{r.get('error')}")
    if not r["ok_at"] or r["ok_below"]:
        raise PipelineError(f"TFLite Micro arena search was not reproducible (arena {r['arena']} bytes)")
    return int(r["arena"])
