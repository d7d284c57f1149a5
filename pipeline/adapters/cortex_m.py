"""Adapter for target kind 'cortex-m': Cortex-M microcontrollers (AOT engine / TFLM firmware)."""
from __future__ import annotations

from .base import not_yet

KIND = "cortex-m"
ISSUE = 6


def package(ctx, inputs):
    not_yet("packaging", KIND, ISSUE)


def bench(ctx, inputs):
    not_yet("benchmarking", KIND, ISSUE)


def run_model(target, model, inputs, outputs, device, options):
    not_yet("`pipeline run`", KIND, ISSUE)


def flash(target, firmware, device, options):
    not_yet("`pipeline flash`", KIND, 6)
