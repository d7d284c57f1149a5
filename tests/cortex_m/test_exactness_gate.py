"""Exactness gates the build: firmware whose output differs from TFLite Micro on any input fails
the benchmark with one line (the input, the first differing operator from the firmware's own
per-operator trace, the bytes that differ) instead of reporting a fraction."""
from __future__ import annotations

import re

import pytest

from pipeline.aot.device import bench
from pipeline.aot.compile import quant
from pipeline.aot.compile.compiler import compile_model
from pipeline.errors import PipelineError

pytestmark = [pytest.mark.slow, pytest.mark.emulator]


def _off_by_one_rounding(m, shift, out_offset):
    """quant.fast_requant with its rounding constant h one output step high: every fast-path
    requantization then rounds to the next value up, as a kernel with a wrong nudge would."""
    rec = real_fast_requant(m, shift, out_offset)
    return None if rec is None else (rec[0], rec[1] + (1 << rec[2]), rec[2])


real_fast_requant = quant.fast_requant


def test_exact_firmware_reports_full_agreement(zoo_models, targets, tmp_path):
    r = bench.benchmark(zoo_models["conv_stack"], targets.get("cortex-m4"), tmp_path)
    assert r["bit_exact_with_tflm"] == 1.0


def test_a_perturbed_kernel_fails_the_benchmark_in_one_line(zoo_models, targets, tmp_path, monkeypatch):
    data = zoo_models["conv_stack"].read_bytes()
    assert any(k.name.endswith("_rq") for s in compile_model(data).steps for k in s.consts)  # the fast path is used
    monkeypatch.setattr(quant, "fast_requant", _off_by_one_rounding)
    with pytest.raises(PipelineError) as err:
        bench.benchmark(data, targets.get("cortex-m4"), tmp_path)
    msg = str(err.value)
    assert "differs from TFLite Micro on test input 0" in msg and "output bytes" in msg and "\n" not in msg
    # operator 0 is conv_stack's first CONV_2D: the perturbed rounding shows there, not only at the end
    assert re.search(r"first differing operator 0 \(CONV_2D\): [1-9]\d* of \d+ bytes", msg), msg


def test_the_trace_checksums_every_operator_and_matches_the_host_interpreter(zoo_models, targets, tmp_path):
    """The diagnostic itself: on exact firmware every traced operator's checksum is tflite_micro's."""
    import zlib

    import numpy as np

    from pipeline.aot.device.divergence import first_differing_operator
    from pipeline.aot.tflm.reference import random_inputs, tflm_run
    from pipeline.aot.device.runner import open_device
    from pipeline.aot.device.firmware import build_firmware
    data = zoo_models["residual"].read_bytes()
    compiled = compile_model(data)
    target = targets.get("cortex-m4")
    xs = random_inputs(compiled.model, 3)
    with open_device(build_firmware(compiled, target, tmp_path), target, "qemu", 60) as dev:
        for k, x in enumerate(xs):
            dev.load_input(k, np.ascontiguousarray(x).tobytes())
        seen = dev.trace()
        last = compiled.steps[-1]
        tail = dev.trace_output(last.index)
        verdict = first_differing_operator(compiled, data, xs, dev)
    _, tensors = tflm_run(compiled.model, data, xs, all_tensors=True)
    assert set(seen) == {s.index for s in compiled.steps}
    for s in compiled.steps:
        want = np.ascontiguousarray(tensors[s.outputs[0]]).astype(compiled.model.tensors[s.outputs[0]].dtype).tobytes()
        assert seen[s.index] == (len(want), zlib.crc32(want)), s
    assert tail == np.ascontiguousarray(tensors[last.outputs[0]]).astype(np.int8).tobytes()
    assert verdict.startswith("every operator's output matches")
