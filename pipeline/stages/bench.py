"""Stage `bench`: run the package on the device (emulator by default) and measure it."""
from __future__ import annotations

from ..adapters import ADAPTERS
from .base import Artifact, Context

NAME = "bench"
INPUTS = ("data", "convert", "package")
CONFIG_SECTIONS = ("bench",)
TARGET_FIELDS = ("id", "kind", "arch", "core", "clock_mhz", "threads", "emulator", "board", "default_device", "timing")
# Where and how it ran is part of what was measured: a different device is a different result.
OPTION_KEYS = ("device", "kernels", "threads", "warmup", "runs", "benchmark_model", "engine", "tflm_src", "tflm_kernels")


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    return ADAPTERS.get(ctx.target.kind).bench(ctx, inputs)
