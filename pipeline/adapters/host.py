"""Adapter for target kind 'host': this machine (LiteRT + TFLM host interpreter).

`run_model` runs the bundle's own runner.py code in-process (pipeline.bundle.runner_module), so the
host and the boards share one implementation of batching, dtype checks and kernel choice.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from .. import bundle
from ..atomic import write_json
from ..errors import DeviceError, PipelineError, allowed_list
from ..opsets import LITERT_OPS

KIND = "host"
RUNTIME = "LiteRT"
OPS = LITERT_OPS
VERIFY_REFERENCE = "int8_xnnpack"   # the host's default kernels are XNNPACK
ARENA_RAM = False
ISSUE = 5
KERNELS = ("reference", "xnnpack")


def package(ctx, inputs):
    """The same bundle a Pi gets: the host is one more Linux box that runs it."""
    from .. import linux_litert

    return linux_litert.package(ctx, inputs)


def bench(ctx, inputs):
    """Run the bundle's bench.py with this Python (LiteRT is in the venv): real wall-clock latency."""
    bundle_dir = inputs["package"].path("bundle")
    if ctx.options.get("device") not in (None, "local"):
        raise PipelineError(f"device '{ctx.options['device']}' is not usable for {ctx.target.id}; allowed: local")
    cfg = ctx.config.bench
    out = ctx.out_dir / "bench.json"
    kernels = ctx.options.get("kernels") or "xnnpack"  # the host's default LiteRT path
    args = [sys.executable, str(bundle_dir / "bench.py"), "--out", str(out), "--device-kind", "physical",
            "--transport", "local", "--device-name", ctx.target.name, "--warmup", str(cfg.warmup),
            "--runs", str(cfg.runs), "--inputs", str(cfg.inputs), "--threads", str(cfg.threads),
            "--kernels", kernels]
    with ctx.progress.status(f"benchmarking on {ctx.target.id}"):
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=cfg.timeout_s)
        except subprocess.TimeoutExpired:
            raise DeviceError(f"host: bench.py did not finish within {cfg.timeout_s:.0f} s") from None
    if proc.returncode != 0 or not out.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeviceError(f"host: bench.py failed (exit {proc.returncode}): {last}")
    report = json.loads(out.read_text())
    write_json(out, report)
    return ctx.artifact(meta=report)


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


flash = None   # this machine runs the model in-process; there is no firmware
