"""Devices that hang, fault, corrupt or babble: a one-line DeviceError (exit 4), never a hang.

Covered elsewhere (referenced, not repeated): QEMU Cortex-M hang → killed
(tests/cortex_m/test_qemu.py::test_hung_emulator_times_out_and_is_killed), qemu-user hang
(tests/linux_arm/test_emulator.py::test_hung_command_is_killed_with_one_line_error), SSH server
killed mid-run (tests/linux_arm/test_ssh.py::test_server_killed_mid_benchmark), HardFault on
QEMU (tests/cortex_m/test_qemu.py::test_tiny_stack_is_a_one_line_fault).
"""
from __future__ import annotations

import shutil
import zlib

import numpy as np
import pytest

from pipeline.aot.device.protocol import Device, Link
from pipeline.errors import DeviceError, PipelineError

from .conftest import cli, one_line


class FakeLink(Link):
    """Speaks the firmware protocol from a script; `corrupt` flips a byte of every `d` line."""

    def __init__(self, answers=None, corrupt_in=0, hang=False):
        self.lines = ["READY"]
        self.answers = answers or {}
        self.corrupt_in = corrupt_in  # how many `in` transfers arrive corrupted
        self.hang = hang
        self.closed = False
        self.sent = []
        self.in_attempts = 0

    def write(self, data: bytes) -> None:
        text = data.decode()
        self.sent.append(text)
        cmd = text.split()[0]
        if cmd == "in":
            head, *rows = text.strip().split("\n")
            payload = bytearray(b"".join(bytes.fromhex(r[2:]) for r in rows))
            self.in_attempts += 1
            if self.in_attempts <= self.corrupt_in:
                payload[0] ^= 0xFF  # a flipped byte on the wire
            self.lines.append(f"OK in {head.split()[1]} crc={zlib.crc32(bytes(payload)):08x}")
        elif cmd in self.answers:
            self.lines.extend(self.answers[cmd])

    def readline(self, timeout: float):
        if self.hang and len(self.sent) > 0:
            raise TimeoutError
        if not self.lines:
            raise TimeoutError
        return self.lines.pop(0)

    def close(self) -> None:
        self.closed = True


def test_silent_device_times_out_and_is_closed():
    link = FakeLink(hang=True)
    dev = Device(link, timeout=0.2)
    with pytest.raises(DeviceError, match=r"no answer from the device within 0.2 s") as err:
        dev.identify()
    assert link.closed and "\n" not in str(err.value)


def test_hardfault_is_reported_with_its_pc():
    link = FakeLink(answers={"infer": ["", "FAULT hardfault pc=0x00001a2c"]})
    dev = Device(link, timeout=1)
    with pytest.raises(DeviceError, match=r"^firmware fault hardfault pc=0x00001a2c$"):
        dev.infer(1)
    assert link.closed


def test_crc_mismatch_is_an_error_naming_both_crcs():
    dev = Device(FakeLink(corrupt_in=99), timeout=1)
    with pytest.raises(DeviceError, match=r"input 0 arrived with crc [0-9a-f]{8}, sent [0-9a-f]{8}"):
        dev.load_input(0, bytes(range(10)))


def test_crc_mismatch_is_retried_once_then_succeeds():
    link = FakeLink(corrupt_in=1)
    Device(link, timeout=1).load_input(0, bytes(range(10)))
    assert link.in_attempts == 2


GARBAGE = {
    "id": [["OK id model=abc"]],                       # fields missing
    "infer": [["OK infer ticks=notanumber"]],
    "out": [["OK out 0"], ["OK out 0 4 zzzz"], ["OK out 0 2 00000000", "d zz", "END"]],
    "mem": [["OK mem stack_used=12kb"]],
}


def _call(dev, cmd):
    return {"id": dev.identify, "infer": lambda: dev.infer(1), "out": lambda: dev.read_output(0),
            "mem": dev.memory}[cmd]()


@pytest.mark.parametrize("cmd,answer", [(c, a) for c, answers in GARBAGE.items() for a in answers])
def test_garbage_answer_is_a_device_error(cmd, answer):
    dev = Device(FakeLink(answers={cmd: answer}), timeout=0.5)
    with pytest.raises(DeviceError):
        _call(dev, cmd)


def test_output_crc_mismatch_is_a_device_error():
    data = bytes(range(4))
    link = FakeLink(answers={"out": [f"OK out 0 4 {zlib.crc32(data):08x}", "d 00010203ff", "END"]})
    with pytest.raises(DeviceError, match=r"output 0: got 5 bytes"):
        Device(link, timeout=0.5).read_output(0)


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs QEMU and arm-none-eabi-gcc")
@pytest.mark.emulator
def test_firmware_rejects_an_input_larger_than_the_tensor(models, tmp_path):
    """firmware/app/main.c `in`: a length that is not the input tensor's size is refused before any
    byte is written (no buffer overflow), and the firmware keeps answering."""
    from pipeline.aot.compile.compiler import compile_model
    from pipeline.aot.device.protocol import QemuLink
    from pipeline.aot.device.firmware import build_firmware
    from pipeline.targets import load_all

    c = compile_model(models["dense"])
    build = build_firmware(c, load_all().get("cortex-m4"), tmp_path)
    dev = Device(QemuLink(build.elf, "mps2-an386"), timeout=20)
    try:
        size = int(np.prod(c.model.tensors[c.model.inputs[0]].shape))
        for n in (size + 1, 1 << 20, 0xFFFFFFFF, 0):
            dev.link.write(f"in 0 {n} 00000000\n".encode())
            with pytest.raises(DeviceError, match="bad input index or size"):
                dev._expect("OK in")
        dev.link.write(b"in 7 10 00000000\n")
        with pytest.raises(DeviceError, match="bad input index or size"):
            dev._expect("OK in")
        assert dev.identify().model == c.model.sha256  # still alive, nothing overwritten
        dev.load_input(0, bytes(size))
    finally:
        dev.quit()


def test_device_error_exits_4_through_cli(models, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    res = cli("run", "--target", "rpi4", "--model", models["dense"], "--inputs", tmp_path / "x.npy",
              "--outputs", tmp_path / "y.npy", "--device", "ssh://nobody@127.0.0.1:1", cwd=tmp_path,
              timeout=120)
    assert res.returncode == 4, res.stderr
    assert one_line(res.stderr).startswith("error: ")
    assert not (tmp_path / "y.npy").exists()
