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
