"""Static memory plan: every activation tensor gets an arena offset at build time.

Lifetime of a tensor = [first step that writes it, last step that reads it] (model inputs
live from -1 to their last reader, model outputs to the end). Tensors whose lifetimes overlap never share
bytes, so a kernel never reads what it is writing. Placement is greedy, largest first, at
the lowest aligned offset that fits (the usual offline "greedy by size" planner).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import PipelineError
from ...tflite import TFLiteModel
from ..ops import KERNELS
from .step import Step, dense_strides

ALIGN = 16  # bytes: keeps every buffer word- and SIMD-aligned on Cortex-M


@dataclass(frozen=True)
class Buffer:
    tensor: int
    offset: int
    size: int
    first: int
    last: int


@dataclass(frozen=True)
class MemoryPlan:
    buffers: dict[int, Buffer]
    arena_bytes: int
    aliases: dict[int, int] = field(default_factory=dict)   # output tensor -> input it overwrites in place
    scratch: dict[int, int] = field(default_factory=dict)   # step (operator index) -> offset of its Step.scratch

    def offset(self, tensor: int) -> int:
        return self.buffers[tensor].offset

    @property
    def naive_bytes(self) -> int:
        """What the arena would need without reuse (one buffer per tensor)."""
        return sum(_align(b.size) for b in self.buffers.values())


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def tensor_bytes(model: TFLiteModel, t: int) -> int:
    tensor = model.tensors[t]
    item = {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "int32": 4, "float32": 4}.get(tensor.dtype)
    if item is None:
        raise PipelineError(f"tensor {t} '{tensor.name}' has type {tensor.dtype}, which the AOT engine cannot hold")
    return tensor.size * item


def plan(model: TFLiteModel, steps: list[Step]) -> MemoryPlan:
    end = len(steps)
    first: dict[int, int] = {t: -1 for t in model.inputs}
    last: dict[int, int] = {t: -1 for t in model.inputs}
    for k, s in enumerate(steps):
        for t in s.inputs:
            if t not in first:
                raise PipelineError(f"operator {s.index} ({s.op}) reads tensor {t} before anything writes it")
            last[t] = k
        for t in s.outputs:
            first.setdefault(t, k)
            last[t] = max(last.get(t, k), k)
    for t in model.outputs:
        if t not in first:
            raise PipelineError(f"model output tensor {t} is never written")
        last[t] = end
    # Inputs die after their last reader, as in TFLM's planner: on VWW (96x96x3) that frees
    # 27,648 bytes for the first layers' outputs. Running again on the same data means writing
    # the input again (the UART app keeps a copy for `infer N W`, see AOT_INPUTS_CONSUMED).
    size = {t: tensor_bytes(model, t) for t in first}
    aliases = _inplace_pairs(model, steps, first, last, size)
    # An output written in place over its input shares that input's bytes: the pair is one block
    # for the placer, live from the input's first use to the output's last.
    group = {t: t for t in first}

    def root(t: int) -> int:
        while group[t] != t:
            t = group[t]
        return t
    for out, inp in aliases.items():
        group[out] = root(inp)
    # A step's scratch is placed like a tensor live during that step only (key -1 - k: no tensor id).
    for k, s in enumerate(steps):
        if s.scratch:
            first[-1 - k] = last[-1 - k] = k
            size[-1 - k] = s.scratch
            group[-1 - k] = -1 - k
    members: dict[int, list[int]] = {}
    for t in first:
        members.setdefault(root(t), []).append(t)
    g_first = {g: min(first[t] for t in ts) for g, ts in members.items()}
    g_last = {g: max(last[t] for t in ts) for g, ts in members.items()}
    g_size = {g: max(size[t] for t in ts) for g, ts in members.items()}
    # Greedy placement is order-sensitive; a few classic orders are tried and the smallest arena
    # wins (MLPerf VWW: largest-first alone gives 64,512 bytes, the best of these 55,296, which is the
    # floor: its 36,864-byte layer output is live next to an 18,432-byte one).
    gs, gf, gl = g_size, g_first, g_last
    orders = [
        sorted(gs, key=lambda g: (-gs[g], g)),                                  # largest first
        sorted(gs, key=lambda g: (gf[g], -gs[g], g)),                           # by first use
        sorted(gs, key=lambda g: (-(gl[g] - gf[g]), -gs[g], g)),                # longest-lived
        sorted(gs, key=lambda g: (-gs[g] * (gl[g] - gf[g] + 1), g)),            # size x lifetime
    ]
    best: list[Buffer] | None = None
    for order in orders:
        placed = _place(order, gs, gf, gl)
        if best is None or _extent(placed) < _extent(best):
            best = placed
    arena = _align(_extent(best))
    offset = {b.tensor: b.offset for b in best}
    buffers = {t: Buffer(t, offset[root(t)], size[t], first[t], last[t]) for t in first if t >= 0}
    scratch = {s.index: offset[-1 - k] for k, s in enumerate(steps) if s.scratch}
    return MemoryPlan(buffers, arena, aliases, scratch)


def _inplace_input(model: TFLiteModel, s: Step) -> int | None:
    """The input a kernel can overwrite with its own output (firmware/kernels: each reads what it
    needs before writing over it), or None.
    - DEPTHWISE_CONV_2D, multiplier 1, stride 1, same shape: output rows wait in a small ring until
      no later row reads the input row below them (dwconv.c dw_rows);
    - 1x1 CONV_2D on the GEMM path, stride 1, out_c <= in_c: each pixel pair is copied or widened
      before its outputs are written, and output pixel p never reaches input pixel p + 1;
    - ADD: element i is read before it is written (the overwritten operand must not broadcast);
    - kernels the op table marks `inplace` (RESHAPE's copy: the same bytes; elementwise ones);
    - a fused residual block whose schedule was checked at build time (fuse.py _inplace_safe)."""
    p = s.params
    if s.kernel == "dwconv":
        if p["depth_mult"] == 1 and p["stride_h"] == p["stride_w"] == 1 and \
                (p["out_h"], p["out_w"]) == (p["in_h"], p["in_w"]):
            return s.inputs[0]
    elif s.kernel == "conv":
        if p["k_h"] == p["k_w"] == 1 and p["stride_h"] == p["stride_w"] == 1 and p["pad_h"] == p["pad_w"] == 0 \
                and (p["out_h"], p["out_w"]) == (p["in_h"], p["in_w"]) and p["out_c"] <= p["in_c"] \
                and p.get("wpack"):
            return s.inputs[0]
    elif s.kernel == "add":
        if p.get("const_a") is None and p.get("const_b") is None and len(s.inputs) == 2:
            dense = dense_strides(p["shape"])
            for t, strides in zip(s.inputs, (p["s1"], p["s2"])):
                if list(strides) == dense:
                    return t
    elif s.kernel == "resblock" and p.get("inplace"):
        return s.inputs[0]
    elif KERNELS[s.kernel].inplace:
        return s.inputs[0]
    return None


def _inplace_pairs(model: TFLiteModel, steps: list[Step], first: dict[int, int], last: dict[int, int],
                   size: dict[int, int]) -> dict[int, int]:
    pairs: dict[int, int] = {}
    for k, s in enumerate(steps):
        inp = _inplace_input(model, s)
        if inp is None or len(s.outputs) != 1:
            continue
        out = s.outputs[0]
        # the input must die here (nothing later reads it) and not be a model output
        if last.get(inp) != k or inp in model.outputs or first.get(out) != k or size[out] > size[inp] \
                or s.inputs.count(inp) > 1:
            continue
        pairs[out] = inp
    return pairs


def _extent(placed: list[Buffer]) -> int:
    return max((b.offset + b.size for b in placed), default=0)


def _place(order: list[int], size: dict[int, int], first: dict[int, int], last: dict[int, int]) -> list[Buffer]:
    """Each tensor in turn at the lowest aligned offset clear of every placed tensor it is live with."""
    placed: list[Buffer] = []
    for t in order:
        n, lo, hi = size[t], first[t], last[t]
        offset = 0
        # Scan the live neighbours by offset; each pass either fits or jumps past one (<= n passes).
        clashes = sorted((b for b in placed if b.first <= hi and lo <= b.last), key=lambda b: b.offset)
        for b in clashes:
            if offset + n <= b.offset:
                break
            offset = max(offset, _align(b.offset + b.size))
        placed.append(Buffer(t, offset, n, lo, hi))
    return placed
