"""Real boards: flash the firmware with pyOCD, then speak the firmware protocol over the board's
serial port (ST-LINK / J-Link virtual COM port) through `pipeline.aot.device.protocol.SerialLink`.

    --device pyocd            the only probe connected
    --device pyocd://UID      one probe by its unique id (`pyocd list`); also picks its VCOM port

The command line is `pyocd flash --target <board.pyocd_target> [--uid UID] firmware.elf`, run as
an argument list (no shell). `serial_port = "auto"` in the target TOML finds the probe's VCOM
port by USB VID:PID with `serial.tools.list_ports`.
"""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import DeviceError, PipelineError
from ...tools import require

# Debug probes with a virtual COM port, by USB vendor:product id.
PROBE_USB_IDS: dict[tuple[int, int], str] = {
    (0x0483, 0x374B): "ST-LINK/V2-1",        # NUCLEO-F746ZG's on-board probe
    (0x0483, 0x3752): "ST-LINK/V2-1",
    (0x0483, 0x374E): "STLINK-V3",
    (0x0483, 0x374F): "STLINK-V3",
    (0x0483, 0x3753): "STLINK-V3",
    (0x0483, 0x3754): "STLINK-V3",
    (0x1366, 0x0105): "J-Link OB",            # nRF52840 DK's on-board probe
    (0x1366, 0x1015): "J-Link OB",
    (0x1366, 0x1051): "J-Link OB",
    (0x1366, 0x1061): "J-Link OB",
    (0x0D28, 0x0204): "CMSIS-DAP (DAPLink)",
}
FLASH_TIMEOUT_S = 120.0


def parse_device(device: str | None) -> str | None:
    """'pyocd' -> None (any probe), 'pyocd://UID' -> 'UID'; anything else is not a pyOCD device."""
    if device == "pyocd":
        return None
    if device and device.startswith("pyocd://"):
        uid = device[len("pyocd://"):]
        if not uid or any(c.isspace() or c in "/\\" for c in uid):
            raise PipelineError(f"bad pyOCD device '{device}': expected pyocd or pyocd://UID (see `pyocd list`)")
        return uid
    raise PipelineError(f"'{device}' is not a pyOCD device (expected pyocd or pyocd://UID)")


def is_pyocd(device: str | None) -> bool:
    return device == "pyocd" or bool(device and device.startswith("pyocd://"))


def _board(target):
    if getattr(target, "board", None) is None:
        raise PipelineError(f"target '{target.id}' is not a real board (no [board] table with a pyocd_target); "
                            "use --device qemu")
    return target.board


def flash_command(target, elf: Path, uid: str | None = None) -> list[str]:
    """The exact pyOCD command line (an argument list, never a shell string)."""
    board = _board(target)
    cmd = [require("pyocd"), "flash", "--target", board.pyocd_target]
    if uid:
        cmd += ["--uid", uid]
    return cmd + [str(Path(elf))]


def flash(target, elf: Path, uid: str | None = None, timeout: float = FLASH_TIMEOUT_S) -> list[str]:
    """Program the ELF (pyOCD resets the core afterwards); returns the command that ran."""
    elf = Path(elf)
    if not elf.is_file():
        raise PipelineError(f"firmware ELF not found: {elf}")
    cmd = flash_command(target, elf, uid)
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"pyocd flash timed out after {timeout:g} s (board {target.id}); "
                          "check the USB cable and that no other debugger holds the probe") from None
    if res.returncode != 0:
        lines = [ln.strip() for ln in (res.stderr + res.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else "no output")
        raise DeviceError(f"pyocd flash failed for {target.id} (exit {res.returncode}): {why[:200]}")
    return cmd


def find_serial_port(target, uid: str | None = None) -> str:
    """The board's serial port: the TOML's serial_port, or with "auto" the probe's VCOM port."""
    board = _board(target)
    if board.serial_port and board.serial_port != "auto":
        return board.serial_port
    try:
        from serial.tools import list_ports
    except ImportError:
        raise PipelineError("pyserial is not installed: pip install pyserial") from None
    ports = [p for p in list_ports.comports()
             if p.vid is not None and (p.vid, p.pid) in PROBE_USB_IDS]
    if uid:
        # ST-LINK and J-Link report the probe's unique id as the USB serial number.
        ports = [p for p in ports if (p.serial_number or "").lower() == uid.lower()]
    if len(ports) == 1:
        return ports[0].device
    probes = ", ".join(sorted({v for v in PROBE_USB_IDS.values()}))
    if not ports:
        which = f" with serial number {uid}" if uid else ""
        raise DeviceError(
            f"no serial port found for {target.id}: no {probes} virtual COM port{which} is connected; "
            f"check the USB cable, that the probe's VCOM enumerates (ls /dev/ttyACM*), that you may open it "
            f"(dialout group), or set serial_port in {target.source or 'the target TOML'}")
    raise DeviceError(
        f"{len(ports)} debug-probe serial ports found ({', '.join(p.device for p in ports)}): pick one with "
        f"--device pyocd://UID or set serial_port in {target.source or 'the target TOML'}")


@contextmanager
def open_board(build, target, device: str, timeout: float) -> Iterator:
    """Flash `build.elf`, open the serial port and yield a `Device` speaking the protocol."""
    from .protocol import SerialLink, session
    uid = parse_device(device)
    port = find_serial_port(target, uid)       # before flashing: a missing port fails fast
    flash(target, build.elf, uid)
    link = SerialLink(port, target.board.serial_baud)
    # The READY banner may have gone out before the port opened: an empty line ends any partial
    # line on the board side, then `id` is the handshake.
    try:
        link.write(b"\n")
    except BaseException:
        link.close()
        raise
    with session(link, timeout, expect_ready=False) as dev:
        yield dev
