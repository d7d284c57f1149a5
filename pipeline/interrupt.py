"""Ctrl-C, remembered.

A SIGINT that lands while Python runs inside a native module's initializer does not arrive as
KeyboardInterrupt: pybind11 wraps whatever its init raised into `ImportError: initialization
failed`. Issue #16 saw exactly that — the report stage imports matplotlib (whose extensions are
pybind11 modules) 0.3 s after it starts, the test's Ctrl-C came then, and the build ended with
`internal error: ImportError` and exit 1 instead of "interrupted" and 130. A library can also
swallow the exception outright. So the handler records that the signal came; the CLI reports an
interrupt whatever exception it became, and the build never commits a stage that ran through one.
"""
from __future__ import annotations

import signal

_received = False


def _handler(signum, frame):  # noqa: ARG001 - signal handler signature
    global _received
    _received = True
    raise KeyboardInterrupt


def install() -> None:
    """Record SIGINT from now on (and raise KeyboardInterrupt, as Python's default handler does)."""
    global _received
    _received = False
    try:
        signal.signal(signal.SIGINT, _handler)
    except ValueError:  # not the main thread (an embedding program): keep its handler
        pass


def received() -> bool:
    return _received


def raise_if_received() -> None:
    """Before committing work: a Ctrl-C that some library caught still stops the build here."""
    if _received:
        raise KeyboardInterrupt
