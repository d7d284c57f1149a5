"""SOFTMAX and LOGISTIC: TFLM's fixed-point exp/sigmoid (firmware/kernels/activations.c)."""
from __future__ import annotations

import math

from ..compile import quant as Q
from .spec import Kernel, Op
from ..compile.step import Ctx, Step, check_prob_output, sq


def _softmax(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    check_prob_output(c, out)
    depth = x.shape[-1] if x.shape else 1
    beta = Q.f64(c.op.options.get("beta", 1.0))
    in_s, _ = sq(x)
    real = min(beta * in_s * (1 << (31 - 5)), (1 << 31) - 1.0)
    m, ls = Q.quantize_multiplier(real)
    diff_min = -Q.calculate_input_radius(5, ls)
    params = dict(outer=x.size // depth, depth=depth, in_mult=m, in_left_shift=ls, diff_min=diff_min)
    return Step(c.op.index, c.op.op, "softmax", [x.index], [out.index], params)


def _logistic(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    check_prob_output(c, out)
    in_s, in_zp = sq(x)
    frac, ls = math.frexp(in_s * float(1 << (31 - 4)))
    m = Q.tf_round(frac * (1 << 31))
    params = dict(n=x.size, in_zp=in_zp, radius=Q.calculate_input_radius(4, ls), mult=m, left_shift=ls)
    return Step(c.op.index, c.op.op, "logistic", [x.index], [out.index], params)


KERNELS = (
    Kernel("softmax", "aot_softmax_s8", "aot_softmax_t", "activations.c"),
    Kernel("logistic", "aot_logistic_s8", "aot_logistic_t", "activations.c"),
)
OPS = (
    Op("SOFTMAX", _softmax, ("softmax",)),
    Op("LOGISTIC", _logistic, ("logistic",)),
)
