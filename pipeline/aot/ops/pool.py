"""AVERAGE_POOL_2D, MAX_POOL_2D and MEAN."""
from __future__ import annotations

import math

from ..compile import quant as Q
from .spec import Kernel, Op
from ..compile.step import Ctx, Step, act_range, nhwc, sq


def _pool(c: Ctx, is_max: bool) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    n, ih, iw, ch = nhwc(c, x)
    _, oh, ow, _ = nhwc(c, out)
    o = c.op.options
    kh, kw, sh, sw = o["filter_h"], o["filter_w"], o["stride_h"], o["stride_w"]
    if min(kh, kw, sh, sw) < 1:
        raise c.fail(f"filter {kh}x{kw} / strides {sh}x{sw} must be >= 1")
    if (Q.out_size(o["padding"], ih, kh, sh, 1), Q.out_size(o["padding"], iw, kw, sw, 1)) != (oh, ow):
        raise c.fail(f"output {oh}x{ow} does not follow from {o['padding']} padding")
    if sq(x) != sq(out):
        raise c.fail("input and output quantization differ (the int8 kernel does not rescale)")
    ph, pw = Q.pad_before(ih, kh, sh, 1, oh), Q.pad_before(iw, kw, sw, 1, ow)
    lo, hi = act_range(c, out)
    params = dict(batches=n, in_h=ih, in_w=iw, c=ch, out_h=oh, out_w=ow, k_h=kh, k_w=kw, stride_h=sh,
                  stride_w=sw, pad_h=ph, pad_w=pw, act_min=lo, act_max=hi)
    return Step(c.op.index, c.op.op, "maxpool" if is_max else "avgpool", [x.index], [out.index], params)


def _mean(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    axes = sorted({int(a) % len(x.shape) for a in c.const(c.t(1), "int32").reshape(-1)}) if x.shape else []
    if not axes or axes != list(range(axes[0], axes[-1] + 1)):
        raise c.fail(f"reduction axes {axes} are not one contiguous block")
    outer = math.prod(x.shape[:axes[0]])
    reduce = math.prod(x.shape[axes[0]:axes[-1] + 1])
    inner = math.prod(x.shape[axes[-1] + 1:])
    in_s, in_zp = sq(x)
    out_s, out_zp = sq(out)
    m1, s1 = Q.quantize_multiplier(in_s / out_s)
    # TFLM folds 1/n into the multiplier: k = floor(log2 n) bits of it into the shift.
    k = min(reduce.bit_length() - 1, 32, 31 + s1)
    params = dict(outer=outer, reduce=reduce, inner=inner, in_zp=in_zp, out_zp=out_zp,
                  mult=(m1 << k) // reduce, shift=s1 - k)
    return Step(c.op.index, c.op.op, "mean", [x.index], [out.index], params)


KERNELS = (
    Kernel("avgpool", "aot_avgpool_s8", "aot_pool_t", "pool.c"),
    Kernel("maxpool", "aot_maxpool_s8", "aot_pool_t", "pool.c"),
    Kernel("mean", "aot_mean_s8", "aot_mean_t", "shape.c"),
)
OPS = (
    Op("AVERAGE_POOL_2D", lambda c: _pool(c, False), ("avgpool",)),
    Op("MAX_POOL_2D", lambda c: _pool(c, True), ("maxpool",)),
    Op("MEAN", _mean, ("mean",)),
)
