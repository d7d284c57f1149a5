/* CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantization (TFLite int8 spec).
 * Out-of-bounds taps are skipped, which equals padding with the input zero point.
 * Interior outputs (whole window inside the input) use sum f*(x+off) = dot(f, x) + off*sum(f)
 * with sum(f) precomputed at build time: exact in integers, and the dot product is SIMD. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"
#include "aot_dot.h"
#include "aot_gemm.h"
#include <string.h>

static int32_t conv_border(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t ix0, int32_t oc) {
    int32_t acc = 0;
    const int8_t *f = p->filter + (size_t)oc * p->k_h * p->k_w * p->in_c;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) continue;
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) continue;
            const int8_t *ip = inb + ((size_t)iy * p->in_w + ix) * p->in_c;
            const int8_t *fp = f + ((size_t)ky * p->k_w + kx) * p->in_c;
            for (int32_t ic = 0; ic < p->in_c; ++ic)
                acc += (int32_t)fp[ic] * ((int32_t)ip[ic] + p->in_offset);
        }
    }
    return acc;
}

static int32_t conv_interior(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t ix0, int32_t oc) {
    const int32_t row = p->k_w * p->in_c;
    const int8_t *f = p->filter + (size_t)oc * p->k_h * row;
    int32_t acc = p->in_offset * p->fsum[oc];
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int8_t *ip = inb + ((size_t)(iy0 + ky * p->dil_h) * p->in_w + ix0) * p->in_c;
        const int8_t *fp = f + (size_t)ky * row;
        if (p->dil_w == 1) {
            acc = aot_dot_s8(ip, fp, row, acc);   /* kx and ic are contiguous in both */
        } else {
            for (int32_t kx = 0; kx < p->k_w; ++kx)
                acc = aot_dot_s8(ip + (size_t)kx * p->dil_w * p->in_c, fp + (size_t)kx * p->in_c, p->in_c, acc);
        }
    }
    return acc;
}

static void conv_ref(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t span_h = (p->k_h - 1) * p->dil_h, span_w = (p->k_w - 1) * p->dil_w;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int inside = p->fsum && iy0 >= 0 && iy0 + span_h < p->in_h && ix0 >= 0 && ix0 + span_w < p->in_w;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = inside ? conv_interior(p, inb, iy0, ix0, oc) : conv_border(p, inb, iy0, ix0, oc);
                    if (p->bias) acc += p->bias[oc];
                    acc = p->rq ? aot_rq(p->rq + oc, acc) : aot_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
                    *out++ = (int8_t)aot_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* The im2col patch of output pixel `pix` (b, oy, ox flattened): K = k_h * k_w * in_c values in the
 * filter's [ky][kx][ic] order, out-of-bounds taps holding the input zero point (-in_offset), which
 * contributes exactly 0 to sum (x + in_offset) * w. A 1x1 tap inside the input needs no copy. */
static const int8_t *conv_patch(const aot_conv_t *p, const int8_t *in, int32_t pix, int8_t *buf) {
    const int32_t hw = p->out_h * p->out_w;
    const int32_t b = pix / hw, r = pix - b * hw, oy = r / p->out_w, ox = r - oy * p->out_w;
    const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t c = p->in_c, span_w = (p->k_w - 1) * p->dil_w;
    if (p->k_h == 1 && p->k_w == 1 && iy0 >= 0 && iy0 < p->in_h && ix0 >= 0 && ix0 < p->in_w)
        return inb + ((size_t)iy0 * p->in_w + ix0) * c;
    const int8_t zp = (int8_t)(-p->in_offset);
    int8_t *d = buf;
    for (int32_t ky = 0; ky < p->k_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            memset(d, zp, (size_t)p->k_w * c);
            d += p->k_w * c;
            continue;
        }
        const int8_t *row = inb + (size_t)iy * p->in_w * c;
        if (p->dil_w == 1 && ix0 >= 0 && ix0 + span_w < p->in_w) {
            memcpy(d, row + (size_t)ix0 * c, (size_t)p->k_w * c);
            d += p->k_w * c;
            continue;
        }
        for (int32_t kx = 0; kx < p->k_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dil_w;
            if (ix < 0 || ix >= p->in_w) memset(d, zp, (size_t)c);
            else memcpy(d, row + (size_t)ix * c, (size_t)c);
            d += c;
        }
    }
    return buf;
}

/* CONV_2D as a GEMM over pairs of output pixels: each patch is gathered (and widened) once and
 * reused by every output channel. */
void aot_conv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t K = p->k_h * p->k_w * p->in_c;
    if (AOT_PACKED_W ? !p->wpack : (!p->fsum || K > AOT_GEMM_MAX_K)) {
        conv_ref(p, in, out);
        return;
    }
    const aot_gemm_t g = {K, p->out_c, p->in_offset, p->out_offset, p->act_min, p->act_max, 1,
                          p->filter, p->wpack, p->bias, p->fsum, p->mult, p->shift, p->rq};
    int8_t xbuf[2][K];                                 /* K <= AOT_GEMM_MAX_K */
    uint32_t scratch[AOT_GEMM_SCRATCH_WORDS(K)];
    const int32_t n = p->batches * p->out_h * p->out_w;
    int32_t pix = 0;
    for (; pix + 2 <= n; pix += 2) {
        aot_gemm_run2(&g, conv_patch(p, in, pix, xbuf[0]), conv_patch(p, in, pix + 1, xbuf[1]),
                      out, out + p->out_c, scratch);
        out += 2 * p->out_c;
    }
    if (pix < n) aot_gemm_run2(&g, conv_patch(p, in, pix, xbuf[0]), NULL, out, NULL, scratch);
}

/* SMLAD-class DSP instructions exist on M4, M7 and M55 alike (Helium does not replace them here). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define AOT_DW_DSP 1
#include <arm_acle.h>
enum { DW_MAX_KH = 16 };   /* pipeline/aot/compiler.py DW_MAX_KH */

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

DW_INLINE void dw_store(const aot_conv_t *p, int8_t *o, int32_t c, int32_t n, int32_t a0, int32_t a1,
                        int32_t a2, int32_t a3) {
    const int32_t lo = p->act_min, hi = p->act_max;
    if (p->rq && n == 4) {
        const aot_rq_t *q = p->rq + c;
        o[0] = aot_rq_clamp(aot_rq(q, a0), lo, hi);
        o[1] = aot_rq_clamp(aot_rq(q + 1, a1), lo, hi);
        o[2] = aot_rq_clamp(aot_rq(q + 2, a2), lo, hi);
        o[3] = aot_rq_clamp(aot_rq(q + 3, a3), lo, hi);
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
static void dw_3x3_interior(const aot_conv_t *p, const int8_t *r0, int8_t *o) {
    const int32_t C = p->in_c, C4 = C & ~3, row = p->in_w * C;
    const uint32_t *w = (const uint32_t *)p->wpack;
    const int32_t *acc0 = p->acc0;
    /* The input offset is already in acc0, so the activations widen without it (SXTB16), which
     * leaves a register for the row stride. */
#define DW_TAP0(x, wp)                                                             \
    do {                                                                           \
        const uint32_t x02_ = __sxtb16(x), x13_ = aot_sxtb16_ror8(x);         \
        const uint32_t w02_ = (wp)[0], w13_ = (wp)[1];                             \
        a0 = __smlabb(x02_, w02_, a0);                                             \
        a2 = __smlatt(x02_, w02_, a2);                                             \
        a1 = __smlabb(x13_, w13_, a1);                                             \
        a3 = __smlatt(x13_, w13_, a3);                                             \
    } while (0)
    for (int32_t c = 0; c < C4; c += 4, r0 += 4, w += 18) {
        int32_t a0 = acc0[c], a1 = acc0[c + 1], a2 = acc0[c + 2], a3 = acc0[c + 3];
        const int8_t *ip = r0;
        uint32_t x;
#pragma GCC unroll 3
        for (int32_t ky = 0; ky < 3; ++ky, ip += row) {
            memcpy(&x, ip, 4);
            DW_TAP0(x, w + 6 * ky);
            memcpy(&x, ip + C, 4);
            DW_TAP0(x, w + 6 * ky + 2);
            memcpy(&x, ip + 2 * C, 4);
            DW_TAP0(x, w + 6 * ky + 4);
        }
        dw_store(p, o + c, c, 4, a0, a1, a2, a3);
    }
#undef DW_TAP0
}

/* Any other window: every full channel group over the taps inside the input (ky0..ky1 x kx0..kx1),
 * with the input offset added while widening, so skipped taps equal zero-point padding. */
static void dw_window(const aot_conv_t *p, const int8_t *inb, int32_t iy0, int32_t ix0, int32_t ky0,
                      int32_t ky1, int32_t kx0, int32_t kx1, int8_t *o) {
    const uint32_t off2 = (uint32_t)(uint16_t)(int16_t)p->in_offset * 0x10001u;
    const int32_t C = p->in_c, C4 = C & ~3, xstep = p->dil_w * C, ystep = p->dil_h * p->in_w * C;
    const int32_t taps2 = p->k_h * p->k_w * 2, nx = kx1 - kx0, ny = ky1 - ky0;
    const int8_t *base = inb + ((size_t)(iy0 + ky0 * p->dil_h) * p->in_w + (ix0 + kx0 * p->dil_w)) * C;
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

/* DEPTHWISE_CONV_2D, channel multiplier 1, on SMLAD cores: four channels per word, weights packed
 * at build time (pipeline/aot/compiler.py pack_dw_weights). */
static void dw_dsp(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t C = p->in_c, C4 = C & ~3;
    const int fast3 = p->k_h == 3 && p->k_w == 3 && p->dil_h == 1 && p->dil_w == 1;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0 = 0, ky1 = p->k_h;
            while (ky0 < ky1 && iy0 + ky0 * p->dil_h < 0) ++ky0;
            while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx0 = 0, kx1 = p->k_w;
                while (kx0 < kx1 && ix0 + kx0 * p->dil_w < 0) ++kx0;
                while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
                int32_t c = 0;
                if (fast3 && p->acc0 && ky0 == 0 && ky1 == 3 && kx0 == 0 && kx1 == 3) {
                    dw_3x3_interior(p, inb + ((size_t)iy0 * p->in_w + ix0) * C, out);
                    c = C4;
                }
                if (c < C4) dw_window(p, inb, iy0, ix0, ky0, ky1, kx0, kx1, out);
                c = C4;
                if (c < C) dw_group(p, inb, iy0, ix0, ky0, ky1, kx0, kx1, c, C - c, out + c);
                out += C;
            }
        }
    }
}
#endif

/* Depthwise: channels are interleaved (NHWC), so the loop runs over channels innermost, in
 * chunks of 64 accumulators, with the valid tap range computed once per output position. */
void aot_dwconv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
#if defined(AOT_DW_DSP)
    if (p->wpack && p->depth_mult == 1 && p->k_h <= DW_MAX_KH) {
        dw_dsp(p, in, out);
        return;
    }
#endif
    enum { CHUNK = 64 };
    int32_t acc[CHUNK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * p->in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t ky0 = 0, ky1 = p->k_h;
            while (ky0 < ky1 && iy0 + ky0 * p->dil_h < 0) ++ky0;
            while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t kx0 = 0, kx1 = p->k_w;
                while (kx0 < kx1 && ix0 + kx0 * p->dil_w < 0) ++kx0;
                while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
                for (int32_t c0 = 0; c0 < p->out_c; c0 += CHUNK) {
                    const int32_t n = p->out_c - c0 < CHUNK ? p->out_c - c0 : CHUNK;
                    for (int32_t j = 0; j < n; ++j) acc[j] = p->bias ? p->bias[c0 + j] : 0;
                    for (int32_t ky = ky0; ky < ky1; ++ky) {
                        for (int32_t kx = kx0; kx < kx1; ++kx) {
                            const int8_t *ip = inb + ((size_t)(iy0 + ky * p->dil_h) * p->in_w +
                                                      (ix0 + kx * p->dil_w)) * p->in_c;
                            const int8_t *fp = p->filter + ((size_t)ky * p->k_w + kx) * p->out_c + c0;
                            if (p->depth_mult == 1) {
                                ip += c0;
                                for (int32_t j = 0; j < n; ++j)
                                    acc[j] += (int32_t)fp[j] * ((int32_t)ip[j] + p->in_offset);
                            } else {
                                for (int32_t j = 0; j < n; ++j)
                                    acc[j] += (int32_t)fp[j] * ((int32_t)ip[(c0 + j) / p->depth_mult] + p->in_offset);
                            }
                        }
                    }
                    int8_t *o = out + c0;
                    for (int32_t j = 0; j < n; ++j) {
                        int32_t v = p->rq ? aot_rq(p->rq + c0 + j, acc[j])
                                          : aot_mbqm(acc[j], p->mult[c0 + j], p->shift[c0 + j]) + p->out_offset;
                        o[j] = (int8_t)aot_clamp(v, p->act_min, p->act_max);
                    }
                }
                out += p->out_c;
            }
        }
    }
}
