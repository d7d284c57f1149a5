"""The AOT compiler front door: TFLite file -> lowered steps -> memory plan -> C sources."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import atomic
from ...tflite import TFLiteModel, read_model
from .codegen import KERNELS, Generated, render
from .fuse import fuse_residual_blocks
from .lower import Const, Step, lower
from .plan import MemoryPlan, plan


@dataclass(frozen=True)
class Compiled:
    model: TFLiteModel
    steps: list[Step]
    memory: MemoryPlan
    sources: Generated

    @property
    def arena_bytes(self) -> int:
        return self.memory.arena_bytes

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.steps)

    def summary(self) -> dict:
        return {"model_sha256": self.model.sha256, "ops": [s.op for s in self.steps],
                "arena_bytes": self.memory.arena_bytes, "arena_bytes_without_reuse": self.memory.naive_bytes,
                "macs": self.macs,
                # the portable layout; a target using the packed copy (`*_wp`) stores that instead
                "weights_bytes": sum(c.values.size * _CBYTES[c.ctype] for s in self.steps
                                     for part in (s.parts or [s]) for c in part.consts
                                     if not c.name.endswith("_wp"))}


_CBYTES = {"int8_t": 1, "int16_t": 2, "int32_t": 4}
# Must equal AOT_GEMM_MAX_K in firmware/kernels/aot_gemm.h: the largest patch the GEMM path takes.
GEMM_MAX_K = 640
# Tallest depthwise kernel the SMLAD path takes (firmware/kernels/aot_dwconv.h DW_MAX_KH).
DW_MAX_KH = 16


def pack_gemm_weights(w: np.ndarray) -> np.ndarray:
    """[out_c][K] int8 weights -> the int16 layout of the GEMM kernels (aot_gemm.h): channels in
    pairs (an odd last channel paired with zeros), K padded to a multiple of 4 with zeros, and per
    group of 4 taps k0..k3 of a pair: [c0: k0 k2 k1 k3][c1: k0 k2 k1 k3] -- the order SXTB16 gives
    the activations, so SMLAD multiplies matching taps. Built once here instead of widened at run time."""
    oc, k = w.shape
    oc2, k4 = oc + (oc & 1), -(-k // 4) * 4
    full = np.zeros((oc2, k4), np.int16)
    full[:oc, :k] = w
    g = full.reshape(oc2 // 2, 2, k4 // 4, 4)[..., [0, 2, 1, 3]]     # [pair][c][group][tap]
    return np.ascontiguousarray(g.transpose(0, 2, 1, 3)).reshape(-1)  # [pair][group][c][tap]


def pack_dw_weights(w: np.ndarray) -> np.ndarray:
    """[taps][C] int8 depthwise weights (multiplier 1) -> int16 [C/4 groups][taps][c0 c2 c1 c3],
    C padded to 4 with zeros: the order SXTAB16 widens four interleaved channels into, so each tap
    of a channel group is one LDRD next to the activation word (firmware/kernels/dwconv_dsp.c)."""
    taps, c = w.shape
    c4 = -(-c // 4) * 4
    full = np.zeros((taps, c4), np.int16)
    full[:, :c] = w
    g = full.reshape(taps, c4 // 4, 4)[..., [0, 2, 1, 3]]            # [tap][group][lane]
    return np.ascontiguousarray(g.transpose(1, 0, 2)).reshape(-1)    # [group][tap][lane]


# firmware/kernels/dw_plane.c: its plane columns are DW_PLANE_COL halfwords (a fixed 64-byte
# stride the assembly reaches with immediate offsets) and it may take DW_PLANE_MAX_BYTES of stack.
DW_PLANE_COL = 32
DW_PLANE_MAX_BYTES = 2048


def dw_plane_bytes(p: dict) -> int:
    """Stack bytes of dw_plane.c's plane: W + 3 columns of DW_PLANE_COL int16."""
    return 2 * DW_PLANE_COL * (p["in_w"] + 3)


def takes_dw_plane(s: Step) -> bool:
    """3x3, stride 1, SAME depthwise layers with the one-multiply requantization whose plane fits
    (an odd last row's block reads plane rows H-1..H+2, so H + 3 within a column; the stack within
    DW_PLANE_MAX_BYTES)."""
    p = s.params
    return (s.kernel == "dwconv" and p["depth_mult"] == 1 and p["k_h"] == p["k_w"] == 3
            and p["stride_h"] == p["stride_w"] == p["dil_h"] == p["dil_w"] == 1
            and p["pad_h"] == p["pad_w"] == 1 and (p["out_h"], p["out_w"]) == (p["in_h"], p["in_w"])
            and bool(p.get("rq")) and p["in_h"] + 3 <= DW_PLANE_COL and dw_plane_bytes(p) <= DW_PLANE_MAX_BYTES)


def int32_halves(words: np.ndarray) -> np.ndarray:
    """int32 words (any int dtype, wrapped to 32 bits) as their little-endian int16 halves, low
    first, shape [..., 2n]: how the templates' int16 `_wp` arrays carry the kernels' int32 records."""
    u = (np.asarray(words, np.int64) & 0xFFFFFFFF).astype(np.uint32)
    return u.view(np.uint16).astype(np.int16)


def pack_dw_plane(w: np.ndarray, acc0: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """Per channel the 13 int32 words dw_plane.c reads, as int16 halves (the template's wpack type):
    [2*acc0 x 4][K0 K0' K1 K1' K2 K2'][m h r], where
    Kj = (w0j, w1j) and Kj' = (w1j, w2j) of kernel column j, low half first, doubled (|2w| <= 256
    fits int16) so the accumulators come out doubled for aot_rq2. w: [3][3][C] int8."""
    c = w.shape[2]
    w2 = 2 * w.astype(np.int64)
    k = np.empty((c, 3, 2, 2), np.int64)
    for j in range(3):
        k[:, j, 0] = w2[0:2, j].T
        k[:, j, 1] = w2[1:3, j].T
    k_words = (k[..., 0] & 0xFFFF) | ((k[..., 1] & 0xFFFF) << 16)           # [C][3][2]
    rec = np.zeros((c, 13), np.int64)
    rec[:, 0:4] = (2 * acc0)[:, None]
    rec[:, 4:10] = k_words.reshape(c, 6)
    rec[:, 10:13] = rq.reshape(c, 3)
    return int32_halves(rec).reshape(-1)


# Halfwords before and after a channel pair's weights in the GEMM stream (pack_gemm_stream): four
# int32 accumulator starts, then two aot_rq_t. Must equal AOT_GEMM_HEAD/AOT_GEMM_TAIL in aot_gemm.h.
GEMM_STREAM_HEAD, GEMM_STREAM_TAIL = 8, 12


def pack_gemm_stream(w: np.ndarray, acc0: np.ndarray, rq: np.ndarray) -> np.ndarray:
    """The packed weights of a layer with the one-multiply requantization, as the one stream the
    GEMM assembly reads front to back: per channel pair [its four accumulator starts
    (gemm_acc0_layout)][its weights (pack_gemm_weights)][m h r of both channels]. Weights and
    accumulator starts are doubled (|2w| <= 256 fits int16; |2 acc| < 2^31 because the compiler
    only takes this path for |acc| < 2^30), so the sums come out as 2x and the requantization skips
    its doubling (aot_rq2); with both records in the stream, a channel pair needs no pointer but
    the stream's. w: [out_c][K] int8; acc0: [out_c]; rq: [out_c or 1][3]."""
    oc, k = w.shape
    body = (2 * pack_gemm_weights(w).astype(np.int32)).astype(np.int16).reshape(-(-oc // 2), -1)
    a = 2 * gemm_acc0_layout(acc0).reshape(-1, 4)
    r = np.broadcast_to(np.asarray(rq, np.int64).reshape(-1, 3), (oc, 3))
    if oc % 2:
        r = np.concatenate([r, r[-1:]])
    return np.concatenate([int32_halves(a), body, int32_halves(r.reshape(-1, 6))], axis=1).reshape(-1)


def gemm_acc0_layout(acc0: np.ndarray) -> np.ndarray:
    """Per channel pair (c, c + 1) the four accumulator starts of the GEMM assembly's 2x2 block in
    the order one LDM fills r0, r9, r10, r11 = s11, s00, s01, s10: [a1 a0 a0 a1]. An odd last
    channel (run by the C tail, which does not read acc0) gets a pair of its own."""
    a = np.asarray(acc0, np.int64)
    if a.size % 2:
        a = np.append(a, a[-1])
    pairs = a.reshape(-1, 2)
    return pairs[:, [1, 0, 0, 1]].reshape(-1)


def _wrap32(v: np.ndarray) -> np.ndarray:
    """int64 -> int32 with two's-complement wrap, as the kernels' int32 accumulators add."""
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)


def _pack(steps: list[Step]) -> None:
    """Add the packed weights (`opN_wp`, params wpack) to every CONV_2D / FULLY_CONNECTED step the
    GEMM path takes; the template emits them instead of the plain weights where the target's
    kernels use them (AOT_PACKED_W: every core but Helium, and the host proof)."""
    for s in steps:
        if takes_dw_plane(s):
            c = s.params["out_c"]
            w = next(k for k in s.consts if k.name == f"op{s.index}_w")
            rq = next(k for k in s.consts if k.name == f"op{s.index}_rq")
            bias = next((np.asarray(k.values, np.int64) for k in s.consts if k.name == f"op{s.index}_bias"),
                        np.zeros(c, np.int64))
            wt = np.asarray(w.values).reshape(3, 3, c)
            # the plane holds x itself with a zero-point border, so the accumulator starts from
            # bias + in_offset * sum(w): sum w * (x + off) == sum w * x + off * sum w
            acc0 = bias + s.params["in_offset"] * wt.astype(np.int64).reshape(9, c).sum(axis=0)
            s.consts.append(Const(f"op{s.index}_wp", "int16_t",
                                  pack_dw_plane(wt, acc0, np.asarray(rq.values, np.int64))))
            s.params["wpack"] = True
            s.params["dw_plane"] = 1
            continue
        if s.kernel == "dwconv" and s.params["depth_mult"] == 1 and s.params["k_h"] <= DW_MAX_KH:
            w = next(c for c in s.consts if c.name == f"op{s.index}_w")
            taps = s.params["k_h"] * s.params["k_w"]
            wt = np.asarray(w.values).reshape(taps, s.params["out_c"])
            s.consts.append(Const(f"op{s.index}_wp", "int16_t", pack_dw_weights(wt)))
            # A window wholly inside the input starts from bias + in_offset * sum(w) and then needs
            # no per-tap offset: sum w * (x + off) == sum w * x + off * sum w, exact in integers.
            bias = next((np.asarray(c.values, np.int64) for c in s.consts if c.name == f"op{s.index}_bias"), 0)
            acc0 = bias + s.params["in_offset"] * wt.astype(np.int64).sum(axis=0)
            s.consts.append(Const(f"op{s.index}_acc0", "int32_t", _wrap32(acc0)))
            s.params["wpack"] = True
            continue
        if s.kernel == "conv":
            k = s.params["k_h"] * s.params["k_w"] * s.params["in_c"]
            oc = s.params["out_c"]
        elif s.kernel == "fc" and s.params["filter_offset"] == 0:
            k, oc = s.params["depth"], s.params["out_c"]
        else:
            continue
        fsum = [c for c in s.consts if c.name.endswith("_fsum")]
        if k > GEMM_MAX_K or not fsum:
            continue
        w = np.asarray(next(c for c in s.consts if c.name == f"op{s.index}_w").values).reshape(oc, k)
        rq = next((c for c in s.consts if c.name == f"op{s.index}_rq"), None)
        if rq is None or not s.params.get("rq"):
            s.consts.append(Const(f"op{s.index}_wp", "int16_t", pack_gemm_weights(w)))
            s.params.pop("wstream", None)
        else:
            # each output's accumulator start, bias + in_offset * sum(w): one load instead of two and a MLA
            bias = next((np.asarray(c.values, np.int64) for c in s.consts if c.name == f"op{s.index}_bias"), 0)
            acc0 = bias + s.params["in_offset"] * np.asarray(fsum[0].values, np.int64)
            s.consts.append(Const(f"op{s.index}_wp", "int16_t",
                                  pack_gemm_stream(w, _wrap32(acc0), np.asarray(rq.values, np.int64))))
            s.params["wstream"] = 1      # the records are in the stream: `_rq` only where it is not used
        s.params["wpack"] = True


def compile_model(model: TFLiteModel | bytes | Path | str) -> Compiled:
    """Raises PipelineError (naming op and operator index) for anything unsupported."""
    m = model if isinstance(model, TFLiteModel) else read_model(model)
    steps = lower(m)
    _pack(steps)
    steps = fuse_residual_blocks(m, steps)   # after _pack: the blocks' convolutions are packed as usual
    mem = plan(m, steps)
    return Compiled(m, steps, mem, render(m, steps, mem))


def write_sources(compiled: Compiled, out_dir: Path) -> Path:
    """model sources + a summary into out_dir, atomically (kernels stay in firmware/kernels)."""
    with atomic.atomic_dir(out_dir) as tmp:
        for name, text in compiled.sources.files.items():
            (tmp / name).write_text(text)
        atomic.write_json(tmp / "aot_summary.json", compiled.summary())
    return Path(out_dir)


def kernel_sources() -> list[Path]:
    return sorted(KERNELS.glob("*.c"))
