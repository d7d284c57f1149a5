"""RESHAPE, PAD / PADV2 and CONCATENATION: data movement (firmware/kernels/shape.c)."""
from __future__ import annotations

import math

import numpy as np

from .spec import Kernel, Op
from ..compile.step import Ctx, Step, sq


def _reshape(c: Ctx) -> Step:
    x, out = c.act(c.t(0)), c.act(c.out())
    if x.size != out.size or sq(x) != sq(out):
        raise c.fail("reshape changes the size or the quantization")
    return Step(c.op.index, c.op.op, "copy", [x.index], [out.index], dict(bytes=x.size))


def _pad(c: Ctx) -> Step:
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


def _concat(c: Ctx) -> Step:
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


KERNELS = (
    Kernel("copy", "aot_copy", None, "shape.c", call="custom", inplace=True),
    Kernel("pad", "aot_pad_s8", "aot_pad_t", "shape.c"),
    Kernel("concat", "aot_concat", None, "shape.c", call="custom"),
)
OPS = (
    Op("RESHAPE", _reshape, ("copy",)),
    # the converter turns squeezes of static shapes into RESHAPE; a SQUEEZE that survives is a copy too
    Op("SQUEEZE", _reshape, ("copy",)),
    Op("PAD", _pad, ("pad",)),
    Op("PADV2", _pad, ("pad",)),
    Op("CONCATENATION", _concat, ("concat",)),
)
