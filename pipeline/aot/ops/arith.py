"""ADD and MUL with 4-D broadcasting (firmware/kernels/elementwise.c)."""
from __future__ import annotations

import numpy as np

from ..compile import quant as Q
from ...tflite import Tensor
from .spec import Kernel, Op
from ..compile.step import Const, Ctx, Step, act_range, dense_strides, rq_consts, shl32, sq


def _broadcast(c: Ctx, a: Tensor, b: Tensor, out: Tensor) -> dict:
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


def _operand(c: Ctx, k: int, consts: list[Const]) -> tuple[Tensor, str | None]:
    """An int8 activation, or an int8 constant emitted as a flash array (e.g. x + 0.5)."""
    t = c.t(k)
    if not t.is_constant:
        return c.act(t), None
    if t.dtype != "int8" or t.quantization is None:
        raise c.fail(f"constant operand '{t.name}' is {t.dtype} without int8 quantization")
    consts.append(Const(c.cname(f"in{k}"), "int8_t", t.data.reshape(-1)))
    return t, consts[-1].name


def _binary(c: Ctx, is_mul: bool) -> Step:
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
            tables = {name: [Q.mbqm(shl32(v + off, left), mult, e) for v in range(-128, 128)]
                      for name, off, mult, e in (("ta", -z1, m1, e1), ("tb", -z2, m2, e2))}
            bound = max(abs(v) for v in tables["ta"]) + max(abs(v) for v in tables["tb"])
            rq = rq_consts(c.cname("rq"), [(mo, eo)], zo, bound)
            if rq:
                for name, values in tables.items():
                    consts.append(Const(c.cname(name), "int32_t", np.array(values, dtype=np.int64)))
                consts.append(rq)
                p["tables"] = True
    p["act_min"], p["act_max"] = act_range(c, out)
    p.update(const_a=ca, const_b=cb)
    ins = [t.index for t, k in ((a, ca), (b, cb)) if k is None]
    return Step(c.op.index, c.op.op, "mul" if is_mul else "add", ins, [out.index], p, consts)


KERNELS = (
    Kernel("add", "aot_add_s8", "aot_binary_t", "elementwise.c", call="custom", const_fields=False),
    Kernel("mul", "aot_mul_s8", "aot_binary_t", "elementwise.c", call="custom", const_fields=False),
)
OPS = (
    Op("ADD", lambda c: _binary(c, False), ("add",)),
    Op("MUL", lambda c: _binary(c, True), ("mul",)),
)
