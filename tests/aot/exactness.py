"""Shared checks of the AOT engine's output against tflite_micro (the reference interpreter), on the
host build and on a QEMU Cortex-M board, and the compiled variant without the one-multiply
requantization that the exactness suites also run."""
import shutil

import numpy as np
import pytest

from pipeline.aot.compile.codegen import render
from pipeline.aot.compile.compiler import Compiled, _pack
from pipeline.aot.compile.host import HostModel, build_host_lib
from pipeline.aot.tflm.reference import random_inputs, tflm_run

needs_qemu = pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm")),
                                reason="needs arm-none-eabi-gcc and qemu-system-arm")


def host_mismatch(c: Compiled, data: bytes, build_dir, seeds=range(4)):
    """The first (seed, operator index) whose traced output differs from tflite_micro's, (seed,
    "output") for a model output, or None: the host build (portable kernels, packed weights)."""
    host = HostModel(c, build_host_lib(c, build_dir))
    for seed in seeds:
        xs = random_inputs(c.model, seed)
        outs, traced = host.run(xs, trace=True)
        ref, tensors = tflm_run(c.model, data, xs, all_tensors=True)
        for s in c.steps:
            t = c.model.tensors[s.outputs[0]]
            if not np.array_equal(np.frombuffer(traced[s.index], dtype=t.dtype), tensors[s.outputs[0]].reshape(-1)):
                return seed, s.index
        for got, want in zip(outs, ref):
            if got.tobytes() != np.asarray(want, dtype=got.dtype).tobytes():
                return seed, "output"
    return None


def device_mismatch(c: Compiled, data: bytes, target: str, work_dir, seeds=range(3)):
    """The first (seed, output index) where the firmware on the QEMU board of `target` differs from
    tflite_micro, or None."""
    from pipeline.aot.device.runner import run_on_device
    from pipeline.targets import load_all
    samples = [random_inputs(c.model, s) for s in seeds]
    run = run_on_device(c, load_all().get(target), samples, work_dir)
    for seed, xs, got in zip(seeds, samples, run.outputs):
        for i, (g, w) in enumerate(zip(got, tflm_run(c.model, data, xs))):
            if g.tobytes() != np.asarray(w, dtype=g.dtype).tobytes():
                return seed, i
    return None


def general_requantization(c: Compiled) -> Compiled:
    """The same model with the one-multiply requantization (and ADD's tables) removed, through the
    parts of fused steps: what the compiler emits when a channel's multiplier is >= 0.5 or needs a
    left shift (quant.fast_requant returns None), which the random models never produce on their own.
    Packed again without the one-multiply constants, so no plane depthwise and no GEMM stream."""
    ops = [p for s in c.steps for p in (s.parts or [s])]
    for s in ops:
        s.consts = [k for k in s.consts if not k.name.endswith(("_rq", "_ta", "_tb", "_wp", "_acc0"))]
        for key in ("tables", "wpack", "dw_plane", "wstream"):
            s.params.pop(key, None)
        if "rq" in s.params:
            s.params["rq"] = False
    _pack(ops)
    return Compiled(c.model, c.steps, c.memory, render(c.model, c.steps, c.memory))
