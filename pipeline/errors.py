"""User-facing errors: one line, exit code 2, no traceback (unless --debug)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class PipelineError(Exception):
    """An error the user can fix (bad input, missing tool, bad config). Printed as one line."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: a multi-line message breaks the CLI's contract.
        super().__init__(" ".join(str(message).split()))


class NotImplementedYet(PipelineError):
    """A verb or stage that a later issue fills in. Never pretend it worked."""

    exit_code = 3


class BudgetExceeded(PipelineError):
    """The exact size (linked firmware, converted model) does not fit the target's budget.

    The build reacts by shrinking the student one rung and retrying (see pipeline.build)."""


class DeviceError(PipelineError):
    """The device (emulator, board, phone, ssh host) failed or returned garbage."""

    exit_code = 4


class DiskFull(PipelineError):
    """No space left (ENOSPC/EDQUOT) while writing an artifact; nothing half-written is kept."""

    def __init__(self, what: object):
        super().__init__(f"disk full while writing {what}: free some space (or set [build] dir elsewhere) "
                         "and run again")


DISK_FULL_ERRNOS = (28, 122)  # ENOSPC, EDQUOT


def did_you_mean(value: str, allowed: Iterable[str]) -> str:
    """' did you mean 'x'?' when a close match exists, else ''."""
    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def allowed_list(allowed: Iterable[str]) -> str:
    return ", ".join(sorted(str(a) for a in allowed))
