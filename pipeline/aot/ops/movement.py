"""Data-movement ops: transposes, slices, splits, gathers, resizes by index, space/depth/batch reshuffles.

Each op only moves bytes, so each kernel is exact by construction; what must match TFLite Micro is
which input element lands where, and that is computed here at build time as TFLM computes it
(strided-slice start/stop clamping, nearest-neighbour source index in float32, mirror-pad index).
Most ops become one per-axis gather (firmware/kernels/gather.c): output axis k contributes
i_k * step_k (an arithmetic axis) or tab_k[i_k] (a table built here) to the input offset. SPLIT / SPLIT_V / UNPACK write all their outputs in one step
(split.c); PACK is CONCATENATION's kernel (stacking along axis a = concatenating [outer][inner] rows).
"""
from __future__ import annotations

import math

import numpy as np

from .spec import Kernel, Op
from ..compile.step import Const, Ctx, Step, sq

_ELEM = {"int8": 1, "int16": 2, "int32": 4, "float32": 4}
RANK = 6    # firmware/kernels/gather.h AOT_GATHER_RANK


def _data(c: Ctx, t) -> int:
    """Element size of a moved activation: int8 (the engine's type) and, as plain byte moves, int16 /
    int32 / float32 (an unrolled Keras LSTM can reach the converter with its gate SPLIT left in float,
    DEQUANTIZE -> SPLIT -> QUANTIZE); every moved tensor must share the input's quantization (TFLM
    copies bytes, no rescale)."""
    if t.dtype not in _ELEM:
        raise c.fail(f"tensor '{t.name}' is {t.dtype}; the movement kernels move int8, int16, int32 or float32")
    c.act(t, t.dtype)
    return _ELEM[t.dtype]


def _same_q(c: Ctx, x, outs) -> int:
    elem = _data(c, x)
    for o in outs:
        if _data(c, o) != elem:
            raise c.fail(f"'{o.name}' is {o.dtype}, the input {x.dtype}")
        if x.quantization is not None and sq(x) != sq(o):
            raise c.fail(f"'{o.name}' is quantized differently from the input (the op would need a rescale)")
    return elem


def _strides(shape) -> list[int]:
    out, acc = [0] * len(shape), 1
    for k in range(len(shape) - 1, -1, -1):
        out[k], acc = acc, acc * shape[k]
    return out


def _ints(c: Ctx, k: int) -> list[int]:
    t = c.t(k)
    if t.dtype not in ("int32", "int64"):
        raise c.fail(f"input {k} is {t.dtype}, expected int32")
    return [int(v) for v in np.asarray(c.const(t, t.dtype)).reshape(-1)]


def _linear(a: np.ndarray) -> bool:
    return a.size < 2 or bool(np.all(np.diff(a) == a[1] - a[0]))


def _collapse(axes: list[np.ndarray]) -> list[np.ndarray]:
    """Unit axes folded into a neighbour; adjacent axes merged where together they are one
    arithmetic run (a dense NHWC copy becomes one axis, a channels-last transpose keeps C*W runs)."""
    base = sum(int(a[0]) for a in axes if a.size == 1)
    axes = [a for a in axes if a.size != 1] or [np.zeros(1, np.int64)]
    axes[0] = axes[0] + base
    out = [axes[0]]
    for a in axes[1:]:
        merged = (out[-1][:, None] + a[None, :]).reshape(-1)
        if _linear(merged):
            out[-1] = merged
        else:
            out.append(a)
    return out


def _gather(c: Ctx, x, out, axes: list[np.ndarray]) -> Step:
    """axes[k][i]: input element offset contributed by output index i on output axis k (axes in the
    output's order, their sizes the output's dims)."""
    elem = _same_q(c, x, [out])
    if math.prod(a.size for a in axes) != out.size or out.size == 0:
        raise c.fail(f"index tables {[a.size for a in axes]} do not give the output {list(out.shape)}")
    lo, hi = sum(int(a.min()) for a in axes), sum(int(a.max()) for a in axes)
    if lo < 0 or hi >= x.size:
        raise c.fail(f"an index reaches outside the input (offsets {lo}..{hi} of {x.size})")
    axes = _collapse([np.asarray(a, np.int64) for a in axes])
    if len(axes) > RANK:
        raise c.fail(f"the movement needs {len(axes)} axes after merging, the kernel has {RANK}")
    axes = [np.zeros(1, np.int64)] * (RANK - len(axes)) + axes
    base = sum(int(a[0]) for a in axes)
    axes = [a - a[0] for a in axes]
    inner = axes[-1]
    run = int(inner.size == 1 or bool(np.all(np.diff(inner) == 1)))
    tabled = [not _linear(a) for a in axes]
    step = [0 if t or a.size < 2 else int(a[1]) * elem for a, t in zip(axes, tabled)]
    tabs = [a * elem for a, t in zip(axes, tabled) if t]
    params = dict(shape=[int(a.size) for a in axes], step=step, base=base * elem, elem=elem, run=run,
                  tabled=sum(1 << k for k, t in enumerate(tabled) if t))
    # a kernel without tables still gets a one-entry array: the struct's `tab` field is always set
    tab = np.concatenate(tabs) if tabs else np.zeros(1, np.int64)
    return Step(c.op.index, c.op.op, "gather", [x.index], [out.index], params,
                consts=[Const(c.cname("tab"), "int32_t", tab)])


def _dense_axes(shape, strides) -> list[np.ndarray]:
    return [np.arange(n, dtype=np.int64) * s for n, s in zip(shape, strides)]


def _transpose(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    perm = _ints(c, 1)
    if sorted(perm) != list(range(len(x.shape))):
        raise c.fail(f"permutation {perm} for rank {len(x.shape)}")
    st = _strides(x.shape)
    return _gather(c, x, out, [np.arange(x.shape[p], dtype=np.int64) * st[p] for p in perm])


def _slice(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    begin, size = _ints(c, 1), _ints(c, 2)
    if len(begin) != len(x.shape) or len(size) != len(x.shape):
        raise c.fail(f"begin {begin} / size {size} for rank {len(x.shape)}")
    st, axes = _strides(x.shape), []
    for b, n, d, s in zip(begin, size, x.shape, st):
        n = d - b if n == -1 else n
        if not (0 <= b and n >= 0 and b + n <= d):
            raise c.fail(f"slice [{b}, {b + n}) of a dimension of {d}")
        axes.append((b + np.arange(n, dtype=np.int64)) * s)
    return _gather(c, x, out, axes)


def _clamp(v: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, v))


def _ss_range(o: dict, k: int, begin: int, end: int, stride: int, dim: int) -> list[int]:
    """One axis of TFLM's strided slice (strided_slice_logic.h StridedSliceStartForAxis /
    EndForAxis, with the `offset` option): the input indices it visits."""
    lo, hi = (0, dim) if stride > 0 else (-1, dim - 1)
    start = begin + dim if begin < 0 else begin
    start = _clamp(start, lo, hi)
    if o.get("begin_mask", 0) >> k & 1:
        start = 0 if stride > 0 else dim - 1
    if o.get("shrink_axis_mask", 0) >> k & 1:
        stop = start if start >= dim else start + 1
    else:
        stop = end + start if o.get("offset") else end
        stop = stop + dim if stop < 0 else stop
        stop = _clamp(stop, lo, hi)
        if o.get("end_mask", 0) >> k & 1:
            stop = dim if stride > 0 else -1
    return list(range(start, stop, stride))


def _strided_slice(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    o = c.op.options
    if o.get("ellipsis_mask", 0) or o.get("new_axis_mask", 0):
        raise c.fail("ellipsis / new-axis masks (TFLite Micro rejects them too)")
    begin, end, strides = _ints(c, 1), _ints(c, 2), _ints(c, 3)
    rank = len(x.shape)
    if not len(begin) == len(end) == len(strides) <= rank or 0 in strides:
        raise c.fail(f"begin {begin} / end {end} / strides {strides} for rank {rank}")
    # TFLM pads the index vectors to the input's rank with full ranges of the trailing axes
    n = len(begin)
    st, axes, kept = _strides(x.shape), [], []
    for k, d in enumerate(x.shape):
        if k < n:
            idx = _ss_range(o, k, begin[k], end[k], strides[k], d)
        else:
            idx = list(range(d))
        if not (k < n and o.get("shrink_axis_mask", 0) >> k & 1):
            kept.append(len(idx))
        axes.append(np.asarray(idx, dtype=np.int64).reshape(-1) * st[k])
    if kept != list(out.shape):
        raise c.fail(f"the slice gives {kept}, the output is {list(out.shape)}")
    return _gather(c, x, out, axes)


def _reverse(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    rank = len(x.shape)
    flip = {a % rank for a in _ints(c, 1)} if rank else set()
    st = _strides(x.shape)
    axes = [(d - 1 - np.arange(d, dtype=np.int64) if k in flip else np.arange(d, dtype=np.int64)) * st[k]
            for k, d in enumerate(x.shape)]
    return _gather(c, x, out, axes)


def _gather_op(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    o = c.op.options
    if o.get("batch_dims", 0):
        raise c.fail(f"batch_dims {o.get('batch_dims')}")
    idx_t = c.t(1)
    if not idx_t.is_constant:
        raise c.fail("indices computed at run time (only constant indices are lowered)")
    idx = np.asarray(c.const(idx_t, idx_t.dtype)).astype(np.int64)
    rank = len(x.shape)
    axis = o.get("axis", 0) % rank
    d = x.shape[axis]
    if idx.size and (idx.min() < 0 or idx.max() >= d):
        raise c.fail(f"indices outside [0, {d}) (TFLite Micro fails on them)")
    st = _strides(x.shape)
    axes = _dense_axes(x.shape[:axis], st[:axis]) + [idx.reshape(-1) * st[axis]] + \
        _dense_axes(x.shape[axis + 1:], st[axis + 1:])
    if list(out.shape) != list(x.shape[:axis]) + list(idx.shape) + list(x.shape[axis + 1:]):
        raise c.fail(f"output {list(out.shape)} for indices {list(idx.shape)} on axis {axis}")
    return _gather(c, x, out, axes)


def _gather_nd(c: Ctx) -> Step:
    """GATHER_ND with constant indices [..., k]: each index row picks the slice x[i0, ..., ik-1]."""
    x, out = c.t(0), c.out()
    idx_t = c.t(1)
    if not idx_t.is_constant:
        raise c.fail("indices computed at run time (only constant indices are lowered)")
    idx = np.asarray(c.const(idx_t, idx_t.dtype)).astype(np.int64)
    k = idx.shape[-1] if idx.ndim else 0
    if idx.ndim < 1 or not 0 < k <= len(x.shape):
        raise c.fail(f"indices {list(idx.shape)} for rank {len(x.shape)}")
    rows = idx.reshape(-1, k)
    if np.any(rows < 0) or np.any(rows >= np.array(x.shape[:k])):
        raise c.fail(f"indices outside {list(x.shape[:k])} (TFLite Micro fails on them)")
    if list(out.shape) != list(idx.shape[:-1]) + list(x.shape[k:]):
        raise c.fail(f"output {list(out.shape)} for indices {list(idx.shape)}")
    st = _strides(x.shape)
    return _gather(c, x, out, [rows @ np.array(st[:k], np.int64)] + _dense_axes(x.shape[k:], st[k:]))


def nearest_index(out_i: int, in_size: int, out_size: int, align: bool, half: bool) -> int:
    """TFLM's GetNearestNeighbor (reference/resize_nearest_neighbor.h) in its float32 arithmetic:
    scale in float32, (i + offset) * scale rounded half away from zero (align_corners) or floored."""
    f = np.float32
    scale = f(in_size - 1) / f(out_size - 1) if align and out_size > 1 else f(in_size) / f(out_size)
    v = (f(out_i) + f(0.5 if half else 0.0)) * scale
    # v >= 0 and exact in a double, so floor(v + 0.5) is std::round's half-away-from-zero
    src = math.floor(float(v) + 0.5) if align else math.floor(float(v))
    src = min(src, in_size - 1)
    return max(0, src) if half else src


def _resize_nearest(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    if len(x.shape) != 4 or len(out.shape) != 4:
        raise c.fail("input and output must be NHWC")
    o = c.op.options
    align, half = bool(o.get("align_corners")), bool(o.get("half_pixel_centers"))
    n, ih, iw, ch = x.shape
    _, oh, ow, _ = out.shape
    if _ints(c, 1) != [oh, ow]:
        raise c.fail(f"size {_ints(c, 1)} is not the output's {oh}x{ow}")
    st = _strides(x.shape)
    ys = np.array([nearest_index(i, ih, oh, align, half) for i in range(oh)], np.int64)
    xs = np.array([nearest_index(i, iw, ow, align, half) for i in range(ow)], np.int64)
    return _gather(c, x, out, [np.arange(n) * st[0], ys * st[1], xs * st[2], np.arange(ch)])


def _mirror_index(i: int, before: int, dim: int, offset: int) -> int:
    """TFLM mirror_pad.cc's source index of padded index i (offset 1 for REFLECT, 0 for SYMMETRIC)."""
    if i < before:
        top = before + offset - 1
        return top - min(i, top - offset)
    i -= before
    if i >= dim:
        i -= dim
        top = dim - (1 + offset)
        return top - min(i, top)
    return i


def _mirror_pad(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    pads = np.asarray(_ints(c, 1)).reshape(-1, 2)
    rank = len(x.shape)
    if pads.shape[0] != rank or np.any(pads < 0):
        raise c.fail(f"paddings {pads.tolist()} for rank {rank}")
    offset = {"REFLECT": 1, "SYMMETRIC": 0}[c.op.options.get("mode", "REFLECT")]
    if np.any(pads > np.array(x.shape)[:, None] - offset):
        raise c.fail(f"paddings {pads.tolist()} exceed the input {list(x.shape)} for this mode")
    st = _strides(x.shape)
    axes = [np.array([_mirror_index(i, int(b), d, offset) for i in range(d + int(b) + int(a))], np.int64) * s
            for (b, a), d, s in zip(pads, x.shape, st)]
    return _gather(c, x, out, axes)


def _block(c: Ctx, x) -> int:
    b = c.op.options.get("block_size", 0)
    if len(x.shape) != 4 or b < 1:
        raise c.fail(f"block size {b} on rank {len(x.shape)} (NHWC expected)")
    return b


def _depth_to_space(c: Ctx) -> Step:
    """output(n, h*b + i, w*b + j, k) = input(n, h, w, (i*b + j)*C' + k), the output seen as
    [N, H, b, W, b, C']."""
    x, out = c.t(0), c.out()
    b = _block(c, x)
    n, h, w, ch = x.shape
    if ch % (b * b):
        raise c.fail(f"{ch} channels for block {b}")
    cc = ch // (b * b)
    sn, sh, sw, _ = _strides(x.shape)
    r = lambda k: np.arange(k, dtype=np.int64)
    return _gather(c, x, out, [r(n) * sn, r(h) * sh, r(b) * b * cc, r(w) * sw, r(b) * cc, r(cc)])


def _space_to_depth(c: Ctx) -> Step:
    """output(n, h, w, (i*b + j)*C + k) = input(n, h*b + i, w*b + j, k), the output seen as
    [N, H/b, W/b, b, b, C]."""
    x, out = c.t(0), c.out()
    b = _block(c, x)
    n, h, w, ch = x.shape
    if h % b or w % b:
        raise c.fail(f"{h}x{w} is not a multiple of block {b}")
    sn, sh, sw, _ = _strides(x.shape)
    r = lambda k: np.arange(k, dtype=np.int64)
    return _gather(c, x, out, [r(n) * sn, r(h // b) * b * sh, r(w // b) * b * sw, r(b) * sh, r(b) * sw, r(ch)])


def _batch_to_space(c: Ctx) -> Step:
    """TFLM batch_to_space_nd: input batch (i*bw + j)*N + n holds output rows h*bh + i - crop_top
    and columns w*bw + j - crop_left of batch n. For output (n, y, x, k) the source is batch
    ((y + ct) % bh * bw + (x + cl) % bw) * N + n at row (y + ct) // bh, column (x + cl) // bw: a sum
    of one term per output axis, so one gather."""
    x, out = c.t(0), c.out()
    block, crops = _ints(c, 1), np.asarray(_ints(c, 2)).reshape(-1, 2)
    if len(x.shape) != 4 or len(block) != 2 or crops.shape[0] != 2 or np.any(crops < 0):
        raise c.fail(f"block {block} / crops {crops.tolist()} on rank {len(x.shape)} (NHWC expected)")
    bh, bw = block
    ib, ih, iw, ch = x.shape
    n, oh, ow, _ = out.shape
    if bh < 1 or bw < 1 or ib != n * bh * bw or (oh, ow) != (ih * bh - crops[0].sum(), iw * bw - crops[1].sum()):
        raise c.fail(f"{list(x.shape)} -> {list(out.shape)} does not follow from block {block}, crops {crops.tolist()}")
    sb, sh, sw, _ = _strides(x.shape)
    y, xx = np.arange(oh) + crops[0][0], np.arange(ow) + crops[1][0]
    return _gather(c, x, out, [np.arange(n) * sb, (y % bh) * bw * n * sb + (y // bh) * sh,
                               (xx % bw) * n * sb + (xx // bw) * sw, np.arange(ch)])


def _space_to_batch(c: Ctx) -> Step:
    """SPACE_TO_BATCH_ND without padding: output batch (i*bw + j)*N + n, row h, column w is input
    (n, h*bh + i, w*bw + j), the output seen as [bh, bw, N, H/bh, W/bw, C]. With padding TFLM's
    result is not defined: the tflite_micro wheel fills the padded positions with a value that changes
    from run to run (64, then -7, on the same model; neither the zero point -6 nor 0), so no kernel
    can match it and padded ones fail here."""
    x, out = c.t(0), c.out()
    block, pads = _ints(c, 1), np.asarray(_ints(c, 2)).reshape(-1, 2)
    if len(x.shape) != 4 or len(block) != 2 or pads.shape[0] != 2 or min(block) < 1:
        raise c.fail(f"block {block} / paddings {pads.tolist()} on rank {len(x.shape)} (NHWC expected)")
    if np.any(pads != 0):
        raise c.fail(f"paddings {pads.tolist()}: TFLite Micro leaves padded positions undefined")
    n, ih, iw, ch = x.shape
    bh, bw = block
    if ih % bh or iw % bw or list(out.shape) != [n * bh * bw, ih // bh, iw // bw, ch]:
        raise c.fail(f"{list(x.shape)} -> {list(out.shape)} does not follow from block {block}")
    sn, sh, sw, _ = _strides(x.shape)
    r = lambda k: np.arange(k, dtype=np.int64)
    return _gather(c, x, out, [r(bh) * sh, r(bw) * sw, r(n) * sn, r(ih // bh) * bh * sh, r(iw // bw) * bw * sw,
                               r(ch)])


def _broadcast_to(c: Ctx) -> Step:
    x, out = c.t(0), c.out()
    k = len(out.shape) - len(x.shape)
    shape = [1] * k + list(x.shape)
    if k < 0 or any(d not in (1, o) for d, o in zip(shape, out.shape)):
        raise c.fail(f"{list(x.shape)} does not broadcast to {list(out.shape)}")
    st = _strides(shape)
    return _gather(c, x, out, [np.arange(o, dtype=np.int64) * (0 if d == 1 else s)
                               for d, o, s in zip(shape, out.shape, st)])


def _split_step(c: Ctx, x, outs, axis: int) -> Step:
    """One input row of prod(shape[axis:]) elements becomes one run per output."""
    elem = _same_q(c, x, outs)
    rank = len(x.shape)
    for o in outs:
        if len(o.shape) != rank or any(a != b for k, (a, b) in enumerate(zip(o.shape, x.shape)) if k != axis):
            raise c.fail(f"output {list(o.shape)} is not a piece of {list(x.shape)} along axis {axis}")
    inner = [math.prod(o.shape[axis:]) * elem for o in outs]
    total = math.prod(x.shape[axis:]) * elem
    if sum(inner) != total:
        raise c.fail(f"the outputs' sizes along axis {axis} do not add up to the input's")
    return Step(c.op.index, c.op.op, "split", [x.index], [o.index for o in outs],
                dict(outer=math.prod(x.shape[:axis]), n=len(outs), total=total),
                consts=[Const(c.cname("inner"), "int32_t", np.array(inner, np.int64))])


def _outs(c: Ctx) -> list:
    return [c.out(k) for k in range(len(c.op.outputs))]


def _split(c: Ctx) -> Step:
    x = c.t(1)
    axis = _ints(c, 0)[0] % len(x.shape)
    return _split_step(c, x, _outs(c), axis)


def _split_v(c: Ctx) -> Step:
    x = c.t(0)
    axis = _ints(c, 2)[0] % len(x.shape)
    return _split_step(c, x, _outs(c), axis)


def _unpack(c: Ctx) -> Step:
    """UNPACK along axis a: output k is the input's slice k on that axis, i.e. a split into pieces
    of size 1 followed by dropping the axis (the bytes are the same)."""
    x = c.t(0)
    rank = len(x.shape)
    axis = c.op.options.get("axis", 0) % rank
    outs = _outs(c)
    want = list(x.shape[:axis]) + list(x.shape[axis + 1:])
    if len(outs) != x.shape[axis] or any(list(o.shape) != want for o in outs):
        raise c.fail(f"{len(outs)} outputs of {want} from {list(x.shape)} on axis {axis}")
    elem = _same_q(c, x, outs)
    inner = math.prod(x.shape[axis + 1:]) * elem
    return Step(c.op.index, c.op.op, "split", [x.index], [o.index for o in outs],
                dict(outer=math.prod(x.shape[:axis]), n=len(outs), total=inner * len(outs)),
                consts=[Const(c.cname("inner"), "int32_t", np.full(len(outs), inner, np.int64))])


def _pack(c: Ctx) -> Step:
    """PACK along axis a of n tensors shaped S: output [prod(S[:a])][n][prod(S[a:])], which is
    CONCATENATION of rows of prod(S[a:]) elements."""
    out = c.out()
    ins = [c.t(k) for k in range(len(c.op.inputs))]
    elem = _same_q(c, out, ins)     # aot_concat counts bytes
    rank = len(out.shape)
    axis = c.op.options.get("axis", 0) % rank
    shape = list(ins[0].shape)
    if any(list(t.shape) != shape for t in ins) or list(out.shape) != shape[:axis] + [len(ins)] + shape[axis:]:
        raise c.fail(f"inputs {[list(t.shape) for t in ins]} do not stack to {list(out.shape)} on axis {axis}")
    inner = math.prod(shape[axis:]) * elem
    return Step(c.op.index, c.op.op, "concat", [t.index for t in ins], [out.index],
                dict(outer=math.prod(shape[:axis]), inner=[inner] * len(ins)))


def _shape(c: Ctx) -> Step:
    """SHAPE of a tensor whose shape the model fixes (a free batch dimension converts as 1): an int32
    constant. Keras models with a free batch dimension (MobileNetV3's head) compute their RESHAPE
    target as SHAPE -> STRIDED_SLICE -> PACK."""
    x, out = c.t(0), c.out()
    if out.dtype != "int32":
        raise c.fail(f"output is {out.dtype}; the constant kernel writes the int32 shape")
    if out.size != len(x.shape):
        raise c.fail(f"output has {out.size} elements for a rank-{len(x.shape)} input")
    values = np.array(x.shape, dtype=np.int64)
    return Step(c.op.index, c.op.op, "constant", [x.index], [out.index], dict(bytes=4 * values.size),
                [Const(c.cname("data"), "int32_t", values)])


def _zeros_like(c: Ctx) -> Step:
    """ZEROS_LIKE: raw zero bytes, not the zero point (TFLM's int8 kernel memsets its output; checked
    on a one-op model, tests/aot_zoo_movement.py zeros_like); the constant kernel copies them."""
    x, out = c.t(0), c.out()
    elem = _data(c, out)
    return Step(c.op.index, c.op.op, "constant", [x.index], [out.index], dict(bytes=elem * out.size),
                [Const(c.cname("data"), "int8_t", np.zeros(elem * out.size, dtype=np.int64))])


KERNELS = (
    Kernel("constant", "aot_constant", "aot_constant_t", "constant.c", header="constant.h"),
    Kernel("gather", "aot_gather_axes", "aot_gather_t", "gather.c", header="gather.h"),
    Kernel("split", "aot_split", "aot_split_t", "split.c", call="many", header="split.h"),
)
OPS = (
    Op("SHAPE", _shape, ("constant",)),
    Op("ZEROS_LIKE", _zeros_like, ("constant",)),
    Op("TRANSPOSE", _transpose, ("gather",)),
    Op("SLICE", _slice, ("gather",)),
    Op("STRIDED_SLICE", _strided_slice, ("gather",)),
    Op("REVERSE_V2", _reverse, ("gather",)),
    Op("GATHER", _gather_op, ("gather",)),
    Op("GATHER_ND", _gather_nd, ("gather",)),
    Op("RESIZE_NEAREST_NEIGHBOR", _resize_nearest, ("gather",)),
    Op("MIRROR_PAD", _mirror_pad, ("gather",)),
    Op("DEPTH_TO_SPACE", _depth_to_space, ("gather",)),
    Op("SPACE_TO_DEPTH", _space_to_depth, ("gather",)),
    Op("BROADCAST_TO", _broadcast_to, ("gather",)),
    Op("BATCH_TO_SPACE_ND", _batch_to_space, ("gather",)),
    Op("SPACE_TO_BATCH_ND", _space_to_batch, ("gather",)),
    Op("SPLIT", _split, ("split",), many_outputs=True),
    Op("SPLIT_V", _split_v, ("split",), many_outputs=True),
    Op("UNPACK", _unpack, ("split",), many_outputs=True),
    Op("PACK", _pack, ("concat",)),
)
