"""Run a Cortex-M ELF under QEMU with the instruction-profile plugin and read back what executed.

The counted region is one function's dynamic extent: from its first instruction to the instruction
after each call to it (found in the ELF's disassembly), so the UART protocol's polling loops, whose
length depends on when the host writes, never enter the counts. For our firmware that function is
`run_once` (firmware/app/main.c: one inference), and every run of `aot_prof_mark` (called after each
operator) starts a new segment, which gives per-operator counts."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..aot.device.protocol import QEMU_FLAGS
from ..errors import PipelineError
from .plugin import plugin_path

_LINE = re.compile(r"^\s*([0-9a-f]+):\t([0-9a-f]{4}(?: [0-9a-f]{4})?)\s*\t(\S+)\s*(.*)$")
_SYM = re.compile(r"^([0-9a-f]{8}) <([^>]+)>:$")


@dataclass(frozen=True)
class Insn:
    pc: int
    size: int
    mnemonic: str     # as objdump prints it (unified syntax), e.g. "ldr.w", "smlad", "addeq"
    operands: str     # without the trailing comment


@dataclass
class Disassembly:
    insns: dict[int, Insn]
    symbols: dict[str, int]          # function name -> address (Thumb bit clear)

    def previous(self, pc: int) -> Insn | None:
        """The instruction that ends at pc (its fall-through predecessor), if there is one."""
        for size in (2, 4):
            p = self.insns.get(pc - size)
            if p is not None and p.size == size:
                return p
        return None

    def call_returns(self, function: str) -> list[int]:
        """Addresses right after every `bl`/`b` to `function` (where its returns land)."""
        addr = self.symbols.get(function)
        if addr is None:
            raise PipelineError(f"the firmware has no function '{function}' to time")
        target = f"{addr:x} <{function}>"
        return sorted(i.pc + i.size for i in self.insns.values() if i.mnemonic.split(".")[0] in ("bl", "blx")
                      and i.operands.startswith(target))


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise PipelineError(f"required tool '{name}' not found; install it with: apt-get install -y "
                            f"{'gcc-arm-none-eabi' if name.startswith('arm-') else 'qemu-system-arm'}")
    return exe


def disassemble(elf: Path) -> Disassembly:
    res = subprocess.run([_tool("arm-none-eabi-objdump"), "-d", "-w", str(elf)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise PipelineError(f"objdump cannot read {elf}: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
    insns, symbols = {}, {}
    for line in res.stdout.splitlines():
        m = _LINE.match(line)
        if m:
            pc, raw, mnem, ops = m.groups()
            insns[int(pc, 16)] = Insn(int(pc, 16), len(raw.replace(" ", "")) // 2, mnem, re.split(r"\s[@;]", ops)[0].strip())
            continue
        s = _SYM.match(line)
        if s:
            symbols.setdefault(s.group(2), int(s.group(1), 16))
    return Disassembly(insns, symbols)


@dataclass
class Profile:
    """Per executed instruction address and segment: executions and how many of them were followed
    by a non-sequential instruction (taken)."""
    regions: int
    sizes: dict[int, int]
    exec: dict[tuple[int, int], int] = field(default_factory=dict)
    taken: dict[tuple[int, int], int] = field(default_factory=dict)

    @property
    def segments(self) -> list[int]:
        return sorted({s for _, s in self.exec})

    @property
    def instructions(self) -> int:
        return sum(self.exec.values())


def parse(text: str) -> Profile:
    prof = Profile(regions=0, sizes={})
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "R":
            prof.regions = int(parts[1])
        elif parts[0] == "I":
            prof.sizes[int(parts[1], 16)] = int(parts[2])
        elif parts[0] == "C":
            key = (int(parts[1], 16), int(parts[2]))
            prof.exec[key] = int(parts[3])
            prof.taken[key] = int(parts[4])
        else:
            raise PipelineError(f"unexpected line in the QEMU plugin's output: {line[:80]!r}")
    return prof


def run_profiled(elf: Path, machine: str, stdin_lines: list[str], function: str, mark: str | None = None,
                 timeout_s: float = 300.0) -> tuple[Profile, Disassembly, str]:
    """Boot `elf` on `machine`, feed it `stdin_lines` (the last must make it exit cleanly: the plugin
    writes its counts only then) and count the instructions inside `function`. Returns the profile,
    the ELF's disassembly and the firmware's stdout."""
    dis = disassemble(elf)
    returns = dis.call_returns(function)
    if not returns:
        raise PipelineError(f"nothing in the firmware calls '{function}': no region to time")
    if len(returns) > 8:
        raise PipelineError(f"'{function}' is called from {len(returns)} places; the plugin takes 8 return sites")
    args = [f"on={dis.symbols[function]:x}", *(f"off={r:x}" for r in returns)]
    if mark is not None and mark in dis.symbols:
        args.append(f"mark={dis.symbols[mark]:x}")
    so = plugin_path()
    with tempfile.TemporaryDirectory(prefix="pipeline-timing-") as tmp:
        out = Path(tmp) / "counts.txt"
        # The device link's flags (the same -icount virtual time, so SysTick agrees) and the machine's
        # own CPU, as the bench runs it.
        cmd = [_tool("qemu-system-arm"), "-machine", machine, *QEMU_FLAGS,
               "-plugin", ",".join([str(so), *(f"arg={a}" for a in args), f"arg=out={out}"]), "-kernel", str(elf)]
        try:
            res = subprocess.run(cmd, input="".join(f"{ln}\n" for ln in stdin_lines), capture_output=True,
                                 text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise PipelineError(f"no answer from QEMU {machine} within {timeout_s:.0f} s while profiling {elf.name}; "
                                f"it was stopped") from None
        fault = re.search(r"^FAULT .*$", res.stdout, re.M)
        if fault:
            raise PipelineError(f"firmware fault while profiling: {fault.group(0)}")
        if not out.is_file():
            raise PipelineError(f"QEMU exited with code {res.returncode} before the plugin wrote its counts "
                                f"(stderr: {res.stderr.strip()[-200:]!r})")
        prof = parse(out.read_text())
    if prof.regions == 0:
        raise PipelineError(f"'{function}' never ran in the profiled session")
    return prof, dis, res.stdout
