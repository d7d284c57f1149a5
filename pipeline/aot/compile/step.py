"""What a lowering produces (Step, Const) and the helpers every op's lowering shares: the operator
context with its checks, per-tensor quantization, fused-activation ranges and the one-multiply
requantization records. The lowerings themselves are the op table's (pipeline/aot/ops/)."""
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


class Ctx:
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


def nhwc(c: Ctx, t: Tensor) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise c.fail(f"tensor '{t.name}' has rank {len(t.shape)}, expected 4 (NHWC)")
    return tuple(t.shape)


def act_range(c: Ctx, out: Tensor) -> tuple[int, int]:
    act = c.op.options.get("fused_activation", "NONE")
    if act not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise c.fail(f"fused activation {act}")
    return Q.activation_range(act, *sq(out))


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


def has_rq(consts: list[Const]) -> bool:
    return any(k.name.endswith("_rq") for k in consts)


def dense_strides(shape: list[int]) -> list[int]:
    """Element strides of a dense NHWC tensor (the ADD/MUL kernels' s1/s2 when nothing broadcasts)."""
    st, acc = [0] * 4, 1
    for k in range(3, -1, -1):
        st[k] = acc
        acc *= shape[k]
    return st


def shl32(x: int, s: int) -> int:
    """int32 x * 2^s with the reference's wrap-around."""
    return ((x << s) + (1 << 31)) % (1 << 32) - (1 << 31)


def check_prob_output(c: Ctx, out: Tensor) -> None:
    s, z = sq(out)
    if z != -128 or abs(s - 1 / 256) > 1e-9:
        raise c.fail(f"int8 output must have scale 1/256 and zero point -128, found {s} / {z}")




def channel_multipliers(c: Ctx, w: Tensor, oc: int, in_scale: float, out_scale: float) -> list[tuple[int, int]]:
    """(multiplier, shift) per output channel of a symmetric int8 filter: in_scale * w_scale[o] /
    out_scale, as TFLM's Prepare computes it (a per-tensor scale serves every channel)."""
    wq = w.quantization
    if wq is None or np.any(wq.zero_point != 0):
        raise c.fail("filter must be symmetric int8 (zero point 0)")
    scales = [Q.f64(s) for s in wq.scale]
    if len(scales) not in (1, oc):
        raise c.fail(f"{len(scales)} filter scales for {oc} channels")
    return [Q.quantize_multiplier(in_scale * fs / out_scale) for fs in (scales * oc if len(scales) == 1 else scales)]
