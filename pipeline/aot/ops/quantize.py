"""QUANTIZE (float -> int8, int8 -> int8 requantization) and DEQUANTIZE."""
from __future__ import annotations

from ..compile import quant as Q
from .spec import Kernel, Op
from ..compile.step import Ctx, Step, sq


def _quantize(c: Ctx) -> Step:
    x, out = c.t(0), c.act(c.out())
    so, zo = sq(out)
    if x.dtype == "float32":
        c.act(x, "float32")
        return Step(c.op.index, c.op.op, "quantize", [x.index], [out.index], dict(n=x.size, zp=zo, scale=so))
    c.act(x)
    si, zi = sq(x)
    m, s = Q.quantize_multiplier(si / so)
    return Step(c.op.index, c.op.op, "requantize", [x.index], [out.index],
                dict(n=x.size, in_zp=zi, out_zp=zo, mult=m, shift=s))


def _dequantize(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out(), "float32")
    s, z = sq(x)
    return Step(c.op.index, c.op.op, "dequantize", [x.index], [out.index], dict(n=x.size, zp=z, scale=s))


KERNELS = (
    Kernel("quantize", "aot_quantize_f32_s8", "aot_affine_t", "elementwise.c"),
    Kernel("requantize", "aot_requantize_s8", "aot_requant_t", "elementwise.c"),
    Kernel("dequantize", "aot_dequantize_s8_f32", "aot_affine_t", "elementwise.c"),
)
OPS = (
    Op("QUANTIZE", _quantize, ("quantize", "requantize")),
    Op("DEQUANTIZE", _dequantize, ("dequantize",)),
)
