"""Cross-compile the generated model + kernels + board support + app into a Cortex-M ELF."""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ... import atomic
from ...errors import BudgetExceeded, PipelineError
from ..compile.codegen import FIRMWARE_DIR, KERNELS, TEMPLATES
from ..compile.compiler import Compiled, kernel_sources, write_sources


@dataclass(frozen=True)
class Board:
    """A board as our firmware sees it, derived from the target file alone (no Python per board):
    `machine` names the board: the QEMU machine for emulated boards, the target id for real ones."""
    machine: str
    qemu_machine: str | None       # None for a real board
    cflags: tuple[str, ...]
    flash_origin: int
    ram_origin: int
    vectors_origin: int | None
    uart: str                      # firmware/boards/drivers/uart_<uart>.c
    timer: str                     # firmware/boards/drivers/timer_<timer>.c
    uart_base: int | None
    uart_baud: int
    clock_hz: int                  # the clock the firmware runs at (BOARD_CLOCK_HZ)
    semihosting: bool
    target_id: str
    source: str                    # the target file's name, for the board.h header
    real: bool                     # a physical board (pyOCD + serial), not a QEMU machine

    def source_files(self) -> list[Path]:
        """Board support in link order: fault handler, reset/vectors, timer, UART. The order is
        the one the QEMU bench numbers were measured with (code placement moves by a few bytes
        otherwise)."""
        boards = FIRMWARE_DIR / "boards"
        return [boards / "common" / "fault.c", boards / "common" / "startup.c",
                BOARD_DRIVERS / f"timer_{self.timer}.c", BOARD_DRIVERS / f"uart_{self.uart}.c"]

    def header_text(self, sha256: str) -> str:
        """board.h for this board, stamped with the model it is built for."""
        return _templates().get_template("board.h.j2").render(
            sha256=sha256, target_id=self.target_id, source=self.source, name=self.machine, uart=self.uart,
            timer=self.timer, uart_base=self.uart_base, uart_baud=self.uart_baud, clock_hz=self.clock_hz,
            semihosting=self.semihosting)

    def write_header(self, out_dir: Path, sha256: str) -> Path:
        """Render board.h into out_dir; returns the folder to put on the include path."""
        atomic.write_text(Path(out_dir) / "board.h", self.header_text(sha256))
        return Path(out_dir)


def _templates() -> jinja2.Environment:
    """firmware/templates/ (linker script, board.h); undefined values are errors, not blanks."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined)


BOARD_DRIVERS = FIRMWARE_DIR / "boards" / "drivers"
BOARD_COMMON = FIRMWARE_DIR / "boards" / "common"


def cpu_cflags(core: str, fpu: str | None) -> tuple[str, ...]:
    """-mcpu from the core; hard float with -mfpu=<fpu>, or the core's own FPU for "auto"
    (cortex-m55: GCC picks the FPU and MVE from -mcpu); soft float without an FPU."""
    if fpu is None:
        return (f"-mcpu={core}", "-mfloat-abi=soft")
    if fpu == "auto":
        return (f"-mcpu={core}", "-mfloat-abi=hard")
    return (f"-mcpu={core}", "-mfloat-abi=hard", f"-mfpu={fpu}")


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
    fw = getattr(target, "firmware", None)
    if fw is None:
        raise PipelineError(f"target '{target.id}' has no [firmware] table: the AOT firmware needs its memory map, "
                            f"UART and timer (see targets/cortex-m4.toml)")
    qemu = target.emulator.machine if target.emulator else None
    return Board(qemu or target.id, qemu, cpu_cflags(target.core, target.fpu), fw.flash_origin, fw.ram_origin,
                 fw.vectors_origin, fw.uart, fw.timer, fw.uart_base,
                 uart_baud=target.board.serial_baud if target.board else 115200,
                 clock_hz=fw.clock_hz or int(round(target.clock_mhz * 1e6)), semihosting=fw.semihosting,
                 target_id=target.id, source=Path(target.source).name if target.source else target.id,
                 real=target.board is not None and qemu is None)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PipelineError(f"{name} not found on PATH: install gcc-arm-none-eabi (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)")
    return path


def _linker_script(compiled: Compiled, target, board: Board, stack_bytes: int) -> str:
    return _templates().get_template("link.ld.j2").render(
        sha256=compiled.model.sha256, target=target.id, machine=board.machine, flash_kb=target.flash_kb,
        ram_kb=target.ram_kb, flash_origin=board.flash_origin, ram_origin=board.ram_origin,
        vectors_origin=board.vectors_origin, stack_bytes=stack_bytes)


_OVERFLOW = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")


def build_firmware(compiled: Compiled, target, out_dir: Path, stack_bytes: int = DEFAULT_STACK,
                   extra_cflags: tuple[str, ...] = ()) -> FirmwareBuild:
    """Link the ELF against the target's real budgets; over budget -> one-line PipelineError.
    extra_cflags go after the board's and the common ones (tests/aot/test_perf_baseline.py builds
    the M4 firmware with -U__ARM_FEATURE_DSP to prove its gate fails without the SMLAD path)."""
    board = board_for(target)
    cc = _tool("arm-none-eabi-gcc")
    out_dir = Path(out_dir)
    src = write_sources(compiled, out_dir / "src")
    ld = atomic.write_text(out_dir / "link.ld", _linker_script(compiled, target, board, stack_bytes))
    elf = out_dir / "firmware.elf"
    board_inc = board.write_header(out_dir / "board", compiled.model.sha256)
    sources = [src / "aot_model.c", *kernel_sources(), *board.source_files(),
               *sorted((FIRMWARE_DIR / "app").glob("*.c"))]
    cmd = [cc, *board.cflags, *COMMON_CFLAGS, *extra_cflags, f"-I{src}", f"-I{KERNELS}", f"-I{BOARD_COMMON}",
           f"-I{board_inc}", f"-I{FIRMWARE_DIR / 'app'}",
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
