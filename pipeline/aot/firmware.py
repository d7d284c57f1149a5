"""Cross-compile the generated model + kernels + board support + app into a Cortex-M ELF."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .. import atomic
from ..errors import BudgetExceeded, PipelineError
from .codegen import FIRMWARE_DIR, KERNELS, TEMPLATES
from .compiler import Compiled, kernel_sources, write_sources


@dataclass(frozen=True)
class Board:
    machine: str
    cflags: tuple[str, ...]
    flash_origin: int
    ram_origin: int
    vectors_origin: int | None = None   # a separate boot vector region (an547 boots from ITCM)
    # Real boards (flashed with pyOCD): their own UART driver + the DWT cycle counter instead of
    # the CMSDK UART and SysTick of the QEMU boards (paths relative to firmware/boards/).
    sources: tuple[str, ...] | None = None
    real: bool = False

    @property
    def dir(self) -> Path:
        return FIRMWARE_DIR / "boards" / self.machine

    def source_files(self) -> list[Path]:
        boards = FIRMWARE_DIR / "boards"
        if self.sources is None:
            return sorted((boards / "common").glob("*.c"))
        return [boards / s for s in self.sources]


_REAL_COMMON = ("common/startup.c", "common/fault.c", "dwt/timer_dwt.c")
# QEMU machine -> CPU flags and memory map (see ../shared/notes/emulation.md).
BOARDS = {
    "mps2-an386": Board("mps2-an386", ("-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
                        0x00000000, 0x20000000),
    "mps2-an500": Board("mps2-an500", ("-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"),
                        0x00000000, 0x20000000),
    # Secure aliases: SRAM 2 MB at 0x11000000 holds code (the 2 MB budget), DTCM 512 KB is RAM.
    "mps3-an547": Board("mps3-an547", ("-mcpu=cortex-m55", "-mfloat-abi=hard"),
                        0x11000000, 0x30000000, vectors_origin=0x10000000),
}
# Real boards by target id (flashed with pyOCD, driven over their serial port).
REAL_BOARDS = {
    # STM32F746ZG: 1 MB flash at 0x08000000 (AXIM), 320 KB SRAM at 0x20000000 (DTCM+SRAM1+SRAM2).
    "nucleo-f746zg": Board("nucleo-f746zg", ("-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
                           0x08000000, 0x20000000,
                           sources=(*_REAL_COMMON, "nucleo-f746zg/uart_stm32f7.c"), real=True),
    # nRF52840: 1 MB flash at 0x00000000, 256 KB RAM at 0x20000000.
    "nrf52840dk": Board("nrf52840dk", ("-mcpu=cortex-m4", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
                        0x00000000, 0x20000000,
                        sources=(*_REAL_COMMON, "nrf52840dk/uart_nrf52_uarte.c"), real=True),
}
# 8 KB: measured use of the app + kernels is well under 1 KB; the rest is headroom for reports.
DEFAULT_STACK = 8192
COMMON_CFLAGS = ("-mthumb", "-O2", "-std=c99", "-g", "-ffunction-sections", "-fdata-sections",
                 "-ffp-contract=off", "-Wall", "-Wextra", "-Werror")


@dataclass(frozen=True)
class FirmwareBuild:
    elf: Path
    sections: dict[str, int]
    flash_bytes: int
    ram_bytes: int
    stack_bytes: int
    board: str

    def report(self) -> dict:
        return {"elf": str(self.elf), "board": self.board, "sections": self.sections,
                "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes, "stack_bytes": self.stack_bytes}


def board_for(target) -> Board:
    machine = target.emulator.machine if target.emulator else None
    if machine in BOARDS:
        return BOARDS[machine]
    if getattr(target, "board", None) is not None and target.id in REAL_BOARDS:
        return REAL_BOARDS[target.id]
    raise PipelineError(
        f"target '{target.id}' has no board the AOT firmware supports (QEMU machine {machine!r}; "
        f"supported: {', '.join(sorted(BOARDS))}; real boards: {', '.join(sorted(REAL_BOARDS))})")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PipelineError(f"{name} not found on PATH: install gcc-arm-none-eabi (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    return path


def _linker_script(compiled: Compiled, target, board: Board, stack_bytes: int) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("link.ld.j2").render(
        sha256=compiled.model.sha256, target=target.id, machine=board.machine, flash_kb=target.flash_kb,
        ram_kb=target.ram_kb, flash_origin=board.flash_origin, ram_origin=board.ram_origin,
        vectors_origin=board.vectors_origin, stack_bytes=stack_bytes)


_OVERFLOW = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")


def build_firmware(compiled: Compiled, target, out_dir: Path, stack_bytes: int = DEFAULT_STACK) -> FirmwareBuild:
    """Link the ELF against the target's real budgets; over budget -> one-line PipelineError."""
    board = board_for(target)
    cc = _tool("arm-none-eabi-gcc")
    out_dir = Path(out_dir)
    src = write_sources(compiled, out_dir / "src")
    ld = atomic.write_text(out_dir / "link.ld", _linker_script(compiled, target, board, stack_bytes))
    elf = out_dir / "firmware.elf"
    common = FIRMWARE_DIR / "boards" / "common"
    sources = [src / "aot_model.c", *kernel_sources(), *board.source_files(),
               *sorted((FIRMWARE_DIR / "app").glob("*.c"))]
    cmd = [cc, *board.cflags, *COMMON_CFLAGS, f"-I{src}", f"-I{KERNELS}", f"-I{common}",
           f"-I{board.dir}", f"-I{FIRMWARE_DIR / 'app'}",
           # per-operator timing hook for the generated code (see app/aot_prof.h)
           "-include", str(FIRMWARE_DIR / "app" / "aot_prof.h"),
           *map(str, sources), "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
           "-Wl,--gc-sections", f"-Wl,-T,{ld}", f"-Wl,-Map,{out_dir / 'firmware.map'}", "-lm",
           "-o", str(elf.with_suffix(".tmp"))]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        over = _OVERFLOW.findall(res.stderr)
        if over:
            region, extra = over[0]
            budget = target.flash_kb if region in ("FLASH", "VECT") else target.ram_kb
            raise BudgetExceeded(
                f"model does not fit target '{target.id}': {region.lower()} needs {budget * 1024 + int(extra)} "
                f"bytes, budget is {budget * 1024} bytes ({budget} KB)")
        first = next((ln for ln in res.stderr.splitlines() if "error" in ln), res.stderr.strip()[:300])
        raise PipelineError(f"firmware build failed: {first}")
    elf.with_suffix(".tmp").replace(elf)
    sections = section_sizes(elf)
    flash = sum(sections.get(s, 0) for s in (".vectors", ".text", ".ARM.exidx", ".data"))
    ram = sum(sections.get(s, 0) for s in (".stack", ".hstack", ".data", ".bss"))
    build = FirmwareBuild(elf, sections, flash, ram, stack_bytes, board.machine)
    atomic.write_json(out_dir / "firmware.json", build.report())
    return build


def section_sizes(elf: Path) -> dict[str, int]:
    """`arm-none-eabi-size -A`: section -> bytes (allocated sections only)."""
    res = subprocess.run([_tool("arm-none-eabi-size"), "-A", str(elf)], capture_output=True, text=True,
                         timeout=60)
    if res.returncode != 0:
        raise PipelineError(f"arm-none-eabi-size failed on {elf}: {res.stderr.strip()[:200]}")
    out = {}
    for ln in res.stdout.splitlines():
        parts = ln.split()
        if (len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit()
                and not parts[0].startswith((".debug", ".comment", ".ARM.attributes"))):
            out[parts[0]] = int(parts[1])
    return out
