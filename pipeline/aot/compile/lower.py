"""TFLite operators -> engine steps: each operator's lowering from the op table (pipeline/aot/ops/),
which checks what its kernel assumes (dtypes, quantization, constant weights) and raises
PipelineError naming the op and its operator index otherwise; then the graph-level folds."""
from __future__ import annotations

from ...errors import PipelineError
from ...tflite import TFLiteModel
from ..ops import TABLE, unsupported_hint
from .step import Const, Ctx, Step

__all__ = ["Const", "Step", "lower", "SUPPORTED_OPS"]

SUPPORTED_OPS = tuple(sorted(TABLE))


def lower(model: TFLiteModel) -> list[Step]:
    if model.subgraph_count != 1:
        raise PipelineError(f"the AOT engine supports single-subgraph models; this one has {model.subgraph_count}")
    steps = []
    dead = _shape_only(model)
    for op in model.operators:
        if op.index in dead:
            continue
        entry = TABLE.get(op.op)
        if entry is None:
            raise PipelineError(f"operator {op.index} ({op.op}) is not supported by the AOT engine "
                                f"({unsupported_hint(op.op)})")
        c = Ctx(model, op)
        if any(k < 0 for k in op.outputs) or (len(op.outputs) != 1 and not entry.many_outputs):
            raise c.fail(f"{len(op.outputs)} outputs, expected 1")
        try:
            got = entry.lower(c)
            steps.extend(got if isinstance(got, list) else [got])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as err:
            raise c.fail(f"unexpected tensor layout ({type(err).__name__}: {err})") from None
    return _fold_pads(model, steps)


def _shape_only(model: TFLiteModel) -> set[int]:
    """Operators whose outputs are read only as a RESHAPE's shape operand (input 1), directly or
    through other such operators, and are no model output. The engine knows every shape at build
    time and RESHAPE ignores that operand, so they are dead code: a Keras model with a free batch
    dimension computes its Flatten target at run time (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE,
    MobileNetV3's head), which would cost three steps and their buffers."""
    readers: dict[int, list[tuple[int, str, int]]] = {}
    for op in model.operators:
        for slot, t in enumerate(op.inputs):
            readers.setdefault(t, []).append((op.index, op.op, slot))
    dead: set[int] = set()
    for op in reversed(model.operators):      # operators are in execution order
        if op.op == "RESHAPE" or not op.outputs:
            continue
        if all(t not in model.outputs and readers.get(t) and
               all((name == "RESHAPE" and slot == 1) or index in dead for index, name, slot in readers[t])
               for t in op.outputs):
            dead.add(op.index)
    return dead


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

