"""Elementwise binary ops, comparisons, selection and reductions (firmware/kernels/binary.c and
reduce.c; SUM runs MEAN's kernel). Every parameter is computed here as TFLite Micro's Prepare
computes it (its float32 or double arithmetic included), so the kernels are bit-exact with it."""
from __future__ import annotations

import math

import numpy as np

from ..compile import quant as Q
from ...tflite import Tensor
from .arith import _broadcast, _operand
from .spec import Kernel, Op
from ..compile.step import Const, Ctx, Step, act_range, sq

# op codes of aot_binary_s8 / aot_compare_s8 (the enums of firmware/kernels/binary.h)
_BIN_CODES = {"SUB": 0, "SQUARED_DIFFERENCE": 1, "MAXIMUM": 2, "MINIMUM": 3, "PRELU": 4, "DIV": 5}
_CMP_CODES = {"EQUAL": 0, "NOT_EQUAL": 1, "GREATER": 2, "GREATER_EQUAL": 3, "LESS": 4, "LESS_EQUAL": 5}
_ARITH = ("in1_offset", "in2_offset", "out_offset", "left_shift", "in1_mult", "in1_shift", "in2_mult",
          "in2_shift", "out_mult", "out_shift")


def _smaller_than_one(c: Ctx, x: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: TFLM aborts (TFLITE_CHECK) on x >= 1."""
    if not 0 < x < 1:
        raise c.fail(f"{what} multiplier {x} is not in (0, 1)")
    return Q.quantize_multiplier(x)


def _rescale_two(c: Ctx, s1: float, s2: float, left: int, f32: bool) -> tuple:
    """ADD's scheme: both inputs to twice the larger scale. SUB computes it in float32
    (sub_common.cc: `const float twice_max_input_scale`, float divisions), SQUARED_DIFFERENCE in
    double, so the multipliers can differ in the last bit between the two."""
    if f32:
        tm = np.float32(2) * max(np.float32(s1), np.float32(s2))
        return tm, float(np.float32(s1) / tm), float(np.float32(s2) / tm)
    tm = 2.0 * max(s1, s2)
    return tm, s1 / tm, s2 / tm


def _sub(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    (s1, z1), (s2, z2), (so, zo) = sq(a), sq(b), sq(out)
    left = 20
    tm, r1, r2 = _rescale_two(c, s1, s2, left, f32=True)
    ro = float(tm / (np.float32(1 << left) * np.float32(so)))
    (m1, e1), (m2, e2) = _smaller_than_one(c, r1, "input 1"), _smaller_than_one(c, r2, "input 2")
    mo, eo = _smaller_than_one(c, ro, "output")
    lo, hi = act_range(c, out)
    return dict(in1_offset=-z1, in2_offset=-z2, out_offset=zo, left_shift=left, in1_mult=m1, in1_shift=e1,
                in2_mult=m2, in2_shift=e2, out_mult=mo, out_shift=eo, act_min=lo, act_max=hi)


def _sqdiff(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    (s1, z1), (s2, z2), (so, zo) = sq(a), sq(b), sq(out)
    left = 7  # int8: (255 << 7) differences squared stay below 2^31
    tm, r1, r2 = _rescale_two(c, s1, s2, left, f32=False)
    (m1, e1), (m2, e2) = _smaller_than_one(c, r1, "input 1"), _smaller_than_one(c, r2, "input 2")
    # (1 << 14) * scale is a float32 product in squared_difference.cc, exact (a power of two)
    mo, eo = Q.quantize_multiplier(tm * tm / Q.f64(np.float32(1 << 2 * left) * np.float32(so)))
    return dict(in1_offset=-z1, in2_offset=-z2, out_offset=zo, left_shift=left, in1_mult=m1, in1_shift=e1,
                in2_mult=m2, in2_shift=e2, out_mult=mo, out_shift=eo, act_min=-128, act_max=127)


def _raw(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    """MAXIMUM / MINIMUM: TFLM compares the raw int8 codes whatever the three quantizations are
    (maximum_minimum.cc has no rescaling); the converter gives them one scale and zero point."""
    return dict(act_min=-128, act_max=127)


def _prelu(c: Ctx, a: Tensor, alpha: Tensor, out: Tensor) -> dict:
    (s1, z1), (sa, za), (so, zo) = sq(a), sq(alpha), sq(out)
    if alpha.quantization.scale.size != 1:
        raise c.fail("per-channel quantized alpha (the kernel takes one alpha scale)")
    m1, e1 = Q.quantize_multiplier(s1 / so)           # x >= 0: x * s_in / s_out
    m2, e2 = Q.quantize_multiplier(s1 * sa / so)      # x < 0: x * alpha * s_in * s_alpha / s_out
    return dict(in1_offset=-z1, in2_offset=-za, out_offset=zo, in1_mult=m1, in1_shift=e1, in2_mult=m2,
                in2_shift=e2, act_min=-128, act_max=127)


def _div(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    """DIV (div.cc): one multiplier s1 / (s2 * s_out), its scale products in float32. The kernel's
    final shift is out_shift - recip_shift - headroom (headroom >= 23 for |dividend| <= 255), down to
    out_shift - 7 - 31 (a divisor >= 128, a dividend of -1): past 31 bits gemmlowp's rounding shift
    is undefined (it asserts exponent <= 31), the kernel returns the rounded quotient, 0. No zoo
    input reaches it (bin_compare: 200 seeds); every other shift is TFLM's."""
    (s1, z1), (s2, z2), (so, zo) = sq(a), sq(b), sq(out)
    m, e = Q.quantize_multiplier(float(np.float32(s1) / (np.float32(s2) * np.float32(so))))
    if e > 23:  # headroom >= 23 (|dividend| <= 255): the final shift stays a right shift
        raise c.fail(f"output shift {e} > 23: a left shift where TFLite Micro's rounding shift is undefined")
    lo, hi = act_range(c, out)
    return dict(in1_offset=-z1, in2_offset=-z2, out_offset=zo, out_mult=m, out_shift=e, act_min=lo, act_max=hi)


def _compare(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    """comparisons.cc: both inputs shifted left by 8 and multiplied by their own scale (always,
    even when the two quantizations are equal, so equal codes compare as TFLM's rounding says)."""
    (s1, z1), (s2, z2) = sq(a), sq(b)
    (m1, e1), (m2, e2) = _smaller_than_one(c, s1, "input 1"), _smaller_than_one(c, s2, "input 2")
    return dict(in1_offset=-z1, in2_offset=-z2, left_shift=8, in1_mult=m1, in1_shift=e1, in2_mult=m2,
                in2_shift=e2)


_PARAMS = {"SUB": _sub, "SQUARED_DIFFERENCE": _sqdiff, "MAXIMUM": _raw, "MINIMUM": _raw, "PRELU": _prelu,
           "DIV": _div}


def _two_operands(c: Ctx, kernel: str, codes: dict, arith) -> Step:
    consts: list[Const] = []
    (a, ca), (b, cb) = _operand(c, 0, consts), _operand(c, 1, consts)
    if ca and cb:
        raise c.fail("both operands are constants (the converter should have folded them)")
    out = c.act(c.out(), "bool" if kernel == "compare" else "int8")
    p = _broadcast(c, a, b, out)
    p.update(op=codes[c.op.op], **dict.fromkeys(_ARITH, 0), act_min=0, act_max=0)
    p.update(arith(c, a, b, out))
    ins = [t.index for t, k in ((a, ca), (b, cb)) if k is None]
    return Step(c.op.index, c.op.op, kernel, ins, [out.index], p, consts)


def _strides(c: Ctx, t: Tensor, so: list[int]) -> list[int]:
    s = [1] * (4 - len(t.shape)) + list(t.shape)
    if len(s) > 4 or any(d not in (1, o) for d, o in zip(s, so)):
        raise c.fail(f"shape {list(t.shape)} does not broadcast to {so}")
    st, acc = [0] * 4, 1
    for k in range(3, -1, -1):
        st[k] = 0 if s[k] == 1 and so[k] != 1 else acc
        acc *= s[k]
    return st


def _select(c: Ctx) -> Step:
    """SELECT_V2: the raw codes of x or y (select.cc copies them); the converter gives x, y and the
    output one quantization."""
    cond, x, y, out = c.t(0), c.t(1), c.t(2), c.act(c.out())
    if len(out.shape) > 4:
        raise c.fail(f"rank {len(out.shape)} > 4")
    so = [1] * (4 - len(out.shape)) + list(out.shape)
    consts, ins = [], []
    for k, (t, dtype, ctype) in enumerate(((cond, "bool", "uint8_t"), (x, "int8", "int8_t"), (y, "int8", "int8_t"))):
        if t.dtype != dtype:
            raise c.fail(f"input {k} '{t.name}' is {t.dtype}, expected {dtype}")
        if t.is_constant:
            consts.append(Const(c.cname(f"in{k}"), ctype, t.data.reshape(-1).astype(np.int64)))
        else:
            ins.append(t.index)
    if not ins:
        raise c.fail("all inputs are constants (the converter should have folded them)")
    p = dict(shape=so, sc=_strides(c, cond, so), sx=_strides(c, x, so), sy=_strides(c, y, so))
    return Step(c.op.index, c.op.op, "select", ins, [out.index], p, consts)


def _blocks(c: Ctx, x: Tensor, out: Tensor, axes_t: Tensor) -> tuple[int, int, int]:
    """[outer][reduce][inner] of x for one contiguous block of reduced axes (MEAN's scheme)."""
    rank = len(x.shape)
    axes = sorted({int(v) % rank for v in c.const(axes_t, "int32").reshape(-1)}) if rank else []
    if not axes or axes != list(range(axes[0], axes[-1] + 1)):
        raise c.fail(f"reduction axes {axes} are not one contiguous block (the kernel has no strides)")
    outer, inner = math.prod(x.shape[:axes[0]]), math.prod(x.shape[axes[-1] + 1:])
    reduce = math.prod(x.shape[axes[0]:axes[-1] + 1])
    if outer * inner != out.size or reduce < 1:
        raise c.fail(f"output {list(out.shape)} does not follow from reducing {list(x.shape)} over {axes}")
    return outer, reduce, inner


def _reduce_minmax(c: Ctx, is_min: bool) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    outer, reduce, inner = _blocks(c, x, out, c.t(1))
    if Q.f64(x.quantization.scale[0]) != Q.f64(out.quantization.scale[0]):
        raise c.fail("input and output scales differ (TFLM's EvalMinMaxHelper requires them equal)")
    # the raw codes, whatever the zero points (TFLM does not rescale)
    p = dict(outer=outer, reduce=reduce, inner=inner, is_min=int(is_min))
    return Step(c.op.index, c.op.op, "reduce", [x.index], [out.index], p)


def _sum(c: Ctx) -> Step:
    """SUM: TFLM's QuantizedMeanOrSum with compute_sum: (sum - n * zp_in) times s_in / s_out,
    the arithmetic of MEAN's kernel without the 1/n folded into the multiplier."""
    x, out = c.act(c.t(0)), c.act(c.out())
    outer, reduce, inner = _blocks(c, x, out, c.t(1))
    (s_in, z_in), (s_out, z_out) = sq(x), sq(out)
    if reduce * 255 >= 1 << 31:
        raise c.fail(f"{reduce} summed values can overflow the int32 accumulator")
    m, e = Q.quantize_multiplier(s_in / s_out)
    p = dict(outer=outer, reduce=reduce, inner=inner, in_zp=z_in, out_zp=z_out, mult=m, shift=e)
    return Step(c.op.index, c.op.op, "mean", [x.index], [out.index], p)


def _argminmax(c: Ctx, is_min: bool) -> Step:
    x, out = c.act(c.t(0)), c.out()
    axis_t = c.t(1)
    # arg_min_max.cc accepts only an int32 axis and an int32 output (int64 is a TFLM error)
    if axis_t.dtype != "int32" or out.dtype != "int32":
        raise c.fail(f"axis {axis_t.dtype} / output {out.dtype}: TFLite Micro runs int32 only")
    c.act(out, "int32")
    outer, reduce, inner = _blocks(c, x, out, axis_t)
    p = dict(outer=outer, reduce=reduce, inner=inner, is_min=int(is_min))
    return Step(c.op.index, c.op.op, "argminmax", [x.index], [out.index], p)


KERNELS = (
    Kernel("binary", "aot_binary_s8", "aot_bin_t", "binary.c", call="list", header="binary.h"),
    Kernel("compare", "aot_compare_s8", "aot_bin_t", "binary.c", call="list", header="binary.h"),
    Kernel("select", "aot_select_s8", "aot_select_t", "binary.c", call="list", header="binary.h"),
    Kernel("reduce", "aot_reduce_s8", "aot_reduce_t", "reduce.c", header="reduce.h"),
    Kernel("argminmax", "aot_argminmax_s8", "aot_reduce_t", "reduce.c", header="reduce.h"),
)
OPS = (
    *(Op(name, (lambda c, f=f: _two_operands(c, "binary", _BIN_CODES, f)), ("binary",))
      for name, f in _PARAMS.items()),
    # NOT_EQUAL (code 1) has the kernel but no entry: the TFLite converter keeps it float (it
    # dequantizes its inputs), so no int8 model can test it yet
    *(Op(name, lambda c: _two_operands(c, "compare", _CMP_CODES, _compare), ("compare",))
      for name in _CMP_CODES if name != "NOT_EQUAL"),
    Op("SELECT_V2", _select, ("select",)),
    Op("REDUCE_MAX", lambda c: _reduce_minmax(c, False), ("reduce",)),
    Op("REDUCE_MIN", lambda c: _reduce_minmax(c, True), ("reduce",)),
    Op("SUM", _sum, ("mean",)),
    Op("ARG_MAX", lambda c: _argminmax(c, False), ("argminmax",)),
    Op("ARG_MIN", lambda c: _argminmax(c, True), ("argminmax",)),
)
