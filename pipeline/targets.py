"""Targets are data: one TOML per device in `targets/`, validated against `TargetSpec`.

Adding a board is adding a file; no Python. Lookup accepts ids and aliases and suggests the
closest name for typos (`rpy` -> `rpi`).
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import PipelineError, allowed_list, did_you_mean
from .schema_errors import describe

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
    flash_origin: int = Field(0, ge=0)
    ram_origin: int = Field(0x20000000, ge=0)


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
    source: str = ""  # the file it was loaded from (filled in by the loader)

    @field_validator("runtimes")
    @classmethod
    def _known_runtimes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"litert", "tflm", "aot"}
        for r in v:
            if r not in allowed:
                raise ValueError(f"unknown runtime '{r}'{did_you_mean(r, allowed)}; allowed: {allowed_list(allowed)}")
        return v

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
