"""Ops with weights or state beyond a GEMM call: TRANSPOSE_CONV, BATCH_MATMUL, RESIZE_BILINEAR, L2_NORMALIZATION, LOG_SOFTMAX, SVDF, LSTM."""
from __future__ import annotations

import math

import numpy as np

from ..compile import quant as Q
from ..compile.step import channel_multipliers, Const, Ctx, Step, act_range, nhwc, sq
from .spec import Kernel, Op


def _transpose_conv(c: Ctx) -> Step:
    """TFLM's int8 TRANSPOSE_CONV (firmware/kernels/transpose_conv.c). Inputs: output shape, filter
    [out_c, k_h, k_w, in_c], input, optional int32 bias; no dilation (TFLM has none for it)."""
    w, x, out = c.t(1), c.act(c.t(2)), c.act(c.out())
    wd = c.const(w, "int8")
    n, ih, iw, ic = nhwc(c, x)
    on, oh, ow, oc = nhwc(c, out)
    woc, kh, kw, wic = nhwc(c, w)
    if (wic, woc, on) != (ic, oc, n):
        raise c.fail(f"filter {list(w.shape)} does not match input {list(x.shape)} / output {list(out.shape)}")
    o = c.op.options
    # The converter fuses Conv2DTranspose(activation="relu"/"relu6") into the op; TFLM's int8 kernel
    # (the tflite_micro wheel's version) may or may not clamp to it. Where the clamp is a no-op on
    # the int8 range (the usual case: the output's range was calibrated after the activation, so RELU
    # gives [-128, 127] with zero point -128) both readings agree; otherwise the op is refused.
    if act_range(c, out) != (-128, 127):
        raise c.fail(f"fused activation {o['fused_activation']} narrows the int8 range "
                     f"(TFLM's int8 kernel does not apply it in every version)")
    sh, sw = o["stride_h"], o["stride_w"]
    if min(sh, sw) < 1:
        raise c.fail(f"strides {sh}x{sw} must be >= 1")
    in_s, in_zp = sq(x)
    out_s, out_zp = sq(out)
    ms = channel_multipliers(c, w, oc, in_s, out_s)
    consts = [Const(c.cname("w"), "int8_t", wd.reshape(-1)),
              Const(c.cname("mult"), "int32_t", np.array([m for m, _ in ms])),
              Const(c.cname("shift"), "int32_t", np.array([s for _, s in ms]))]
    b = c.opt_t(3)
    if b is not None:
        bias = c.const(b, "int32").reshape(-1)
        if bias.size != oc:
            raise c.fail(f"bias has {bias.size} values for {oc} output channels")
        consts.append(Const(c.cname("bias"), "int32_t", bias))
    # TFLM's padding: ComputePaddingHeightWidth with the OUTPUT size in the input's role
    pad_h = Q.pad_before(oh, kh, sh, 1, Q.out_size(o["padding"], oh, kh, sh, 1))
    pad_w = Q.pad_before(ow, kw, sw, 1, Q.out_size(o["padding"], ow, kw, sw, 1))
    params = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, pad_h=pad_h, pad_w=pad_w, in_offset=-in_zp, out_offset=out_zp,
                  act_min=-128, act_max=127)
    return Step(c.op.index, c.op.op, "tconv", [x.index], [out.index], params, consts, n * ih * iw * ic * kh * kw * oc)


def _batch_strides(dims: list[int], matrix: int) -> list[int]:
    """Element stride of each of the three batch dims, 0 where the dim is 1 (it broadcasts)."""
    return [0 if d == 1 else math.prod(dims[k + 1:]) * matrix for k, d in enumerate(dims)]


def _batch_matmul(c: Ctx) -> Step:
    """TFLM's int8 BATCH_MATMUL (firmware/kernels/batch_matmul.c): ranks 2..5, batch dims broadcast,
    adj_x / adj_y; the right-hand side an activation (attention's Q.K^T, P.V) or a constant."""
    lhs, rhs, out = c.act(c.t(0)), c.t(1), c.act(c.out())
    rhs_const = rhs.is_constant
    if not rhs_const:
        c.act(rhs)
    elif rhs.dtype != "int8" or rhs.quantization is None or rhs.quantization.scale.size != 1:
        raise c.fail("constant right-hand side must be per-tensor int8")
    if not (2 <= len(lhs.shape) <= 5 and 2 <= len(rhs.shape) <= 5):
        raise c.fail(f"ranks {len(lhs.shape)} / {len(rhs.shape)} (TFLM supports 2..5)")
    o = c.op.options
    adj_x, adj_y = bool(o.get("adj_x")), bool(o.get("adj_y"))
    ls, rs = [1] * (5 - len(lhs.shape)) + list(lhs.shape), [1] * (5 - len(rhs.shape)) + list(rhs.shape)
    rows, depth = (ls[4], ls[3]) if adj_x else (ls[3], ls[4])
    r_depth, cols = (rs[4], rs[3]) if adj_y else (rs[3], rs[4])
    if r_depth != depth:
        raise c.fail(f"inner dims {depth} / {r_depth} differ")
    if any(a != b and 1 not in (a, b) for a, b in zip(ls[:3], rs[:3])):
        raise c.fail(f"batch dims {ls[:3]} / {rs[:3]} do not broadcast")
    batch = [max(a, b) for a, b in zip(ls[:3], rs[:3])]
    if list(out.shape[-2:]) != [rows, cols] or out.size != math.prod(batch) * rows * cols:
        raise c.fail(f"output {list(out.shape)} is not {batch} x {rows} x {cols}")
    if depth > 33000:  # 255 * 255 * depth must stay below 2^31: the int32 accumulator
        raise c.fail(f"depth {depth} can overflow the int32 accumulator")
    (l_s, l_zp), (r_s, r_zp), (o_s, o_zp) = sq(lhs), sq(rhs), sq(out)
    m, sh = Q.quantize_multiplier(l_s * r_s / o_s)
    params = dict(batch=batch, lhs_b=_batch_strides(ls[:3], rows * depth), rhs_b=_batch_strides(rs[:3], depth * cols),
                  rows=rows, cols=cols, depth=depth,
                  lhs_si=1 if adj_x else depth, lhs_sk=rows if adj_x else 1,
                  rhs_sk=1 if adj_y else cols, rhs_sj=depth if adj_y else 1,
                  lhs_offset=-l_zp, rhs_offset=-r_zp, out_offset=o_zp, mult=m, shift=sh)
    macs = math.prod(batch) * rows * cols * depth
    if rhs_const:
        consts = [Const(c.cname("rhs"), "int8_t", c.const(rhs, "int8").reshape(-1))]
        return Step(c.op.index, c.op.op, "bmm_const", [lhs.index], [out.index], params, consts, macs)
    return Step(c.op.index, c.op.op, "bmm", [lhs.index, rhs.index], [out.index], params, [], macs)


def _resize_bilinear(c: Ctx) -> Step:
    """TFLM's int8 RESIZE_BILINEAR (ResizeBilinearInteger, firmware/kernels/resize_bilinear.c): the
    values are interpolated as stored, so input and output must share scale and zero point."""
    x, out = c.act(c.t(0)), c.act(c.out())
    n, ih, iw, ch = nhwc(c, x)
    on, oh, ow, och = nhwc(c, out)
    if (on, och) != (n, ch) or min(oh, ow, ih, iw) < 1:
        raise c.fail(f"output {list(out.shape)} does not resize input {list(x.shape)}")
    size = c.const(c.t(1), "int32").reshape(-1)
    if list(size) != [oh, ow]:
        raise c.fail(f"size {list(size)} differs from the output's {oh}x{ow}")
    if sq(x) != sq(out):
        raise c.fail("input and output quantization differ (the int8 kernel does not rescale)")
    o = c.op.options
    align, half = bool(o.get("align_corners")), bool(o.get("half_pixel_centers"))
    if align and half:
        raise c.fail("align_corners and half_pixel_centers are both set")

    def scale(i: int, out_n: int) -> int:   # TFLM's rounded ratio in 1/1024 units
        if align and out_n > 1:
            return ((1 << 10) * (i - 1) + (out_n - 1) // 2) // (out_n - 1)
        return ((1 << 10) * i + out_n // 2) // out_n
    params = dict(batches=n, in_h=ih, in_w=iw, c=ch, out_h=oh, out_w=ow, scale_h=scale(ih, oh),
                  scale_w=scale(iw, ow), half_pixel=int(half))
    return Step(c.op.index, c.op.op, "resize_bilinear", [x.index], [out.index], params)


def _log_softmax(c: Ctx) -> Step:
    """TFLM's int8 LOG_SOFTMAX (firmware/kernels/log_softmax.c): output scale 16/256 and zero point
    127 as TFLM requires; the multipliers as its PreprocessLogSoftmaxScalingExp (beta 1, Q5.26)."""
    x, out = c.act(c.t(0)), c.act(c.out())
    if list(x.shape) != list(out.shape) or not x.shape:
        raise c.fail(f"output {list(out.shape)} differs from input {list(x.shape)}")
    o_s, o_zp = sq(out)
    if o_zp != 127 or Q.f64(np.float32(16 / 256)) != o_s:
        raise c.fail(f"int8 output must have scale 16/256 and zero point 127, found {o_s} / {o_zp}")
    in_s, _ = sq(x)
    m, ls = Q.quantize_multiplier(min(in_s * (1 << (31 - 5)), (1 << 31) - 1.0))
    if not 1 <= ls <= 31:
        raise c.fail(f"input scale {in_s} gives left shift {ls} (TFLM's 1 << (31 - shift) needs 1..31)")
    # the inverse scaling: (1 << (31 - left_shift)) / multiplier, a multiplier below one
    rm, rs = Q.quantize_multiplier((1 << (31 - ls)) / m)
    depth = x.shape[-1]
    params = dict(outer=x.size // depth, depth=depth, in_mult=m, in_left_shift=ls, rev_mult=rm, rev_shift=rs,
                  diff_min=-Q.calculate_input_radius(5, ls))
    return Step(c.op.index, c.op.op, "log_softmax", [x.index], [out.index], params)


def _l2_norm(c: Ctx) -> Step:
    """TFLM's int8 L2_NORMALIZATION over the last axis (firmware/kernels/l2_norm.c): output scale
    1/128 and zero point 0 as TFLM requires; the fused activation is not applied by TFLM's int8
    kernel, so only NONE is accepted."""
    x, out = c.act(c.t(0)), c.act(c.out())
    if list(x.shape) != list(out.shape) or not x.shape:
        raise c.fail(f"output {list(out.shape)} differs from input {list(x.shape)}")
    if c.op.options.get("fused_activation", "NONE") != "NONE":
        raise c.fail(f"fused activation {c.op.options['fused_activation']}")
    o_s, o_zp = sq(out)
    if o_zp != 0 or o_s != 1 / 128:
        raise c.fail(f"int8 output must have scale 1/128 and zero point 0, found {o_s} / {o_zp}")
    depth = x.shape[-1]
    if depth > 33000:  # 255^2 per value: the int32 sum of squares
        raise c.fail(f"depth {depth} can overflow the int32 sum of squares")
    params = dict(outer=x.size // depth, depth=depth, in_zp=sq(x)[1])
    return Step(c.op.index, c.op.op, "l2norm", [x.index], [out.index], params)


KERNELS: tuple[Kernel, ...] = (
    Kernel("tconv", "aot_tconv_s8", "aot_tconv_t", "transpose_conv.c", header="transpose_conv.h"),
    Kernel("bmm", "aot_bmm_s8", "aot_bmm_t", "batch_matmul.c", call="binary", header="batch_matmul.h"),
    Kernel("bmm_const", "aot_bmm_const_s8", "aot_bmm_t", "batch_matmul.c", header="batch_matmul.h"),
    Kernel("resize_bilinear", "aot_resize_bilinear_s8", "aot_resize_t", "resize_bilinear.c", header="resize_bilinear.h"),
    Kernel("log_softmax", "aot_log_softmax_s8", "aot_log_softmax_t", "log_softmax.c", header="log_softmax.h"),
    Kernel("l2norm", "aot_l2norm_s8", "aot_l2norm_t", "l2_norm.c", header="l2_norm.h"),
)
OPS: tuple[Op, ...] = (
    Op("TRANSPOSE_CONV", _transpose_conv, ("tconv",)),
    Op("BATCH_MATMUL", _batch_matmul, ("bmm", "bmm_const")),
    Op("RESIZE_BILINEAR", _resize_bilinear, ("resize_bilinear",)),
    Op("LOG_SOFTMAX", _log_softmax, ("log_softmax",)),
    Op("L2_NORMALIZATION", _l2_norm, ("l2norm",)),
)
