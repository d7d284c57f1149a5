"""Silence noisy native libraries (TensorFlow, onnx2tf, TFLite Micro) into a log file.

Python-level redirection is not enough: TensorFlow and the TFLite converters write from C++
straight to file descriptors 1 and 2. `quiet(log)` points both descriptors at `log` for the
duration of the block and restores them afterwards, even when the block raises.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@contextlib.contextmanager
def quiet(log: Path | None = None) -> Iterator[None]:
    """Send fd 1/2 (and sys.stdout/sys.stderr) to `log` (appended) or to /dev/null."""
    for s in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            s.flush()
    target = open(log, "ab") if log is not None else open(os.devnull, "wb")  # noqa: SIM115
    saved: list[tuple[int, int]] = []
    try:
        for fd in (1, 2):
            try:
                saved.append((fd, os.dup(fd)))
                os.dup2(target.fileno(), fd)
            except OSError:
                pass
        text = open(target.fileno(), "w", closefd=False, buffering=1)  # noqa: SIM115
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            try:
                yield
            finally:
                text.flush()
    finally:
        for s in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                s.flush()
        for fd, copy in saved:
            os.dup2(copy, fd)
            os.close(copy)
        target.close()


def tail(log: Path, lines: int = 40) -> str:
    """The last lines of a log, for error messages pointing at it."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
