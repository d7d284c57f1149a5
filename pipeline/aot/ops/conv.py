"""CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: weights, per-channel requantization, packing flags."""
from __future__ import annotations

import numpy as np

from ..compile import quant as Q
from .spec import Kernel, Op
from ..compile.step import channel_multipliers, Const, Ctx, Step, acc_bound, act_range, has_rq, nhwc, rq_consts, sq


def _conv(c: Ctx, depthwise: bool) -> Step:
    x, w, out = c.act(c.t(0)), c.t(1), c.act(c.out())
    wd = c.const(w, "int8")
    b = c.opt_t(2)
    n, ih, iw, ic = nhwc(c, x)
    _, oh, ow, oc = nhwc(c, out)
    if depthwise:
        _, kh, kw, woc = nhwc(c, w)
        dm = c.op.options.get("depth_multiplier") or max(oc // max(ic, 1), 1)
        if woc != oc or ic * dm != oc:
            raise c.fail(f"depthwise filter {list(w.shape)} does not match {ic} input x {dm} multiplier channels")
    else:
        woc, kh, kw, wic = nhwc(c, w)
        dm = 1
        if wic != ic or woc != oc:
            raise c.fail(f"filter {list(w.shape)} does not match input channels {ic} / output {oc} (grouped conv)")
    o = c.op.options
    sh, sw, dh, dw = o["stride_h"], o["stride_w"], o.get("dilation_h", 1), o.get("dilation_w", 1)
    if min(sh, sw, dh, dw) < 1:
        raise c.fail(f"strides {sh}x{sw} / dilation {dh}x{dw} must be >= 1")
    if (Q.out_size(o["padding"], ih, kh, sh, dh), Q.out_size(o["padding"], iw, kw, sw, dw)) != (oh, ow):
        raise c.fail(f"output {oh}x{ow} does not follow from {o['padding']} padding")
    in_s, in_zp = sq(x)
    out_s, out_zp = sq(out)
    ms = channel_multipliers(c, w, oc, in_s, out_s)
    lo, hi = act_range(c, out)
    per_out = wd.reshape(-1, oc).T if depthwise else wd.reshape(oc, -1)
    consts = _weight_consts(c, wd, ms, b, out_zp, oc, per_out)
    if not depthwise:
        # sum of each filter: interior outputs compute dot(f, x) + in_offset * sum(f)
        consts.append(Const(c.cname("fsum"), "int32_t", wd.reshape(oc, -1).astype(np.int64).sum(axis=1)))
    params = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                  pad_h=Q.pad_before(ih, kh, sh, dh, oh), pad_w=Q.pad_before(iw, kw, sw, dw, ow),
                  depth_mult=dm, in_offset=-in_zp, out_offset=out_zp, act_min=lo, act_max=hi,
                  bias=b is not None, rq=has_rq(consts))
    macs = n * oh * ow * oc * kh * kw * (1 if depthwise else ic)
    return Step(c.op.index, c.op.op, "dwconv" if depthwise else "conv", [x.index], [out.index],
                params, consts, macs)


def _weight_consts(c: Ctx, wd: np.ndarray, ms: list, b, out_zp: int, oc: int,
                   w_per_out: np.ndarray) -> list[Const]:
    """Weights, per-channel requantization multipliers/shifts, the optional int32 bias and, where
    every channel allows it, the one-multiply requantization constants (`opN_rq`, see rq_consts)."""
    consts = [Const(c.cname("w"), "int8_t", wd.reshape(-1)),
              Const(c.cname("mult"), "int32_t", np.array([m for m, _ in ms])),
              Const(c.cname("shift"), "int32_t", np.array([s for _, s in ms]))]
    if b is not None:
        bias = c.const(b, "int32").reshape(-1)
        if bias.size != oc:  # the kernels index bias[oc]: a short one would be read past its end
            raise c.fail(f"bias has {bias.size} values for {oc} output channels")
        consts.append(Const(c.cname("bias"), "int32_t", bias))
    # one record per output channel even for a per-tensor scale: the kernels step through them
    per_channel_ms = ms if len(ms) == oc else ms * oc
    rq = rq_consts(c.cname("rq"), per_channel_ms, out_zp,
                   acc_bound(w_per_out, bias if b is not None else None))
    if rq is not None:
        consts.append(rq)
    return consts


def _fc(c: Ctx) -> Step:
    x, w, out = c.act(c.t(0)), c.t(1), c.act(c.out())
    wd = c.const(w, "int8")
    if len(w.shape) != 2:
        raise c.fail(f"weights shape {list(w.shape)} is not 2-D")
    oc, depth = w.shape
    if x.size % depth:
        raise c.fail(f"input size {x.size} is not a multiple of the weights depth {depth}")
    batches = x.size // depth
    if out.size != batches * oc:
        raise c.fail(f"output size {out.size} != {batches} x {oc}")
    b = c.opt_t(2)
    in_s, in_zp = sq(x)
    out_s, out_zp = sq(out)
    wq = w.quantization
    scales = [Q.f64(s) for s in wq.scale]
    per_channel = len(scales) > 1
    if per_channel and len(scales) != oc:
        raise c.fail(f"{len(scales)} weight scales for {oc} outputs")
    w_zp = int(wq.zero_point[0]) if wq.zero_point.size else 0
    ms = [Q.quantize_multiplier(in_s * fs / out_s) for fs in scales]
    lo, hi = act_range(c, out)
    consts = _weight_consts(c, wd, ms, b, out_zp, oc, wd.reshape(oc, -1).astype(np.int64) - w_zp)
    consts.append(Const(c.cname("fsum"), "int32_t", wd.reshape(oc, -1).astype(np.int64).sum(axis=1)))
    params = dict(batches=batches, depth=depth, out_c=oc, per_channel=int(per_channel), in_offset=-in_zp,
                  filter_offset=-w_zp, out_offset=out_zp, act_min=lo, act_max=hi, bias=b is not None,
                  rq=has_rq(consts))
    return Step(c.op.index, c.op.op, "fc", [x.index], [out.index], params, consts, batches * oc * depth)


KERNELS = (
    Kernel("conv", "aot_conv_s8", "aot_conv_t", "conv.c", fast="DSP, Helium", const_fields=False),
    Kernel("dwconv", "aot_dwconv_s8", "aot_conv_t", "dwconv.c", fast="DSP, Helium", const_fields=False),
    Kernel("fc", "aot_fc_s8", "aot_fc_t", "fc.c", fast="DSP, Helium", const_fields=False),
    # a residual block fused by pipeline/aot/compile/fuse.py (the convolutions and ADD above, row by row)
    Kernel("resblock", "aot_resblock_s8", "aot_resblock_t", "residual.c", call="custom", header="aot_residual.h"),
)
OPS = (
    Op("CONV_2D", lambda c: _conv(c, False), ("conv",)),
    Op("DEPTHWISE_CONV_2D", lambda c: _conv(c, True), ("dwconv",)),
    Op("FULLY_CONNECTED", _fc, ("fc",)),
)
