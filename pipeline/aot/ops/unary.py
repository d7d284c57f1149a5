"""Elementwise int8 -> int8 ops whose output is a function of the input code alone (activations, ABS,
RSQRT): one 256-byte table per operator (firmware/kernels/lut.c), the table computed at build
time by TFLite Micro's own kernel (lut_table.py), so every op here is bit-exact by construction,
including where TFLM differs from the TFLite spec: its int8 RELU6 clamps the input code to [input
zero point, code of 6.0] and does not rescale to the output's quantization (zoo model
unary_activations, operator 4: RELU6 after a CONCATENATION, input 0.078 / -10, output 0.0235 / -128;
tests/aot/test_unary_lut.py), while its RELU does rescale."""
from __future__ import annotations

import numpy as np

from ..compile.step import Const, Ctx, Step
from .lut_table import tflm_table
from .spec import Kernel, Op


def _per_tensor(c: Ctx, t) -> None:
    if t.quantization.scale.size != 1:
        raise c.fail(f"tensor '{t.name}' is quantized per channel ({t.quantization.scale.size} scales)")


def _lut(c: Ctx) -> Step:
    if len(c.op.inputs) != 1:
        raise c.fail(f"{len(c.op.inputs)} inputs, expected 1")
    x, out = c.act(c.t(0)), c.act(c.out())
    if tuple(x.shape) != tuple(out.shape):
        raise c.fail(f"output shape {list(out.shape)} differs from input shape {list(x.shape)}")
    _per_tensor(c, x)
    _per_tensor(c, out)
    table = tflm_table(c, x, out)
    return Step(c.op.index, c.op.op, "lut", [x.index], [out.index], dict(n=x.size),
                consts=[Const(c.cname("table"), "int8_t", table)])


# CAST's output types and their element bytes (aot_lut_s8_wide); TFLM casts the raw int8 code.
_CAST_BYTES = {"int16": 2, "int32": 4, "float32": 4}


def _cast(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.out()
    if out.dtype not in _CAST_BYTES:
        raise c.fail(f"CAST from int8 to {out.dtype} (the kernel writes {', '.join(_CAST_BYTES)})")
    out = c.act(out, out.dtype)
    if tuple(x.shape) != tuple(out.shape):
        raise c.fail(f"output shape {list(out.shape)} differs from input shape {list(x.shape)}")
    table = tflm_table(c, x, out)
    bits = table.view(np.int32) if out.dtype == "float32" else table.astype(np.int32)
    return Step(c.op.index, c.op.op, "lut_wide", [x.index], [out.index],
                dict(n=x.size, out_bytes=_CAST_BYTES[out.dtype]),
                consts=[Const(c.cname("table"), "int32_t", bits.astype(np.int64))])


def _neg_f32(c: Ctx) -> Step:
    """NEG on float32 only (TFLM has no int8 NEG): what remains of LayerNormalization in an int8
    model (the transformer encoder of tests/aot_arch_zoo.py)."""
    if c.t(0).dtype != "float32":
        raise c.fail(f"{c.t(0).dtype} NEG: TFLite Micro runs NEG on float or other non-int8 tensors only")
    x, out = c.act(c.t(0), "float32"), c.act(c.out(), "float32")
    if x.size != out.size:
        raise c.fail(f"input has {x.size} elements, output {out.size}")
    return Step(c.op.index, c.op.op, "neg_f32", [x.index], [out.index], dict(n=x.size))


KERNELS = (
    Kernel("neg_f32", "aot_neg_f32", "aot_neg_f32_t", "neg_f32.c", inplace=True, header="neg_f32.h"),
    Kernel("lut", "aot_lut_s8", "aot_lut_t", "lut.c", inplace=True, header="lut.h"),
    Kernel("lut_wide", "aot_lut_s8_wide", "aot_lut_wide_t", "lut.c", header="lut.h"),
)

# By how often ordinary models use them: standalone ReLU/ReLU6 (after a concatenation or an add
# the converter cannot fuse), HARD_SWISH (MobileNetV3), LEAKY_RELU (detection heads, GANs), TANH
# (GRU/LSTM gates written as layers), then ELU, RSQRT (normalisations), ABS. Not EXP, nor int8 NEG:
# TFLM's kernels for them are float32 only (pipeline/aot/ops/tflm.py); NEG runs on float32 here.
OPS = tuple(Op(name, _lut, ("lut",)) for name in (
    "RELU", "RELU6", "HARD_SWISH", "LEAKY_RELU", "TANH", "ELU", "RSQRT", "ABS")) + (
    Op("CAST", _cast, ("lut_wide",)), Op("NEG", _neg_f32, ("neg_f32",)))
