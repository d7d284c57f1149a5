"""Drive a firmware built around `firmware/app/main.c` on a QEMU Cortex-M board, over its UART.

The same driver measures our engine and any peer wrapped behind the same `aot_model.h` API, so
both are timed by the same code on the same board: one input is downloaded (`in`), `infer N W`
runs W warm-ups then N timed inferences between two SysTick reads, `out` returns the output and
`mem` the stack high-water mark.

Instruction counts: QEMU runs with `-icount shift=0,align=off,sleep=off`, where every executed
instruction advances virtual time by exactly 1 ns and SysTick (CLKSOURCE = CPU) ticks at the
board clock, so instructions = ticks * 1e9 / clock_hz (40 per tick on the 25 MHz MPS2 boards, one
tick of resolution per timed window). Deterministic: the same ELF gives the same count every run.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass

import numpy as np

QEMU = "qemu-system-arm"
CPU = {"mps2-an386": "cortex-m4", "mps2-an500": "cortex-m7", "mps3-an547": "cortex-m55"}
ICOUNT = "shift=0,align=off,sleep=off"


class QemuRunError(RuntimeError):
    pass


@dataclass(frozen=True)
class Measurement:
    board: str
    clock_hz: int
    runs: int
    warmup: int
    ticks: int
    instructions_per_inference: float
    stack_used_bytes: int
    stack_size_bytes: int
    output: bytes
    output_crc_ok: bool
    id_line: str

    def as_dict(self) -> dict:
        return {"board": self.board, "clock_hz": self.clock_hz, "runs": self.runs, "warmup": self.warmup,
                "ticks": self.ticks, "instructions": self.instructions_per_inference,
                "stack_used_bytes": self.stack_used_bytes, "stack_size_bytes": self.stack_size_bytes,
                "output_crc_ok": self.output_crc_ok}


def qemu_command(machine: str, elf) -> list[str]:
    exe = shutil.which(QEMU)
    if exe is None:
        raise QemuRunError(f"{QEMU} not found on PATH (Debian: apt-get install qemu-system-arm)")
    return [exe, "-machine", machine, "-cpu", CPU[machine], "-nographic", "-monitor", "none",
            "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
            "-icount", ICOUNT, "-kernel", str(elf)]


def _input_lines(data: bytes) -> list[str]:
    lines = [f"in 0 {len(data)} {zlib.crc32(data):08x}"]
    lines += ["d " + data[i:i + 64].hex() for i in range(0, len(data), 64)]
    return lines


def measure(machine: str, elf, input_bytes: bytes, runs: int = 2, warmup: int = 1,
            timeout_s: float = 120.0) -> Measurement:
    """One QEMU session: id, in, infer 1 0, out 0 (the output of exactly one inference on the
    downloaded input), then in again (an engine may reuse the input's arena bytes for later
    tensors), infer runs warmup (timed), mem, quit."""
    feed = _input_lines(input_bytes)
    script = ["id", *feed, "infer 1 0", "out 0", *feed, f"infer {runs} {warmup}", "mem", "quit"]
    try:
        proc = subprocess.run(qemu_command(machine, elf), input="\n".join(script) + "\n", capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as err:
        tail = (err.stdout or b"")[-300:] if isinstance(err.stdout, bytes) else (err.stdout or "")[-300:]
        raise QemuRunError(f"QEMU {machine} did not finish within {timeout_s:.0f} s; last output: {tail!r}") from None
    out = proc.stdout
    fault = re.search(r"^FAULT .*$", out, re.M)
    if fault:
        raise QemuRunError(f"firmware fault on {machine}: {fault.group(0)}")
    errs = re.findall(r"^ERR .*$", out, re.M)
    if errs:
        raise QemuRunError(f"firmware on {machine} answered {errs[0]!r}")
    idm = re.search(r"^OK id .*clock_hz=(\d+).*$", out, re.M)
    infers = re.findall(r"^OK infer n=(\d+) w=(\d+) ticks=(\d+)$", out, re.M)
    inf = infers[-1] if len(infers) == 2 else None
    om = re.search(r"^OK out 0 (\d+) ([0-9a-f]{8})\n((?:d [0-9a-f]+\n)*)END$", out, re.M)
    mem = re.search(r"^OK mem arena=\d+ stack_used=(\d+) stack_size=(\d+)$", out, re.M)
    if not (idm and inf and om and mem):
        raise QemuRunError(f"unexpected firmware dialogue on {machine} (exit {proc.returncode}): "
                           f"{out[-300:]!r} {proc.stderr.strip()[-200:]!r}")
    clock = int(idm.group(1))
    ticks = int(inf[2])
    data = bytes.fromhex("".join(ln[2:] for ln in om.group(3).splitlines()))
    return Measurement(board=machine, clock_hz=clock, runs=int(inf[0]), warmup=int(inf[1]), ticks=ticks,
                       instructions_per_inference=ticks * (1e9 / clock) / int(inf[0]),
                       stack_used_bytes=int(mem.group(1)), stack_size_bytes=int(mem.group(2)), output=data,
                       output_crc_ok=(len(data) == int(om.group(1)) and f"{zlib.crc32(data):08x}" == om.group(2)),
                       id_line=idm.group(0))


def random_input(shape, dtype: str = "int8", seed: int = 0) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(info.min, info.max + 1, size=shape, dtype=dtype)
