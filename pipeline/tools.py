"""External tools the targets need: one table, used by `pipeline doctor` and by adapters.

Each tool names the package that provides it, so a missing tool is a one-line error that says
exactly what to install.
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import PipelineError


@dataclass(frozen=True)
class Tool:
    name: str          # executable name
    package: str       # Debian package or PyPI distribution
    manager: str       # "apt" or "pip"
    needed_for: str

    def install_command(self) -> str:
        if self.manager == "apt":
            return f"apt-get install -y {self.package}"
        return f"{Path(sys.executable).parent / 'pip'} install {self.package}"


TOOLS: tuple[Tool, ...] = (
    Tool("arm-none-eabi-gcc", "gcc-arm-none-eabi", "apt", "Cortex-M firmware (cross-compiler)"),
    Tool("arm-none-eabi-size", "binutils-arm-none-eabi", "apt", "Cortex-M flash/RAM by section"),
    Tool("qemu-system-arm", "qemu-system-arm", "apt", "Cortex-M emulation (mps2/mps3 boards)"),
    Tool("qemu-aarch64-static", "qemu-user-static", "apt", "Raspberry Pi / Android CPU emulation"),
    Tool("debootstrap", "debootstrap", "apt", "arm64 Debian rootfs for the emulated Pi"),
    Tool("adb", "adb", "apt", "Android phones"),
    Tool("pyocd", "pyocd", "pip", "flashing real Cortex-M boards"),
)
_BY_NAME = {t.name: t for t in TOOLS}


def find(name: str) -> str | None:
    """Path of the tool, looking beside this Python too (venv console scripts such as pyocd)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else None


def require(name: str) -> str:
    """The tool's path, or a one-line PipelineError naming the package to install."""
    path = find(name)
    if path:
        return path
    tool = _BY_NAME.get(name)
    hint = f"; install it with: {tool.install_command()}" if tool else ""
    raise PipelineError(f"required tool '{name}' not found{hint}")


def missing() -> list[Tool]:
    return [t for t in TOOLS if find(t.name) is None]
