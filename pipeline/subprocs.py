"""Child processes that must not outlive their deadline: the emulated Pi's commands and ssh.

Each child is started in its own session (`start_new_session=True`), so killing its process group
also kills what it spawned (qemu-user's guest, the remote shell's local ssh), not just the parent.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable


def kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=10)


def collect(proc: subprocess.Popen, communicate: Callable[[], tuple[bytes, bytes]],
            on_timeout: Callable[[], Exception]) -> tuple[bytes, bytes]:
    """`communicate()`'s (stdout, stderr); on its timeout the group is killed and `on_timeout()`
    raised, on any other exception (a Ctrl-C included) the group is killed and it propagates."""
    try:
        return communicate()
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise on_timeout() from None
    except BaseException:
        kill_group(proc)
        raise


def last_line(data: bytes | str) -> str:
    """The last non-blank line of a child's output: the one that says why it failed."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else data
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"
