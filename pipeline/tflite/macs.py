"""Multiply-accumulates per operator of a TFLite graph, from tensor shapes alone."""
from __future__ import annotations

import numpy as np

from .model import TFLiteModel


def op_macs(m: TFLiteModel, op) -> int:
    def shape(i):
        return m.tensor(i).shape if i >= 0 else ()

    def n(s):
        return int(np.prod(s)) if len(s) else 1

    out = shape(op.outputs[0]) if op.outputs else ()
    if op.op == "CONV_2D" and len(op.inputs) > 1:
        w = shape(op.inputs[1])  # [Cout, kh, kw, Cin]
        return n(out) * (n(w[1:]) if len(w) == 4 else 1)
    if op.op == "DEPTHWISE_CONV_2D" and len(op.inputs) > 1:
        w = shape(op.inputs[1])  # [1, kh, kw, Cout]
        return n(out) * (w[1] * w[2] if len(w) == 4 else 1)
    if op.op == "FULLY_CONNECTED" and len(op.inputs) > 1:
        w = shape(op.inputs[1])  # [out, in]
        return n(out) * (w[-1] if w else 1)
    if op.op == "TRANSPOSE_CONV" and len(op.inputs) > 2:
        w = shape(op.inputs[1])  # [Cout, kh, kw, Cin]
        return n(shape(op.inputs[2])) * (n(w[:3]) if len(w) == 4 else 1)
    if op.op == "BATCH_MATMUL" and len(op.inputs) > 1:
        a = shape(op.inputs[0])
        return n(out) * (a[-1] if a else 1)
    if op.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        return n(out) * max(1, op.options.get("filter_w", 1) * op.options.get("filter_h", 1))
    if op.op in ("MEAN", "SUM"):
        return n(shape(op.inputs[0]))
    if op.op in ("ADD", "MUL", "SUB"):
        return n(out)
    return 0
