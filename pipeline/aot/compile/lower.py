"""TFLite operators -> engine steps: kernel name + every parameter precomputed at build time.

Each lowering checks what the kernel assumes (dtypes, quantization, constant weights) and
raises PipelineError naming the op and its operator index otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...errors import PipelineError
from ...tflite import Operator, Tensor, TFLiteModel
from . import quant as Q


@dataclass
class Const:
    name: str
    ctype: str              # "int8_t" | "int32_t"
    values: np.ndarray      # flat


@dataclass
class Step:
    index: int
    op: str
    kernel: str             # template macro name
    inputs: list[int]       # activation tensors read (arena)
    outputs: list[int]      # activation tensors written (arena)
    params: dict = field(default_factory=dict)
    consts: list[Const] = field(default_factory=list)
    macs: int = 0
    parts: list[Step] = field(default_factory=list)   # the steps a fused one runs (fuse.py), else []
    scratch: int = 0        # arena bytes the kernel needs while it runs (planned like a tensor)


class _Ctx:
    def __init__(self, model: TFLiteModel, op: Operator):
        self.m, self.op = model, op

    def fail(self, why: str) -> PipelineError:
        return PipelineError(f"operator {self.op.index} ({self.op.op}) is not supported by the AOT engine: {why}")

    def t(self, k: int) -> Tensor:
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            raise self.fail(f"input {k} is missing")
        return self.m.tensors[self.op.inputs[k]]

    def opt_t(self, k: int) -> Tensor | None:
        if k >= len(self.op.inputs) or self.op.inputs[k] < 0:
            return None
        return self.m.tensors[self.op.inputs[k]]

    def out(self, k: int = 0) -> Tensor:
        return self.m.tensors[self.op.outputs[k]]

    def act(self, t: Tensor, dtype: str = "int8") -> Tensor:
        if t.is_constant:
            raise self.fail(f"tensor '{t.name}' must be an activation, found a constant")
        if t.dtype != dtype:
            raise self.fail(f"tensor '{t.name}' is {t.dtype}, expected {dtype}")
        if dtype == "int8" and t.quantization is None:
            raise self.fail(f"tensor '{t.name}' has no quantization parameters")
        return t

    def const(self, t: Tensor, dtype: str) -> np.ndarray:
        if not t.is_constant:
            raise self.fail(f"tensor '{t.name}' must be constant (weights computed at run time)")
        if t.dtype != dtype:
            raise self.fail(f"tensor '{t.name}' is {t.dtype}, expected {dtype}")
        return t.data

    def cname(self, what: str) -> str:
        return f"op{self.op.index}_{what}"


def sq(t: Tensor) -> tuple[float, int]:
    """(scale, zero point) of a per-tensor quantized tensor."""
    scale = Q.f64(t.quantization.scale[0])
    zp = int(t.quantization.zero_point[0]) if t.quantization.zero_point.size else 0
    if not (scale > 0 and math.isfinite(scale)) or not -128 <= zp <= 127:
        raise ValueError(f"tensor '{t.name}' has scale {scale} / zero point {zp}")
    return scale, zp


def nhwc(c: _Ctx, t: Tensor) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise c.fail(f"tensor '{t.name}' has rank {len(t.shape)}, expected 4 (NHWC)")
    return tuple(t.shape)


def _act_range(c: _Ctx, out: Tensor) -> tuple[int, int]:
    act = c.op.options.get("fused_activation", "NONE")
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise c.fail(f"fused activation {act}")
    return Q.activation_range(act, *sq(out))


def _conv(c: _Ctx, depthwise: bool) -> Step:
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
    wq = w.quantization
    if wq is None or np.any(wq.zero_point != 0):
        raise c.fail("filter must be symmetric int8 (zero point 0)")
    scales = [Q.f64(s) for s in wq.scale]
    if len(scales) not in (1, oc):
        raise c.fail(f"{len(scales)} filter scales for {oc} channels")
    scales = scales * oc if len(scales) == 1 else scales
    ms = [Q.quantize_multiplier(in_s * fs / out_s) for fs in scales]
    lo, hi = _act_range(c, out)
    per_out = wd.reshape(-1, oc).T if depthwise else wd.reshape(oc, -1)
    consts = _weight_consts(c, wd, ms, b, out_zp, oc, per_out)
    if not depthwise:
        # sum of each filter: interior outputs compute dot(f, x) + in_offset * sum(f)
        consts.append(Const(c.cname("fsum"), "int32_t", wd.reshape(oc, -1).astype(np.int64).sum(axis=1)))
    params = dict(batches=n, in_h=ih, in_w=iw, in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw,
                  stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dw,
                  pad_h=Q.pad_before(ih, kh, sh, dh, oh), pad_w=Q.pad_before(iw, kw, sw, dw, ow),
                  depth_mult=dm, in_offset=-in_zp, out_offset=out_zp, act_min=lo, act_max=hi,
                  bias=b is not None, rq=_has_rq(consts))
    macs = n * oh * ow * oc * kh * kw * (1 if depthwise else ic)
    return Step(c.op.index, c.op.op, "dwconv" if depthwise else "conv", [x.index], [out.index],
                params, consts, macs)


def _weight_consts(c: _Ctx, wd: np.ndarray, ms: list, b, out_zp: int, oc: int,
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


def rq_consts(name: str, ms: list, out_zp: int, acc_bound: int) -> Const | None:
    """aot_rq_t records {int32 m, h, r} per channel (quant.fast_requant), or None if any channel
    needs the reference's general path or the accumulator can reach FAST_RQ_MAX_ACC (acc_bound:
    the largest |accumulator| the layer can produce). ~5 instructions per output on Cortex-M4
    (SMMLAR, ADD, ASR, SSAT, STRB) instead of ~25."""
    recs = [Q.fast_requant(m, s, out_zp) for m, s in ms]
    if acc_bound >= Q.FAST_RQ_MAX_ACC or any(r is None for r in recs):
        return None
    return Const(name, "int32_t", np.array([v for rec in recs for v in rec], dtype=np.int64))


def acc_bound(w_per_out: np.ndarray, bias: np.ndarray | None) -> int:
    """Largest |accumulator| of a layer whose output o sums w_per_out[o] * (x + in_offset) plus
    bias[o]: |x + in_offset| <= 255 for int8 x and an int8 zero point."""
    s = np.abs(w_per_out.astype(np.int64)).sum(axis=1) * 255
    if bias is not None:
        s = s + np.abs(bias.astype(np.int64))
    return int(s.max(initial=0))


def _has_rq(consts: list[Const]) -> bool:
    return any(k.name.endswith("_rq") for k in consts)


def _fc(c: _Ctx) -> Step:
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
    lo, hi = _act_range(c, out)
    consts = _weight_consts(c, wd, ms, b, out_zp, oc, wd.reshape(oc, -1).astype(np.int64) - w_zp)
    consts.append(Const(c.cname("fsum"), "int32_t", wd.reshape(oc, -1).astype(np.int64).sum(axis=1)))
    params = dict(batches=batches, depth=depth, out_c=oc, per_channel=int(per_channel), in_offset=-in_zp,
                  filter_offset=-w_zp, out_offset=out_zp, act_min=lo, act_max=hi, bias=b is not None,
                  rq=_has_rq(consts))
    return Step(c.op.index, c.op.op, "fc", [x.index], [out.index], params, consts, batches * oc * depth)


def _pool(c: _Ctx, is_max: bool) -> Step:
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
    lo, hi = _act_range(c, out)
    params = dict(batches=n, in_h=ih, in_w=iw, c=ch, out_h=oh, out_w=ow, k_h=kh, k_w=kw, stride_h=sh,
                  stride_w=sw, pad_h=ph, pad_w=pw, act_min=lo, act_max=hi)
    return Step(c.op.index, c.op.op, "maxpool" if is_max else "avgpool", [x.index], [out.index], params)


def _mean(c: _Ctx) -> Step:
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


def _broadcast(c: _Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
    def pad4(s):
        if len(s) > 4:
            raise c.fail(f"rank {len(s)} > 4")
        return [1] * (4 - len(s)) + list(s)
    sa, sb, so = pad4(a.shape), pad4(b.shape), pad4(out.shape)

    def strides(s):
        st, acc = [0] * 4, 1
        for k in range(3, -1, -1):
            st[k] = 0 if s[k] == 1 and so[k] != 1 else acc
            acc *= s[k]
        return st
    for k in range(4):
        if sa[k] not in (1, so[k]) or sb[k] not in (1, so[k]):
            raise c.fail(f"shapes {list(a.shape)} and {list(b.shape)} do not broadcast to {list(out.shape)}")
    return dict(shape=so, s1=strides(sa), s2=strides(sb))


def _operand(c: _Ctx, k: int, consts: list[Const]) -> tuple[Tensor, str | None]:
    """An int8 activation, or an int8 constant emitted as a flash array (e.g. x + 0.5)."""
    t = c.t(k)
    if not t.is_constant:
        return c.act(t), None
    if t.dtype != "int8" or t.quantization is None:
        raise c.fail(f"constant operand '{t.name}' is {t.dtype} without int8 quantization")
    consts.append(Const(c.cname(f"in{k}"), "int8_t", t.data.reshape(-1)))
    return t, consts[-1].name


def _binary(c: _Ctx, is_mul: bool) -> Step:
    consts: list[Const] = []
    (a, ca), (b, cb), out = _operand(c, 0, consts), _operand(c, 1, consts), c.act(c.out())
    if ca and cb:
        raise c.fail("both operands are constants (the converter should have folded them)")
    s1, z1 = sq(a)
    s2, z2 = sq(b)
    so, zo = sq(out)
    p = _broadcast(c, a, b, out)
    p.update(in1_offset=-z1, in2_offset=-z2, out_offset=zo)
    if is_mul:
        m, s = Q.quantize_multiplier(s1 * s2 / so)
        p.update(left_shift=0, in1_mult=0, in1_shift=0, in2_mult=0, in2_shift=0, out_mult=m, out_shift=s)
    else:
        left = 20  # the reference's headroom for int8 ADD
        twice_max = 2 * Q.f64(max(np.float32(s1), np.float32(s2)))
        m1, e1 = Q.quantize_multiplier(s1 / twice_max)
        m2, e2 = Q.quantize_multiplier(s2 / twice_max)
        mo, eo = Q.quantize_multiplier(twice_max / ((1 << left) * so))
        p.update(left_shift=left, in1_mult=m1, in1_shift=e1, in2_mult=m2, in2_shift=e2, out_mult=mo,
                 out_shift=eo)
        if ca is None and cb is None and p["s1"] == p["s2"] == dense_strides(p["shape"]):
            # int8 inputs have 256 values: each input's rescaling is a build-time table
            # (1 KB each), so an element costs two loads, an add and one requantization.
            tables = {name: [Q.mbqm(_shl32(v + off, left), mult, e) for v in range(-128, 128)]
                      for name, off, mult, e in (("ta", -z1, m1, e1), ("tb", -z2, m2, e2))}
            bound = max(abs(v) for v in tables["ta"]) + max(abs(v) for v in tables["tb"])
            rq = rq_consts(c.cname("rq"), [(mo, eo)], zo, bound)
            if rq:
                for name, values in tables.items():
                    consts.append(Const(c.cname(name), "int32_t", np.array(values, dtype=np.int64)))
                consts.append(rq)
                p["tables"] = True
    p["act_min"], p["act_max"] = _act_range(c, out)
    p.update(const_a=ca, const_b=cb)
    ins = [t.index for t, k in ((a, ca), (b, cb)) if k is None]
    return Step(c.op.index, c.op.op, "mul" if is_mul else "add", ins, [out.index], p, consts)


def dense_strides(shape: list[int]) -> list[int]:
    """Element strides of a dense NHWC tensor (the ADD/MUL kernels' s1/s2 when nothing broadcasts)."""
    st, acc = [0] * 4, 1
    for k in range(3, -1, -1):
        st[k] = acc
        acc *= shape[k]
    return st


def _shl32(x: int, s: int) -> int:
    """int32 x * 2^s with the reference's wrap-around."""
    return ((x << s) + (1 << 31)) % (1 << 32) - (1 << 31)


def _check_prob_output(c: _Ctx, out: Tensor) -> None:
    s, z = sq(out)
    if z != -128 or abs(s - 1 / 256) > 1e-9:
        raise c.fail(f"int8 output must have scale 1/256 and zero point -128, found {s} / {z}")


def _softmax(c: _Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    _check_prob_output(c, out)
    depth = x.shape[-1] if x.shape else 1
    beta = Q.f64(c.op.options.get("beta", 1.0))
    in_s, _ = sq(x)
    real = min(beta * in_s * (1 << (31 - 5)), (1 << 31) - 1.0)
    m, ls = Q.quantize_multiplier(real)
    diff_min = -Q.calculate_input_radius(5, ls)
    params = dict(outer=x.size // depth, depth=depth, in_mult=m, in_left_shift=ls, diff_min=diff_min)
    return Step(c.op.index, c.op.op, "softmax", [x.index], [out.index], params)


def _logistic(c: _Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    _check_prob_output(c, out)
    in_s, in_zp = sq(x)
    frac, ls = math.frexp(in_s * float(1 << (31 - 4)))
    m = Q.tf_round(frac * (1 << 31))
    params = dict(n=x.size, in_zp=in_zp, radius=Q.calculate_input_radius(4, ls), mult=m, left_shift=ls)
    return Step(c.op.index, c.op.op, "logistic", [x.index], [out.index], params)


def _reshape(c: _Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    if x.size != out.size or sq(x) != sq(out):
        raise c.fail("reshape changes the size or the quantization")
    return Step(c.op.index, c.op.op, "copy", [x.index], [out.index], dict(bytes=x.size))


def _pad(c: _Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    pads = c.t(1)
    if pads.dtype not in ("int32", "int64"):
        raise c.fail(f"paddings are {pads.dtype}")
    pv = np.asarray(c.const(pads, pads.dtype)).reshape(-1, 2)
    if len(x.shape) > 4 or pv.shape[0] != len(x.shape) or np.any(pv < 0):
        raise c.fail(f"paddings {pv.tolist()} for rank {len(x.shape)}")
    if sq(x) != sq(out):
        raise c.fail("input and output quantization differ")
    value = sq(out)[1]
    if c.op.op == "PADV2" and c.opt_t(2) is not None:
        value = int(np.asarray(c.const(c.t(2), "int8")).reshape(-1)[0])
    k = 4 - len(x.shape)
    params = dict(in_shape=[1] * k + list(x.shape), before=[0] * k + pv[:, 0].tolist(),
                  after=[0] * k + pv[:, 1].tolist(), value=value)
    return Step(c.op.index, c.op.op, "pad", [x.index], [out.index], params)


def _concat(c: _Ctx) -> Step:
    out = c.act(c.out())
    ins = [c.act(c.t(k)) for k in range(len(c.op.inputs))]
    rank = len(out.shape)
    axis = c.op.options.get("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise c.fail(f"axis {c.op.options.get('axis')} for rank {rank}")
    if c.op.options.get("fused_activation", "NONE") != "NONE":
        raise c.fail("fused activation on concatenation")
    for t in ins:
        if sq(t) != sq(out):
            raise c.fail(f"input '{t.name}' is quantized differently from the output (needs requantization)")
    outer = math.prod(out.shape[:axis])
    inner = [math.prod(t.shape[axis:]) for t in ins]
    return Step(c.op.index, c.op.op, "concat", [t.index for t in ins], [out.index],
                dict(outer=outer, inner=inner))


def _quantize(c: _Ctx) -> Step:
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


def _dequantize(c: _Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out(), "float32")
    s, z = sq(x)
    return Step(c.op.index, c.op.op, "dequantize", [x.index], [out.index], dict(n=x.size, zp=z, scale=s))


LOWERINGS = {
    "CONV_2D": lambda c: _conv(c, False), "DEPTHWISE_CONV_2D": lambda c: _conv(c, True),
    "FULLY_CONNECTED": _fc, "AVERAGE_POOL_2D": lambda c: _pool(c, False),
    "MAX_POOL_2D": lambda c: _pool(c, True), "MEAN": _mean, "ADD": lambda c: _binary(c, False),
    "MUL": lambda c: _binary(c, True), "RESHAPE": _reshape, "SOFTMAX": _softmax, "PAD": _pad,
    "PADV2": _pad, "CONCATENATION": _concat, "LOGISTIC": _logistic, "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
}
SUPPORTED_OPS = tuple(sorted(LOWERINGS))


def lower(model: TFLiteModel) -> list[Step]:
    if model.subgraph_count != 1:
        raise PipelineError(f"the AOT engine supports single-subgraph models; this one has {model.subgraph_count}")
    steps = []
    for op in model.operators:
        fn = LOWERINGS.get(op.op)
        if fn is None:
            raise PipelineError(
                f"operator {op.index} ({op.op}) is not supported by the AOT engine "
                f"(supported: {', '.join(SUPPORTED_OPS)})")
        c = _Ctx(model, op)
        if len(op.outputs) != 1 or op.outputs[0] < 0:
            raise c.fail(f"{len(op.outputs)} outputs, expected 1")
        try:
            steps.append(fn(c))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as err:
            raise c.fail(f"unexpected tensor layout ({type(err).__name__}: {err})") from None
    return _fold_pads(model, steps)


def _fold_pads(model: TFLiteModel, steps: list[Step]) -> list[Step]:
    """A spatial PAD with the zero point whose only reader is a CONV_2D / DEPTHWISE_CONV_2D becomes
    that convolution's own padding: the kernels skip out-of-bounds taps, which equals reading the
    zero point (the padded value contributes (zp + in_offset) * w = 0). PyTorch-exported students
    have one before every stride-2 depthwise (asymmetric SAME); folding it saves the padded copy
    (6,400 bytes on the digits student, 0.73 -> ~0.45 of the TFLM arena) and its ~180k instructions."""
    readers: dict[int, list[Step]] = {}
    for s in steps:
        for t in s.inputs:
            readers.setdefault(t, []).append(s)
    out = []
    for s in steps:
        if s.kernel == "pad" and _fold_pad(model, s, readers.get(s.outputs[0], [])):
            continue
        out.append(s)
    return out


def _fold_pad(model: TFLiteModel, pad: Step, readers: list[Step]) -> bool:
    p = pad.params
    if len(readers) != 1 or pad.outputs[0] in model.outputs:
        return False
    conv = readers[0]
    q = conv.params
    if conv.kernel not in ("conv", "dwconv") or conv.inputs != [pad.outputs[0]]:
        return False
    n, h, w, ch = p["in_shape"]
    if p["before"][0] or p["after"][0] or p["before"][3] or p["after"][3] or p["value"] != -q["in_offset"] \
            or q["batches"] != n or q["in_c"] != ch:
        return False
    conv.inputs = [pad.inputs[0]]
    q.update(in_h=h, in_w=w, pad_h=q["pad_h"] + p["before"][1], pad_w=q["pad_w"] + p["before"][2])
    return True
