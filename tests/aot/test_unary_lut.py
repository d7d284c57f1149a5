"""The table kernel (firmware/kernels/lut.c) on one-operator models built here (quantizations the
converter would not choose: input zero point 3, output -5), RSQRT's inputs that TFLite Micro
refuses, and int8 ops TFLite Micro's kernels do not run (EXP, NEG: float32 only), which the engine
must refuse."""
import numpy as np
import pytest

from pipeline.aot.compile.compiler import compile_model
from pipeline.aot.ops.lut_table import one_op_model
from pipeline.errors import PipelineError
from pipeline.tflite import BUILTIN_OPS, Operator, Quantization, Tensor

from .exactness import host_mismatch


def _model(op: str, shape=(1, 5, 70), x_q=(0.05, 3), y_q=(0.04, -5), options=None, out="int8") -> bytes:
    q = lambda s, z: Quantization(np.array([s], np.float32), np.array([z]), 0)  # noqa: E731
    x = Tensor(0, "x", shape, "int8", 0, None, q(*x_q))
    y = Tensor(1, "y", shape, out, 0, None, q(*y_q) if out == "int8" else None)
    return one_op_model(Operator(0, op, BUILTIN_OPS.index(op), 1, (0,), (1,)), options or {}, x, y, pad=4096)


def _table(data: bytes) -> np.ndarray:
    (step,) = compile_model(data).steps
    return np.asarray(step.consts[0].values, dtype=np.int64)


@pytest.mark.parametrize("op", ["ELU", "HARD_SWISH", "TANH"])
def test_hand_built_model_is_bit_exact_on_the_host(op, host_build_dir):
    data = _model(op)
    c = compile_model(data)
    assert [s.kernel for s in c.steps] == ["lut"]
    assert host_mismatch(c, data, host_build_dir) is None


def test_small_tensors_run_the_codes_in_several_batches():
    """3 elements: 86 batches of 3 codes; the table must equal the one from a large tensor."""
    assert np.array_equal(_table(_model("ELU", shape=(3,))), _table(_model("ELU", shape=(1, 300))))


def test_rsqrt_codes_tflm_refuses_take_the_nearest_accepted_one():
    """Inputs below the zero point 3 are negative: TFLM fails the inference there."""
    t = _table(_model("RSQRT"))
    assert (t[:128 + 3] == t[128 + 3]).all() and t[128 + 3] == 127
    assert t[-1] < t[128 + 10] < 127        # decreasing where TFLM accepts the input


@pytest.mark.parametrize("op, why", [("EXP", "float or other non-int8"), ("NEG", "float or other non-int8")])
def test_int8_ops_tflm_runs_only_on_float_are_refused(op, why):
    with pytest.raises(PipelineError, match=rf"operator 0 \({op}\) is not supported .*{why}"):
        compile_model(_model(op))


def test_relu6_does_not_rescale_but_relu_does():
    """TFLM's int8 RELU6 clamps the input code to [zero point, code of 6.0] in the INPUT's
    quantization and ignores the output's (the TFLite spec would rescale); its RELU rescales. The
    zoo model unary_activations shows it: operator 4 (RELU6 after a CONCATENATION) has input
    0.078 / -10 and output 0.0235 / -128, and TFLM's output codes are clamp(x, -10, 67)."""
    codes = np.arange(-128, 128)
    x_q, y_q = (0.05, 3), (0.02, -100)
    assert np.array_equal(_table(_model("RELU6", x_q=x_q, y_q=y_q)), np.clip(codes, 3, 3 + round(6 / 0.05)))
    relu = _table(_model("RELU", x_q=x_q, y_q=y_q))
    assert relu[0] == -100 and relu[128 + 3 + 20] == round(20 * 0.05 / 0.02) - 100


@pytest.mark.parametrize("out", ["int16", "int32", "float32"])
def test_cast_is_bit_exact_on_the_host(out, host_build_dir):
    """TFLM casts the raw code (-128 -> -128.0), not the dequantized value."""
    data = _model("CAST", out=out)
    c = compile_model(data)
    assert [s.kernel for s in c.steps] == ["lut_wide"]
    bits = np.asarray(c.steps[0].consts[0].values, dtype=np.int32)
    want = np.arange(-128, 128).astype(out)
    assert np.array_equal(bits.view(np.float32) if out == "float32" else bits, want)
    assert host_mismatch(c, data, host_build_dir) is None


def test_cast_to_int8_is_refused():
    with pytest.raises(PipelineError, match=r"operator 0 \(CAST\) .*to int8"):
        compile_model(_model("CAST", out="int8"))


def test_a_wrong_table_entry_is_caught(host_build_dir):
    """The comparison can fail: the entry of one code the input holds, off by one."""
    from dataclasses import replace

    from pipeline.aot.compile.codegen import render
    from pipeline.aot.tflm.reference import random_inputs

    data = _model("TANH", shape=(1, 256))
    c = compile_model(data)
    k = int(random_inputs(c.model, 0)[0].reshape(-1)[0]) + 128
    table = np.array(c.steps[0].consts[0].values, dtype=np.int64)
    table[k] += 1 if table[k] < 127 else -1
    c.steps[0].consts[0].values = table
    bad = replace(c, sources=render(c.model, c.steps, c.memory))
    assert host_mismatch(bad, data, host_build_dir / "bad", seeds=range(1)) == (0, 0)
