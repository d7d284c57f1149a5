"""Residual blocks -> one row-by-row step (firmware/kernels/residual.c).

    y = convA(x); z = convB(y); s = x or skipconv(x); out = ADD(z, s)   (either operand order)

Run unfused, x, y and z are live together: three 16 KB activations in block 1 of the MLPerf Tiny
ResNet-8 (IC), 49,152 bytes of arena against TFLM's 55,904 (peak RAM with the stack 0.95x, issue #9
asks <= 0.6x). Fused, y exists only as a window of convB.k_h rows and z (and s) as one row each, in
arena scratch planned with the step, and the block output is written over x where no later row
still reads the bytes under it: block 1 then needs 16 KB + 2 KB instead of 48 KB, and IC's arena
is 19,456 bytes (0.42x with the stack on M4; +0.6% instructions for the row calls and the window
shifts). The convolutions and the ADD are the unchanged kernels run on row slices, so the outputs
are the same bits as unfused.

Fused when: convA, convB (and the skip convolution) are CONV_2D with batch 1; convB has stride and
dilation 1 in height (residual.c handles others; the tests do not cover them); y, z (and s) have
exactly one reader and are not model outputs; the ADD has two activation operands of the output's
shape (no broadcast); and the block's steps are consecutive (no other step runs between them). The
fused step keeps the ADD's operator index: its trace is the block output and its profile slot holds
the whole block, the convolutions' slots read 0, as for a PAD folded into a convolution
(lower.py _fold_pads).
"""
from __future__ import annotations

from ...tflite import TFLiteModel
from .step import Step, dense_strides

KERNEL = "resblock"


def fuse_residual_blocks(model: TFLiteModel, steps: list[Step]) -> list[Step]:
    writer = {s.outputs[0]: k for k, s in enumerate(steps)}
    readers: dict[int, int] = {}
    for s in steps:
        for t in s.inputs:
            readers[t] = readers.get(t, 0) + 1
    fused: dict[int, Step] = {}      # position of the ADD -> the fused step
    taken: set[int] = set()          # positions of fused members
    for k, s in enumerate(steps):
        if s.kernel != "add" or not _plain_add(model, s):
            continue
        for main in (0, 1):
            m = _match(model, steps, writer, readers, k, main)
            if m is not None and not (set(m) & taken):
                taken |= set(m)
                fused[k] = _fuse(steps, m, main)
                break
    return [fused[k] if k in fused else s for k, s in enumerate(steps) if k in fused or k not in taken]


def _plain_add(model: TFLiteModel, s: Step) -> bool:
    p = s.params
    if p.get("const_a") is not None or p.get("const_b") is not None or len(s.inputs) != 2 \
            or s.inputs[0] == s.inputs[1]:
        return False
    shape = list(model.tensors[s.outputs[0]].shape)
    return all(list(model.tensors[t].shape) == shape for t in s.inputs) and \
        len(shape) == 4 and shape[0] == 1 and p["s1"] == p["s2"] == dense_strides(p["shape"])


def _conv_of(steps: list[Step], writer: dict[int, int], t: int) -> int | None:
    k = writer.get(t)
    if k is None or steps[k].kernel != "conv" or steps[k].params["batches"] != 1:
        return None
    return k


def _match(model: TFLiteModel, steps: list[Step], writer, readers, k_add: int, main: int) -> dict | None:
    """{position: role} of the block whose main path ends in operand `main` of the ADD, or None."""
    add = steps[k_add]
    z, other = add.inputs[main], add.inputs[1 - main]

    def private(t: int) -> bool:   # one reader, not a model output: never needed as a whole tensor
        return readers.get(t) == 1 and t not in model.outputs
    kb = _conv_of(steps, writer, z)
    if kb is None or not private(z) or steps[kb].params["dil_h"] != 1 or steps[kb].params["stride_h"] != 1:
        return None
    y = steps[kb].inputs[0]
    ka = _conv_of(steps, writer, y)
    if ka is None or not private(y):
        return None
    x = steps[ka].inputs[0]
    roles = {ka: "a", kb: "b", k_add: "add"}
    if other != x:
        ks = _conv_of(steps, writer, other)
        if ks is None or not private(other) or steps[ks].inputs[0] != x:
            return None
        roles[ks] = "skip"
    pos = sorted(roles)
    if pos != list(range(pos[0], pos[-1] + 1)) or pos[-1] != k_add:
        return None
    return roles


def _fuse(steps: list[Step], roles: dict[int, str], main: int) -> Step:
    by = {r: steps[k] for k, r in roles.items()}
    a, b, add, skip = by["a"], by["b"], by["add"], by.get("skip")
    pa, pb = a.params, b.params
    row = pb["out_w"] * pb["out_c"]
    # the ADD runs on one output row at a time: [1][1][1][out_w * out_c], dense
    add.params.update(shape=[1, 1, 1, row], s1=dense_strides([1, 1, 1, row]),
                      s2=dense_strides([1, 1, 1, row]))
    scratch = pb["k_h"] * pa["out_w"] * pa["out_c"] + row + (row if skip else 0)
    params = dict(a=a.index, b=b.index, skip=skip.index if skip else None, add=add.index,
                  skip_first=int(main == 1), inplace=_inplace_safe(a, b, skip))
    parts = [steps[k] for k in sorted(roles)]
    return Step(add.index, "RESIDUAL_BLOCK", KERNEL, [a.inputs[0]], list(add.outputs), params,
                macs=sum(s.macs for s in parts), parts=parts, scratch=scratch)


def _rows(p: dict, oy: int) -> set[int]:
    """Input rows output row oy of a convolution reads."""
    top = oy * p["stride_h"] - p["pad_h"]
    return {r for r in (top + ky * p["dil_h"] for ky in range(p["k_h"])) if 0 <= r < p["in_h"]}


def _inplace_safe(a: Step, b: Step, skip: Step | None) -> bool:
    """Whether residual.c may write the block output over x: replays its schedule (before output row
    r it has computed y up to the last row z row r reads, and read the skip rows up to r) and checks
    that output row r's bytes hold no x row a later y row or skip row still reads. The identity
    skip's row r is read element by element as the same bytes are written (same shape, same offsets),
    which the ADD kernel allows. ResNet-8: every block qualifies (stride 1: output row r lands on x row
    r once y row r + 1 is done; stride 2: on x row r, while the next rows read x rows >= 2r + 2)."""
    pa, pb = a.params, b.params
    xrow, orow = pa["in_w"] * pa["in_c"], pb["out_w"] * pb["out_c"]
    done = -1
    for r in range(pb["out_h"]):
        rows = _rows(pb, r)
        done = max([done, *rows])
        live: set[int] = set()
        for j in range(done + 1, pa["out_h"]):
            live |= _rows(pa, j)
        for r2 in range(r + 1, pb["out_h"]):
            live |= _rows(skip.params, r2) if skip else {r2}
        lo, hi = r * orow, (r + 1) * orow
        if any(i * xrow < hi and lo < (i + 1) * xrow for i in live):
            return False
    return True
