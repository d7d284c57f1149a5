"""Adapter for target kind 'host': this machine (LiteRT + TFLM host interpreter)."""
from __future__ import annotations

from .base import not_yet

KIND = "host"
ISSUE = 5


def package(ctx, inputs):
    not_yet("packaging", KIND, ISSUE)


def bench(ctx, inputs):
    not_yet("benchmarking", KIND, ISSUE)


def run_model(target, model, inputs, outputs, device, options):
    not_yet("`pipeline run`", KIND, ISSUE)


def flash(target, firmware, device, options):
    not_yet("`pipeline flash`", KIND, 6)
