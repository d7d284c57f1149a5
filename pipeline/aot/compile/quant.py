"""Build-time quantization arithmetic, mirroring TFLite's reference Prepare() steps.

Scales are float32 in the flatbuffer; the reference widens them to double before dividing,
so we do the same (np.float32 -> Python float) to get identical multipliers.
"""
from __future__ import annotations

import math

import numpy as np


def tf_round(x: float) -> int:
    """std::round: half away from zero (Python's round() is half-to-even)."""
    a = abs(x)
    f = math.floor(a)
    return int(f + (1 if a - f >= 0.5 else 0)) * (1 if x >= 0 else -1)


def quantize_multiplier(m: float) -> tuple[int, int]:
    """double -> (Q0.31 multiplier, power-of-two shift), like QuantizeMultiplier."""
    if m == 0.0:
        return 0, 0
    frac, shift = math.frexp(m)
    q = tf_round(frac * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        # The reference saturates: such a scale cannot be represented.
        return (1 << 31) - 1, 30
    return q, shift


def f64(x) -> float:
    return float(np.float32(x))


def activation_range(act: str, scale: float, zp: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8; f / scale is computed in float32."""
    def q(f: float) -> int:
        return zp + tf_round(float(np.float32(f) / np.float32(scale)))
    lo, hi = -128, 127
    if act == "RELU":
        lo = max(lo, q(0.0))
    elif act == "RELU6":
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif act == "RELU_N1_TO_1":
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    elif act != "NONE":
        raise ValueError(act)
    return lo, hi


def out_size(padding: str, size: int, k: int, stride: int, dil: int) -> int:
    eff = (k - 1) * dil + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size + stride - eff) // stride


def pad_before(size: int, k: int, stride: int, dil: int, out: int) -> int:
    """ComputePaddingHeightWidth: the odd pixel of SAME padding goes after, not before."""
    eff = (k - 1) * dil + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2


def calculate_input_radius(int_bits: int, left_shift: int, total_bits: int = 31) -> int:
    m = 1.0 * ((1 << int_bits) - 1) * (1 << (total_bits - int_bits)) / (1 << left_shift)
    return int(math.floor(m))


def mbqm(x: int, m: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier on int32 x, exactly as the reference (and aot_mbqm) computes
    it: wrapping left shift, SaturatingRoundingDoublingHighMul, RoundingDivideByPOT."""
    left, right = max(shift, 0), max(-shift, 0)
    xs = ((x << left) + (1 << 31)) % (1 << 32) - (1 << 31)
    v = (1 << 31) - 1 if xs == m == -(1 << 31) else (xs * m + (1 << 30)) >> 31
    mask = (1 << right) - 1
    return (v >> right) + (1 if (v & mask) > (mask >> 1) + (1 if v < 0 else 0) else 0)


# Largest right shift the one-multiply requantization takes: its high-word constant holds
# out_offset * 2^r, which must stay inside int32 (|out_offset| <= 128: 2^30 + 2^22 at r = 23).
FAST_RQ_MAX_RIGHT = 23
# The kernels double the accumulator (2x must fit int32), so the fast path needs |x| < 2^30;
# the compiler checks each layer's bound (|bias| + 255 * sum|w|, ~2^23 for K = 256) against it.
FAST_RQ_MAX_ACC = 1 << 30


def fast_requant(m: int, shift: int, out_offset: int) -> tuple[int, int, int] | None:
    """(m, h, r) such that, for every int32 x with |x| < FAST_RQ_MAX_ACC,
        mbqm(x, m, shift) + out_offset == (floor((2x * m + 2^31) / 2^32) + h - [x < 0]) >> r,
    r = -shift, h = 2^(r-1) + out_offset * 2^r: one SMMLAR (2x * m + 2^31 + h * 2^32, high word),
    an ADD of x >> 31 and one arithmetic shift, instead of the reference's two roundings.
    Why it is exact: with A = x*m + 2^30, v = floor(A / 2^31) and the round-half-away shift
    floor((v + 2^(r-1) - [v < 0]) / 2^r); floor((floor(y) + c) / n) == floor((y + c) / n) for
    integers c, n folds both roundings into floor((2A + 2^(31+r) - [x<0] * 2^32) / 2^(32+r)), and
    pulling the multiples of 2^32 out of the inner division leaves the SMMLAR form. [v < 0] may be
    replaced by [x < 0] because they differ only where v == 0, and there both give 0 for r >= 1
    (m >= 0 always). Checked exhaustively near ties and on random x (tests/aot/test_quant.py).
    None where it does not apply (left shifts, r == 0, huge r)."""
    r = -shift
    if m < 0 or r < 1 or r > FAST_RQ_MAX_RIGHT:
        return None
    return m, (1 << (r - 1)) + out_offset * (1 << r), r


def fast_requant_eval(x: int, m: int, h: int, r: int) -> int:
    """What the kernels compute with fast_requant's constants (for the tests)."""
    assert -FAST_RQ_MAX_ACC <= x < FAST_RQ_MAX_ACC
    hi = ((2 * x * m + (1 << 31)) >> 32) + h
    return (hi - (1 if x < 0 else 0)) >> r
