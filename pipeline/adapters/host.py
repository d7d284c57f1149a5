"""Adapter for target kind 'host': this machine (LiteRT + TFLM host interpreter).

`run_model` runs the bundle's own runner.py code in-process (pipeline.bundle.runner_module), so the
host and the boards share one implementation of batching, dtype checks and kernel choice.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .. import bundle
from ..errors import PipelineError, allowed_list
from .base import not_yet

KIND = "host"
ISSUE = 5
KERNELS = ("reference", "xnnpack")


def package(ctx, inputs):
    not_yet("packaging", KIND, ISSUE)


def bench(ctx, inputs):
    not_yet("benchmarking", KIND, ISSUE)


def run_model(target, model, inputs, outputs, device, options):
    options = dict(options or {})
    if device not in (None, "local"):
        raise PipelineError(f"device '{device}' is not usable for {target.id}; allowed: local")
    kernels = options.get("kernels", "reference")
    if kernels not in KERNELS:
        raise PipelineError(f"kernels '{kernels}' unknown; allowed: {allowed_list(KERNELS)}")
    model, inputs, outputs = Path(model), Path(inputs), Path(outputs)
    bundle.check_run_inputs(model, inputs, outputs)
    runner = bundle.runner_module()
    outputs.parent.mkdir(parents=True, exist_ok=True)
    args = argparse.Namespace(model=str(model), inputs=str(inputs), outputs=str(outputs), kernels=kernels,
                              threads=int(options.get("threads") or 1))
    try:
        runner.raw_run(args)
    except runner.UsageError as err:
        raise PipelineError(str(err)) from None
    except (RuntimeError, ValueError) as err:
        raise PipelineError(f"LiteRT failed on {model.name}: {err}") from None


def flash(target, firmware, device, options):
    not_yet("`pipeline flash`", KIND, 6)
