"""Host side of the firmware's UART protocol: one code path for QEMU's serial and a board's.

A `Link` moves bytes (QEMU's stdio pipes, or a pyserial port); `Device` speaks the line
protocol of firmware/app/main.c over any link. Every read has a deadline: a hung emulator or a
silent board becomes a one-line DeviceError and the emulator process is killed.
"""
from __future__ import annotations

import functools
import queue
import shutil
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import DeviceError, PipelineError

QEMU_FLAGS = ("-nographic", "-monitor", "none", "-serial", "stdio",
              "-semihosting-config", "enable=on,target=native",
              # icount: 1 instruction = 1 ns of virtual time, so SysTick counts are repeatable.
              "-icount", "shift=0,align=off,sleep=off")


def input_lines(index: int, data: bytes, chunk: int = 96) -> list[str]:
    """The firmware's `in` command for one input: a header with size and CRC-32, then hex lines."""
    return [f"in {index} {len(data)} {zlib.crc32(data):08x}",
            *(f"d {data[i:i + chunk].hex()}" for i in range(0, len(data), chunk))]


class Link:
    """Byte transport with line reads under a deadline."""

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def readline(self, timeout: float) -> str | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class QemuLink(Link):
    def __init__(self, elf: Path, machine: str, binary: str = "qemu-system-arm"):
        exe = shutil.which(binary)
        if exe is None:
            raise PipelineError(f"{binary} not found on PATH: install qemu-system-arm")
        self.cmd = [exe, "-machine", machine, *QEMU_FLAGS, "-kernel", str(elf)]
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            self._lines.put(raw.decode("ascii", errors="replace").rstrip("\r\n"))
        self._lines.put(None)  # EOF: the emulator exited

    def write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise DeviceError(f"the emulator exited (code {self.proc.poll()}) while the host was writing") from None

    def readline(self, timeout: float) -> str | None:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        return line

    def exit_code(self, timeout: float = 5.0) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


class SerialLink(Link):
    """A real board's UART through pyserial (same protocol as under QEMU)."""

    def __init__(self, port: str, baud: int = 115200):
        try:
            import serial
        except ImportError:
            raise PipelineError("pyserial is not installed: pip install pyserial") from None
        try:
            # serial_for_url: device paths and pyserial URLs (loop://, socket://) alike
            self.port = serial.serial_for_url(port, baudrate=baud, timeout=0.1)
        except (serial.SerialException, ValueError) as err:
            raise DeviceError(f"cannot open serial port {port}: {err}") from None
        self._buf = b""

    def write(self, data: bytes) -> None:
        self.port.write(data)

    def readline(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError
            self._buf += self.port.read(256)
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("ascii", errors="replace").rstrip("\r")

    def close(self) -> None:
        self.port.close()


@dataclass(frozen=True)
class Identity:
    model: str
    engine: str
    board: str
    arena: int
    macs: int
    clock_hz: int


def _garbage_is_a_device_error(method):
    """A device that answers garbage (missing fields, bad numbers, bad hex) is a DeviceError
    naming the command, never a ValueError/KeyError escaping as an internal error."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (ValueError, KeyError, IndexError) as err:
            last = self.transcript[-1] if self.transcript else ""
            self.link.close()
            raise DeviceError(f"the device returned garbage to `{method.__name__}`: {last[:80]!r}"
                              f" ({type(err).__name__})") from None
    return wrapper


class Device:
    """The firmware's protocol. `timeout` bounds every answer (seconds of host wall time)."""

    # One corrupted transfer is resent once (a UART glitch); a second mismatch is an error.
    INPUT_ATTEMPTS = 2

    def __init__(self, link: Link, timeout: float = 30.0, expect_ready: bool = True):
        """expect_ready=False for a board that booted before the port was opened: its READY
        banner is gone, so the first command is the handshake instead."""
        self.link, self.timeout = link, timeout
        self.transcript: list[str] = []
        if expect_ready:
            self._expect("READY")

    def _line(self, what: str) -> str:
        try:
            line = self.link.readline(self.timeout)
        except TimeoutError:
            self.link.close()
            raise DeviceError(f"no answer from the device within {self.timeout:g} s waiting for {what} "
                              "(emulator hung?); it was stopped") from None
        if line is None:
            code = getattr(self.link, "exit_code", lambda: None)()
            fault = next((ln for ln in reversed(self.transcript) if ln.startswith("FAULT")), None)
            if fault:
                raise DeviceError(f"firmware {fault.lower()} (exit code {code})")
            raise DeviceError(f"the device closed the connection waiting for {what} (exit code {code})")
        self.transcript.append(line)
        if line.startswith("FAULT"):
            self.link.close()
            raise DeviceError(f"firmware {line.lower()}")
        return line

    def _expect(self, prefix: str) -> str:
        while True:
            line = self._line(prefix)
            if line.startswith(prefix):
                return line
            if line.startswith("ERR"):
                raise DeviceError(f"device error: {line[4:]}")
            # anything else (blank lines, boot noise) is skipped

    def _cmd(self, text: str, prefix: str) -> dict[str, str]:
        self.link.write((text + "\n").encode())
        line = self._expect(prefix)
        return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)

    @_garbage_is_a_device_error
    def identify(self) -> Identity:
        kv = self._cmd("id", "OK id")
        return Identity(kv["model"], kv["engine"], kv["board"], int(kv["arena"]), int(kv["macs"]),
                        int(kv["clock_hz"]))

    @_garbage_is_a_device_error
    def load_input(self, index: int, data: bytes, chunk: int = 96) -> None:
        crc = zlib.crc32(data)
        lines = input_lines(index, data, chunk)
        for attempt in range(self.INPUT_ATTEMPTS):
            self.link.write(("\n".join(lines) + "\n").encode())
            kv = dict(kv.split("=", 1) for kv in self._expect("OK in").split() if "=" in kv)
            if int(kv["crc"], 16) == crc:
                return
        raise DeviceError(f"input {index} arrived with crc {kv['crc']}, sent {crc:08x}"
                          f" ({self.INPUT_ATTEMPTS} attempts)")

    @_garbage_is_a_device_error
    def infer(self, n: int = 1, warmup: int = 0) -> int:
        """Runs W warm-ups then N timed inferences; returns the timer ticks of the N runs."""
        return int(self._cmd(f"infer {n} {warmup}", "OK infer")["ticks"])

    def _records(self, tag: str, what: str):
        """The fields of each `<tag> ...` line the device sends until END (other lines skipped)."""
        while True:
            line = self._line(what)
            if line == "END":
                return
            if line.startswith(tag + " "):
                yield line.split()[1:]

    @_garbage_is_a_device_error
    def read_output(self, index: int) -> bytes:
        self.link.write(f"out {index}\n".encode())
        head = self._expect("OK out").split()
        size, crc = int(head[3]), int(head[4], 16)
        data = b"".join(bytes.fromhex(hexes) for hexes, in self._records("d", "output data"))
        if len(data) != size or zlib.crc32(data) != crc:
            raise DeviceError(f"output {index}: got {len(data)} bytes / crc {zlib.crc32(data):08x}, "
                              f"device sent {size} / {crc:08x}")
        return data

    @_garbage_is_a_device_error
    def profile(self) -> dict[int, int]:
        """One inference timed per operator: {operator index: timer ticks}."""
        self.link.write(b"prof\n")
        self._expect("OK prof")
        return {int(op): int(t) for op, t in self._records("p", "profile data")}

    @_garbage_is_a_device_error
    def trace(self) -> dict[int, tuple[int, int]]:
        """One inference with every operator's output checksummed as it is written:
        {operator index: (bytes, crc32)} (AOT firmware only)."""
        self.link.write(b"trace\n")
        self._expect("OK trace")
        return {int(op): (int(n), int(crc, 16)) for op, n, crc in self._records("t", "trace data")}

    @_garbage_is_a_device_error
    def trace_output(self, op: int) -> bytes:
        """One inference; the output of operator `op` right after it ran."""
        self.link.write(f"trace {op}\n".encode())
        self._expect("OK trace")
        return b"".join(bytes.fromhex(hexes) for hexes, in self._records("d", "trace data"))

    @_garbage_is_a_device_error
    def memory(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._cmd("mem", "OK mem").items()}

    def quit(self) -> None:
        try:
            self.link.write(b"quit\n")
        except (DeviceError, ValueError, OSError):
            pass  # already closed (fault, timeout): closing again is harmless
        self.link.close()


@contextmanager
def session(link: Link, timeout: float, expect_ready: bool = True) -> Iterator[Device]:
    """A `Device` over `link` for the length of a `with`: `quit` at the end, or, when the handshake
    itself failed, the link closed (QEMU killed, the serial port released)."""
    dev = None
    try:
        dev = Device(link, timeout=timeout, expect_ready=expect_ready)
        yield dev
    finally:
        if dev is not None:
            dev.quit()
        else:
            link.close()
