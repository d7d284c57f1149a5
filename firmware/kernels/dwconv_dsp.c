/* DEPTHWISE_CONV_2D, multiplier 1, one output row with SMLAD (dwconv.c chooses it and holds the
 * portable row kernel). SMLAD-class DSP instructions exist on M4, M7 and M55 alike. A Helium
 * depthwise (VLDRB.S32 + VMUL + VADD per tap of four channels, MVE has no vector-by-vector VMLA) was
 * measured slower than this on the QEMU M55 (413k vs 372k instructions per KWS depthwise layer), so
 * M55 runs this path too. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"
#include "aot_dot.h"
#include "aot_dwconv.h"
#include <string.h>

#if defined(AOT_DW_DSP)
#include <arm_acle.h>

/* Stack bytes for the zero-point padded copy of one output row's input rows (k_h x PW x C); wider
 * layers take the bounds-checked path instead (the app's stack is 8 KB by default). */
enum { DW_PAD_MAX_BYTES = 3072 };

/* The k_h input rows output row iy0 + pad_h reads, PW pixels wide from column -pad_w, copied into
 * `pad` (k_h rows of PW * C bytes) with the zero point wherever the window leaves the input. */
static void dw_fill_pad(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t PW, int8_t *pad) {
    const int32_t C = p->in_c, prow = PW * C;
    const int8_t zp = (int8_t)(-p->in_offset);
    const int32_t left = p->pad_w < PW ? p->pad_w : PW;
    const int32_t avail = p->in_w < PW - left ? p->in_w : PW - left;
    for (int32_t ky = 0; ky < p->k_h; ++ky, pad += prow) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            memset(pad, zp, (size_t)prow);
            continue;
        }
        memset(pad, zp, (size_t)left * C);
        memcpy(pad + left * C, inb + (size_t)iy * p->in_w * C, (size_t)avail * C);
        memset(pad + (left + avail) * C, zp, (size_t)(PW - left - avail) * C);
    }
}



/* Two weight words and a post-increment in one LDRD. */
static inline void ldrd_w(const uint32_t **p, uint32_t *lo, uint32_t *hi) {
    __asm("ldrd %0, %1, [%2], #8" : "=r"(*lo), "=r"(*hi), "+r"(*p) : "m"(*(const uint32_t(*)[2]) * p));
}

/* One tap of four interleaved channels: the activation word widened with the input offset added
 * (SXTAB16: x + in_offset fits int16, so skipped out-of-bounds taps equal zero-point padding), the
 * packed weights [w0 w2 | w1 w3] as two words, four 16x16 MACs. 8 instructions for 4 MACs. */
#define DW_TAP(x, wp)                                                                  \
    do {                                                                               \
        const uint32_t x02_ = __sxtab16(off2, (x)), x13_ = aot_sxtab16_ror8(off2, (x)); \
        const uint32_t w02_ = (wp)[0], w13_ = (wp)[1];                                 \
        a0 = __smlabb(x02_, w02_, a0);                                                 \
        a2 = __smlatt(x02_, w02_, a2);                                                 \
        a1 = __smlabb(x13_, w13_, a1);                                                 \
        a3 = __smlatt(x13_, w13_, a3);                                                 \
    } while (0)

/* n <= 4 channels of one pixel as a word; bytes past n (other pixels or past the tensor) are never read. */
static inline uint32_t dw_load(const int8_t *ip, int32_t n) {
    uint32_t x = 0;
    if (n == 4) memcpy(&x, ip, 4);
    else memcpy(&x, ip, (size_t)n);
    return x;
}

#define DW_INLINE static inline __attribute__((always_inline))

/* Four channels through the one-multiply requantization, no loop and no array (GCC 12 spilled one). */
DW_INLINE void dw_store4_rq(const aot_conv_t *p, int8_t *o, const aot_rq_t *q, int32_t a0, int32_t a1,
                            int32_t a2, int32_t a3) {
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t v0 = aot_rq(q, a0), v1 = aot_rq(q + 1, a1), v2 = aot_rq(q + 2, a2), v3 = aot_rq(q + 3, a3);
    if (lo == -128 && hi == 127) {
        o[0] = (int8_t)__ssat(v0, 8);
        o[1] = (int8_t)__ssat(v1, 8);
        o[2] = (int8_t)__ssat(v2, 8);
        o[3] = (int8_t)__ssat(v3, 8);
    } else {
        o[0] = aot_rq_clamp(v0, lo, hi);
        o[1] = aot_rq_clamp(v1, lo, hi);
        o[2] = aot_rq_clamp(v2, lo, hi);
        o[3] = aot_rq_clamp(v3, lo, hi);
    }
}

DW_INLINE void dw_store(const aot_conv_t *p, int8_t *o, int32_t c, int32_t n, int32_t a0, int32_t a1,
                        int32_t a2, int32_t a3) {
    const int32_t lo = p->act_min, hi = p->act_max;
    if (p->rq && n == 4) {
        dw_store4_rq(p, o, p->rq + c, a0, a1, a2, a3);
        return;
    }
    const int32_t acc[4] = {a0, a1, a2, a3};
    for (int32_t j = 0; j < n; ++j) {
        int32_t v = p->rq ? aot_rq(p->rq + c + j, acc[j])
                          : aot_mbqm(acc[j], p->mult[c + j], p->shift[c + j]) + p->out_offset;
        o[j] = (int8_t)aot_clamp(v, lo, hi);
    }
}

/* One output pixel, channels c..c+n-1 (n <= 4), the taps ky0..ky1 x kx0..kx1 inside the input. */
static void dw_group(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t ix0, int32_t ky0,
                     int32_t ky1, int32_t kx0, int32_t kx1, int32_t c, int32_t n, int8_t *o) {
    const uint32_t off2 = (uint32_t)(uint16_t)(int16_t)p->in_offset * 0x10001u;
    const int32_t C = p->in_c, xstep = p->dil_w * C;
    const uint32_t *wg = (const uint32_t *)p->wpack + (size_t)(c >> 2) * p->k_h * p->k_w * 2;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    if (p->bias) {
        a0 = p->bias[c];
        if (n > 1) a1 = p->bias[c + 1];
        if (n > 2) a2 = p->bias[c + 2];
        if (n > 3) a3 = p->bias[c + 3];
    }
    for (int32_t ky = ky0; ky < ky1; ++ky) {
        const int8_t *ip = inb + ((size_t)(iy0 + ky * p->dil_h) * p->in_w + (ix0 + kx0 * p->dil_w)) * C + c;
        const uint32_t *wp = wg + ((size_t)ky * p->k_w + kx0) * 2;
        for (int32_t kx = kx0; kx < kx1; ++kx, ip += xstep, wp += 2) {
            const uint32_t x = dw_load(ip, n);
            DW_TAP(x, wp);
        }
    }
    dw_store(p, o, c, n, a0, a1, a2, a3);
}

/* A 3x3 window wholly inside the input, stride and dilation free: every full channel group with nine
 * unrolled taps and no bounds or loop bookkeeping (the bulk of a depthwise layer: ~8 instructions
 * per tap of four channels plus the requantization). */
static inline __attribute__((always_inline)) void dw_3x3_k(const aot_conv_t *p, const int8_t *r0, int32_t row,
                                                          int8_t *o, const int kind) {
    const int32_t C = p->in_c, C4 = C & ~3, C2 = 2 * C, lo = p->act_min, hi = p->act_max;
    const uint32_t *w = (const uint32_t *)p->wpack;
    const int32_t *acc0 = p->acc0;
    const aot_rq_t *q = p->rq;
    /* The input offset is already in acc0, so the activations widen without it (SXTB16), which
     * leaves a register for the row stride. */
#define DW_TAP0(x, wp)                                                             \
    do {                                                                           \
        const uint32_t x02_ = __sxtb16(x), x13_ = aot_sxtb16_ror8(x);              \
        uint32_t w02_, w13_;                                                       \
        ldrd_w(&(wp), &w02_, &w13_);                                               \
        a0 = __smlabb(x02_, w02_, a0);                                             \
        a2 = __smlatt(x02_, w02_, a2);                                             \
        a1 = __smlabb(x13_, w13_, a1);                                             \
        a3 = __smlatt(x13_, w13_, a3);                                             \
    } while (0)
#define DW_ROW()                                                                   \
    do {                                                                           \
        uint32_t x;                                                                \
        memcpy(&x, ip, 4);                                                         \
        DW_TAP0(x, w);                                                             \
        memcpy(&x, ip + C, 4);                                                     \
        DW_TAP0(x, w);                                                             \
        memcpy(&x, ip + C2, 4);                                                    \
        DW_TAP0(x, w);                                                             \
        ip += row;                                                                 \
        /* keeps GCC 12 from hoisting all nine loads (and spilling 12 registers) */ \
        __asm volatile("" ::: "memory");                                           \
    } while (0)
    for (int32_t c = 0; c < C4; c += 4, r0 += 4, acc0 += 4) {
        int32_t a0 = acc0[0], a1 = acc0[1], a2 = acc0[2], a3 = acc0[3];
        const int8_t *ip = r0;
        DW_ROW();
        DW_ROW();
        DW_ROW();
        if (kind >= 0) {
            o[c] = aot_clamp_kind(aot_rq(q + c, a0), kind, lo, hi);
            o[c + 1] = aot_clamp_kind(aot_rq(q + c + 1, a1), kind, lo, hi);
            o[c + 2] = aot_clamp_kind(aot_rq(q + c + 2, a2), kind, lo, hi);
            o[c + 3] = aot_clamp_kind(aot_rq(q + c + 3, a3), kind, lo, hi);
        } else {
            dw_store(p, o + c, c, 4, a0, a1, a2, a3);
        }
    }
#undef DW_ROW
#undef DW_TAP0
}

/* One copy per activation kind (see aot_act_kind); kind -1: no one-multiply constants. */
static void dw_3x3_interior(const aot_conv_t *p, const int8_t *r0, int32_t row, int8_t *o) {
    switch (p->rq ? aot_act_kind(p->act_min, p->act_max) : -1) {
    case AOT_ACT_NONE: dw_3x3_k(p, r0, row, o, AOT_ACT_NONE); break;
    case AOT_ACT_LOWER: dw_3x3_k(p, r0, row, o, AOT_ACT_LOWER); break;
    case AOT_ACT_BOTH: dw_3x3_k(p, r0, row, o, AOT_ACT_BOTH); break;
    default: dw_3x3_k(p, r0, row, o, -1); break;
    }
}

/* Every full channel group of one output pixel over taps ky0..ky1 x kx0..kx1, the first tap's input at
 * `base`, rows `ystep` bytes apart, with the input offset added while widening (skipped taps equal
 * zero-point padding). */
static void dw_taps(const aot_conv_t *p, const int8_t *base, int32_t ystep, int32_t ky0, int32_t ky1,
                    int32_t kx0, int32_t kx1, int8_t *o) {
    const uint32_t off2 = (uint32_t)(uint16_t)(int16_t)p->in_offset * 0x10001u;
    const int32_t C = p->in_c, C4 = C & ~3, xstep = p->dil_w * C;
    const int32_t taps2 = p->k_h * p->k_w * 2, nx = kx1 - kx0, ny = ky1 - ky0;
    const uint32_t *wbase = (const uint32_t *)p->wpack + ((size_t)ky0 * p->k_w + kx0) * 2;
    for (int32_t c = 0; c < C4; c += 4, base += 4, wbase += taps2) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        if (p->bias) {
            a0 = p->bias[c];
            a1 = p->bias[c + 1];
            a2 = p->bias[c + 2];
            a3 = p->bias[c + 3];
        }
        const int8_t *ipr = base;
        const uint32_t *wr = wbase;
        for (int32_t r = 0; r < ny; ++r, ipr += ystep, wr += p->k_w * 2) {
            const int8_t *ip = ipr;
            const uint32_t *wp = wr;
            for (int32_t k = 0; k < nx; ++k, ip += xstep, wp += 2) {
                uint32_t x;
                memcpy(&x, ip, 4);
                DW_TAP(x, wp);
            }
        }
        dw_store(p, o + c, c, 4, a0, a1, a2, a3);
    }
}

/* A window clipped to the input (the taps ky0..ky1 x kx0..kx1 inside it). */
static void dw_window(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t ix0, int32_t ky0,
                      int32_t ky1, int32_t kx0, int32_t kx1, int8_t *o) {
    const int8_t *base = inb + ((size_t)(iy0 + ky0 * p->dil_h) * p->in_w + (ix0 + kx0 * p->dil_w)) * p->in_c;
    dw_taps(p, base, p->dil_h * p->in_w * p->in_c, ky0, ky1, kx0, kx1, o);
}

/* A full window over the padded rows (consecutive rows of the block, prow bytes apart). */
static void dw_window_padded(const aot_conv_t *p, const int8_t *base, int32_t prow, int8_t *o) {
    dw_taps(p, base, prow, 0, p->k_h, 0, p->k_w, o);
}

/* DEPTHWISE_CONV_2D, channel multiplier 1, on SMLAD cores: one output row, four channels per word,
 * weights packed at build time (pipeline/aot/compile/compiler.py pack_dw_weights). The k_h input rows the
 * output row reads are first copied into a zero-point padded block, so every window is a full one:
 * padding taps hold the zero point and contribute (zp + in_offset) * w = 0, the same bits as the
 * reference's skipped taps. On the KWS DS-CNN (25x5x64, 3x3 SAME) that turns the 56 of 125 border
 * positions into unrolled interior ones for ~1.3 KB of stack and ~450 copied bytes per row. */
void aot_dw_dsp_row(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out) {
    const int32_t C = p->in_c, C4 = C & ~3;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t PW = (p->out_w - 1) * p->stride_w + (p->k_w - 1) * p->dil_w + 1;
    const int32_t prow = PW * C;
    if (C4 > 0 && p->acc0 && (size_t)p->k_h * prow <= DW_PAD_MAX_BYTES) {
        int8_t pad[p->k_h][prow];
        dw_fill_pad(p, inb, iy0, PW, &pad[0][0]);
        const int fast3 = p->k_h == 3 && p->k_w == 3 && p->dil_w == 1;
        const int32_t xs = p->stride_w * C;
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            if (fast3) dw_3x3_interior(p, pad[0] + ox * xs, prow, out + ox * C);
            else dw_window_padded(p, pad[0] + ox * xs, prow, out + ox * C);
        }
        if (C4 == C) return;
    }
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx0 = 0, kx1 = p->k_w, ky0 = 0, ky1 = p->k_h;
        while (ky0 < ky1 && iy0 + ky0 * p->dil_h < 0) ++ky0;
        while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
        while (kx0 < kx1 && ix0 + kx0 * p->dil_w < 0) ++kx0;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
        int8_t *o = out + ox * C;
        if (C4 > 0 && !(p->acc0 && (size_t)p->k_h * prow <= DW_PAD_MAX_BYTES))
            dw_window(p, inb, iy0, ix0, ky0, ky1, kx0, kx1, o);
        if (C4 < C) dw_group(p, inb, iy0, ix0, ky0, ky1, kx0, kx1, C4, C - C4, o + C4);
    }
}
#else
/* The host and cores without SMLAD run dwconv.c's row kernel; ISO C wants a declaration in every file. */
typedef int aot_dwconv_dsp_unused_t;
#endif
