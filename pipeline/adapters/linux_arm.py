"""Adapter for target kind 'linux-arm': Raspberry Pi / aarch64 Linux (LiteRT).

The bundle and its running (emulator or ssh) live in pipeline.linux_litert, which the host and
android adapters use too; this module only names the kind and what it does not do.
"""
from __future__ import annotations

from ..linux_litert import KERNELS, bench, package, parse_device, run_model
from .base import not_yet

KIND = "linux-arm"
ISSUE = 5
__all__ = ["KERNELS", "KIND", "bench", "flash", "package", "parse_device", "run_model"]


def flash(target, firmware, device, options):
    not_yet("`pipeline flash`", KIND, 6)
