"""Adapter for target kind 'linux-arm': Raspberry Pi / aarch64 Linux (LiteRT)."""
from __future__ import annotations

from .base import not_yet

KIND = "linux-arm"
ISSUE = 5


def package(ctx, inputs):
    not_yet("packaging", KIND, ISSUE)


def bench(ctx, inputs):
    not_yet("benchmarking", KIND, ISSUE)


def run_model(target, model, inputs, outputs, device, options):
    not_yet("`pipeline run`", KIND, ISSUE)


def flash(target, firmware, device, options):
    not_yet("`pipeline flash`", KIND, 6)
