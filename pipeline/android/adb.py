"""adb as argument lists (never a shell string), device selection, and one-line errors.

`adb shell` joins its arguments with spaces and hands them to the phone's /system/bin/sh, so every
remote argument is quoted with shlex.quote here: a path with a space or a `;` stays one argument.
"""
from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .. import tools
from ..errors import DeviceError, PipelineError

LIST_TIMEOUT_S = 30.0
SCHEME = "adb"


def serial_from_device(device: str | None) -> str | None:
    """'adb' -> None (the only phone); 'adb://SERIAL' -> SERIAL (USB serial or HOST:PORT)."""
    if device in (None, "", SCHEME):
        return None
    prefix = SCHEME + "://"
    if device.startswith(prefix) and len(device) > len(prefix):
        return device[len(prefix):]
    raise PipelineError(f"device '{device}' is not an adb device; use adb or adb://SERIAL (serials: `adb devices`)")


@dataclass(frozen=True)
class Entry:
    """One line of `adb devices -l`."""

    serial: str
    state: str  # device | unauthorized | offline | no permissions | recovery | sideload | ...
    props: dict = field(default_factory=dict)  # model, device, product, transport_id, usb

    @property
    def model(self) -> str:
        return self.props.get("model", "").replace("_", " ")


def parse_devices(text: str) -> list[Entry]:
    """Entries of `adb devices [-l]` output; daemon start-up chatter and blank lines are skipped."""
    entries, started = [], False
    for line in text.splitlines():
        if line.startswith("List of devices attached"):
            started = True
            continue
        if not started or not line.strip() or line.startswith("*"):
            continue
        serial, _, rest = line.strip().replace("\t", " ").partition(" ")
        rest = rest.strip()
        if rest.startswith("no permissions"):
            state, tail = "no permissions", ""
        else:
            state, _, tail = rest.partition(" ")
        props = dict(tok.split(":", 1) for tok in tail.split() if ":" in tok)
        entries.append(Entry(serial, state or "unknown", props))
    return entries


def _state_error(e: Entry) -> DeviceError | None:
    if e.state == "device":
        return None
    what = {
        "unauthorized": "is unauthorized: unlock the phone and accept the 'Allow USB debugging?' prompt "
                        "(if none shows, revoke USB debugging authorisations in Developer options and replug)",
        "offline": "is offline: replug the cable or run `adb reconnect`, then retry",
        "no permissions": "cannot be opened (no permissions): add a udev rule for the phone or run "
                          "`adb kill-server` and start adb as a user in the plugdev group",
    }.get(e.state, f"is in state '{e.state}', not 'device': boot it normally with USB debugging on")
    return DeviceError(f"Android device {e.serial} {what}")


def select(device: str | None, timeout_s: float = LIST_TIMEOUT_S) -> Adb:
    """The one phone to use, or a one-line error saying how to get there."""
    exe = tools.require("adb")
    serial = serial_from_device(device)
    out = Adb(exe, serial or "").run([exe, "devices", "-l"], timeout_s).stdout
    entries = parse_devices(out)
    if serial is not None:
        match = [e for e in entries if e.serial == serial]
        if not match:
            known = ", ".join(e.serial for e in entries) or "none"
            raise DeviceError(f"Android device '{serial}' not found by adb (connected: {known}); check the cable, "
                              "or `adb connect HOST:PORT` for wireless debugging")
        entry = match[0]
    elif not entries:
        raise DeviceError("no Android device found by adb: connect a phone with USB debugging enabled "
                          "(Settings > Developer options) and check `adb devices`")
    elif len(entries) > 1:
        raise PipelineError(f"{len(entries)} Android devices are connected "
                            f"({', '.join(e.serial for e in entries)}): pick one with --device adb://SERIAL")
    else:
        entry = entries[0]
    err = _state_error(entry)
    if err:
        raise err
    return Adb(exe, entry.serial, entry)


@dataclass
class Adb:
    exe: str
    serial: str
    entry: Entry | None = None

    # ----------------------------------------------------------------- command lines
    def argv(self, *args: str) -> list[str]:
        return [self.exe, "-s", self.serial, *args]

    def shell_argv(self, *remote: str) -> list[str]:
        return self.argv("shell", *(shlex.quote(str(a)) for a in remote))

    def exec_out_argv(self, *remote: str) -> list[str]:
        return self.argv("exec-out", *(shlex.quote(str(a)) for a in remote))

    def push_argv(self, local: Path, remote: str) -> list[str]:
        return self.argv("push", str(local), remote)  # local side: no shell involved, no quoting

    # ----------------------------------------------------------------- running
    def run(self, argv: list[str], timeout_s: float, binary: bool = False,
            check: bool = True) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout_s, text=not binary,
                                  **({} if binary else {"errors": "replace"}))
        except subprocess.TimeoutExpired:
            raise DeviceError(f"adb timed out after {timeout_s:g} s: {shlex.join(argv[1:])[:200]}") from None
        except OSError as err:
            raise PipelineError(f"cannot run {argv[0]}: {err}") from None
        if check and proc.returncode != 0:
            err = proc.stderr if not binary else proc.stderr.decode(errors="replace")
            out = proc.stdout if not binary else proc.stdout.decode(errors="replace")
            first = next((ln.strip() for ln in (err + "\n" + out).splitlines() if ln.strip()), "no output")
            hint = " (accept the USB debugging prompt on the phone)" if "unauthorized" in first else ""
            raise DeviceError(f"adb failed (exit {proc.returncode}) running `{shlex.join(argv[1:])[:160]}`: "
                              f"{first[:200]}{hint}")
        return proc

    def shell(self, *remote: str, timeout_s: float = 120.0, check: bool = True) -> str:
        return self.run(self.shell_argv(*remote), timeout_s, check=check).stdout

    def exec_out(self, *remote: str, timeout_s: float = 120.0) -> bytes:
        return self.run(self.exec_out_argv(*remote), timeout_s, binary=True).stdout

    def push(self, local: Path, remote: str, timeout_s: float = 300.0) -> None:
        self.run(self.push_argv(local, remote), timeout_s)

    def getprop(self, name: str) -> str:
        return self.shell("getprop", name, timeout_s=30.0).strip()
