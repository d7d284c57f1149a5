"""Targets are data: one TOML per device in `targets/`, validated against `TargetSpec`.

Adding a board is adding a file; no Python. Lookup accepts ids and aliases and suggests the
closest name for typos (`rpy` -> `rpi`).
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import PipelineError, allowed_list, did_you_mean
from .schema_errors import describe

# The adapter registry's names (pipeline.adapters.ADAPTERS; a test keeps the two equal). Kept as a
# literal so that loading a target file does not import every adapter: each stage's code digest
# is its import closure, and the teacher must not re-run when the Cortex-M adapter changes.
Kind = Literal["linux-arm", "android", "cortex-m", "host"]
Device = Literal["emulator", "qemu", "pyocd", "ssh", "adb", "local"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmulatorSpec(_Strict):
    kind: Literal["qemu-user", "qemu-system"]
    binary: str
    cpu: str
    machine: str | None = None  # qemu-system board, e.g. mps2-an386
    debian_suite: str | None = None  # qemu-user rootfs release


class BoardSpec(_Strict):
    pyocd_target: str
    serial_port: str = "auto"
    serial_baud: int = Field(115200, gt=0)


FIRMWARE_DRIVERS = Path(__file__).resolve().parent.parent / "firmware" / "boards" / "drivers"


def _one_of(value: str, allowed, what: str, where: str = "") -> str:
    """value, or the schema's one-line error naming it, the closest allowed name and the allowed set."""
    if value not in allowed:
        raise ValueError(f"unknown {what} '{value}'{did_you_mean(value, allowed)}; allowed: {allowed_list(allowed)}{where}")
    return value


def _drivers(kind: str) -> list[str]:
    return sorted(p.stem[len(kind) + 1:] for p in FIRMWARE_DRIVERS.glob(f"{kind}_*.c"))


class FirmwareSpec(_Strict):
    """What our Cortex-M firmware needs from a board: its memory map, the UART and timer drivers
    (C files in firmware/boards/drivers/, chosen by name) and the clock it runs at. cflags derive
    from the target's `core` and `fpu`; board.h is rendered from firmware/templates/board.h.j2."""
    flash_origin: int = Field(ge=0)
    ram_origin: int = Field(ge=0)
    vectors_origin: int | None = Field(None, ge=0)  # a separate 1 KB boot region (an547 boots from ITCM)
    uart: str                                        # firmware/boards/drivers/uart_<uart>.c
    uart_base: int | None = Field(None, ge=0)        # for drivers that take it (cmsdk)
    timer: str = "systick"                           # firmware/boards/drivers/timer_<timer>.c
    clock_hz: int | None = Field(None, gt=0)         # default: the target's clock_mhz
    semihosting: bool = True                         # False: no debugger, `quit` resets the chip

    @field_validator("uart", "timer")
    @classmethod
    def _known_driver(cls, v: str, info) -> str:
        return _one_of(v, _drivers(info.field_name), f"{info.field_name} driver",
                       f" (firmware/boards/drivers/{info.field_name}_<name>.c)")

    @model_validator(mode="after")
    def _cmsdk_needs_base(self):
        if self.uart == "cmsdk" and self.uart_base is None:
            raise ValueError("uart 'cmsdk' needs uart_base (e.g. 0x40004000 on the MPS2 boards)")
        return self


class TimingSpec(_Strict):
    """The real chip that modelled Cortex-M cycles stand for (pipeline/timing/): `clock_mhz` is the
    clock modelled milliseconds are quoted at (not the emulator's board clock, the target's own
    `clock_mhz`), and the flash in front of the core at that clock, a separate term of the model."""
    part: str                                   # the chip and clock the figures are for, for humans
    clock_mhz: float = Field(gt=0)
    flash_wait_states: int = Field(0, ge=0, le=15)
    flash_cache: bool = False                   # an instruction cache / ST ART accelerator hides them in loops


class Target(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str
    kind: Kind
    aliases: tuple[str, ...] = ()
    arch: str
    core: str
    fpu: str | None = None
    clock_mhz: float = Field(ge=0)
    flash_kb: int = Field(gt=0)
    ram_kb: int = Field(gt=0)
    threads: int = Field(1, ge=1)
    runtimes: tuple[str, ...]
    default_device: Device
    emulator: EmulatorSpec | None = None
    board: BoardSpec | None = None
    firmware: FirmwareSpec | None = None  # required for kind "cortex-m"
    timing: TimingSpec | None = None      # cortex-m: the chip modelled cycles and ms stand for
    source: str = ""  # the file it was loaded from (filled in by the loader)

    @field_validator("runtimes")
    @classmethod
    def _known_runtimes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for r in v:
            _one_of(r, {"litert", "tflm", "aot"}, "runtime")
        return v

    @model_validator(mode="after")
    def _cortex_m_has_firmware(self):
        if self.kind == "cortex-m" and self.firmware is None:
            raise ValueError("a cortex-m target needs a [firmware] table (flash_origin, ram_origin, uart, ...)")
        if self.timing is not None and self.kind != "cortex-m":
            raise ValueError("a [timing] table (modelled Cortex-M cycles) is only for kind 'cortex-m'")
        return self

    @property
    def emulated_by_default(self) -> bool:
        return self.default_device in ("emulator", "qemu")

    @property
    def flash_bytes(self) -> int:
        return self.flash_kb * 1024

    @property
    def ram_bytes(self) -> int:
        return self.ram_kb * 1024

    def fields(self, names: tuple[str, ...]) -> dict:
        data = self.model_dump(mode="json")
        return {n: data[n] for n in names}


def targets_dir() -> Path:
    """`$PIPELINE_TARGETS_DIR`, else the repository's `targets/` (an editable install)."""
    env = os.environ.get("PIPELINE_TARGETS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "targets"


def load_file(path: Path) -> Target:
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: not valid TOML: {err}") from None
    data["source"] = str(path)
    try:
        target = Target.model_validate(data)
    except ValidationError as err:
        raise describe(err, Target, path) from None
    if target.id != path.stem:
        raise PipelineError(f"{path}: id '{target.id}' must equal the file name '{path.stem}'")
    return target


class TargetRegistry:
    def __init__(self, targets: list[Target]):
        self._by_name: dict[str, Target] = {}
        for t in targets:
            for name in (t.id, *t.aliases):
                if name in self._by_name:
                    other = self._by_name[name].source
                    raise PipelineError(f"{t.source}: target name '{name}' is already used by {other}")
                self._by_name[name] = t
        self.targets = sorted(targets, key=lambda t: t.id)

    def get(self, name: str) -> Target:
        if name in self._by_name:
            return self._by_name[name]
        raise PipelineError(
            f"unknown target '{name}'{did_you_mean(name, self._by_name)}"
            f" (known: {allowed_list(self._by_name)}; see `pipeline targets`)"
        )

    def __iter__(self):
        return iter(self.targets)


def load_all(directory: Path | None = None) -> TargetRegistry:
    directory = directory or targets_dir()
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise PipelineError(f"no target files (*.toml) in {directory}")
    return TargetRegistry([load_file(f) for f in files])
