"""Adapter for target kind 'linux-arm': Raspberry Pi / aarch64 Linux (LiteRT).

The bundle and its running (emulator or ssh) live in pipeline.linux_litert, which the host and
android adapters use too; this module only names the kind and what it does not do.
"""
from __future__ import annotations

from ..linux_litert import KERNELS, bench, package, parse_device, run_model
from ..opsets import LITERT_OPS

KIND = "linux-arm"
RUNTIME = "LiteRT"
OPS = LITERT_OPS
VERIFY_REFERENCE = "int8_ref"     # the bundle's default kernels are LiteRT's reference kernels
ARENA_RAM = False
ISSUE = 5
flash = None                      # a Linux board runs a bundle; there is no firmware to flash
__all__ = ["ARENA_RAM", "KERNELS", "KIND", "OPS", "RUNTIME", "VERIFY_REFERENCE", "bench", "flash", "package", "parse_device",
           "run_model"]
