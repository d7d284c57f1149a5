"""Exactness gates the build: firmware whose output differs from TFLite Micro on any input fails
the benchmark with one line (the input, the bytes that differ) instead of reporting a fraction."""
from __future__ import annotations

import pytest

from pipeline.aot import bench, quant
from pipeline.aot.compiler import compile_model
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
