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

/* n bytes, word at a time (unaligned LDR/STR are fine on v7E-M / v8-M and on the host); patches
 * copy k_w * in_c bytes per row (4 on the KWS DS-CNN's first layer), where a libc call costs more
 * than the copy. */
static inline void copy_bytes(int8_t *d, const int8_t *s, int32_t n) {
    for (; n >= 4; n -= 4, d += 4, s += 4) memcpy(d, s, 4);
    for (; n > 0; --n) *d++ = *s++;
}

static inline void fill_bytes(int8_t *d, int8_t v, int32_t n) {
    const uint32_t w = (uint8_t)v * 0x01010101u;
    for (; n >= 4; n -= 4, d += 4) memcpy(d, &w, 4);
    for (; n > 0; --n) *d++ = v;
}

/* 1x1, stride 1, no padding: output pixel p reads input pixel p, in + p * in_c. */
static inline int pointwise(const aot_conv_t *p) {
    return p->k_h == 1 && p->k_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0;
}

/* The im2col patch of output pixel `pix` (b, oy, ox flattened): K = k_h * k_w * in_c values in the
 * filter's [ky][kx][ic] order, out-of-bounds taps holding the input zero point (-in_offset), which
 * contributes exactly 0 to sum (x + in_offset) * w. A 1x1 tap inside the input needs no copy. */
/* GCC would turn the short fill and copy loops back into memset/memcpy calls (~20 instructions
 * each for the 0..4 bytes of a row edge); on the KWS DS-CNN's first layer the patches then cost
 * more than a third of the layer. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static const int8_t *conv_patch(const aot_conv_t *p, const int8_t *in, int32_t pix, int8_t *buf) {
    if (pointwise(p)) return in + (size_t)pix * p->in_c;   /* pixel pix itself, no division */
    const int32_t hw = p->out_h * p->out_w;
    const int32_t b = pix / hw, r = pix - b * hw, oy = r / p->out_w, ox = r - oy * p->out_w;
    const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * p->in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int32_t c = p->in_c, rowb = p->k_w * c;
    if (p->k_h == 1 && p->k_w == 1 && iy0 >= 0 && iy0 < p->in_h && ix0 >= 0 && ix0 < p->in_w)
        return inb + ((size_t)iy0 * p->in_w + ix0) * c;
    const int8_t zp = (int8_t)(-p->in_offset);
    /* the taps kx0..kx1-1 inside the input columns, the same for every row */
    int32_t kx0 = 0, kx1 = p->k_w;
    while (kx0 < kx1 && ix0 + kx0 * p->dil_w < 0) ++kx0;
    while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
    int8_t *d = buf;
    if (p->dil_w == 1 && kx0 == 0 && kx1 == p->k_w && (rowb & 3) == 0) {
        /* every column inside and whole words per row (the KWS DS-CNN's 10x4x1 first layer):
         * one word load and store per 4 bytes, the zero point as a word outside the rows */
        const uint32_t zpw = (uint8_t)zp * 0x01010101u;
        for (int32_t ky = 0, iy = iy0; ky < p->k_h; ++ky, iy += p->dil_h) {
            if (iy < 0 || iy >= p->in_h) {
                for (int32_t i = 0; i < rowb; i += 4, d += 4) memcpy(d, &zpw, 4);
                continue;
            }
            const int8_t *src = inb + ((size_t)iy * p->in_w + ix0) * c;
            for (int32_t i = 0; i < rowb; i += 4, d += 4) memcpy(d, src + i, 4);
        }
        return buf;
    }
    for (int32_t ky = 0; ky < p->k_h; ++ky, d += rowb) {
        const int32_t iy = iy0 + ky * p->dil_h;
        if (iy < 0 || iy >= p->in_h) {
            fill_bytes(d, zp, rowb);
            continue;
        }
        const int8_t *row = inb + (size_t)iy * p->in_w * c;
        fill_bytes(d, zp, kx0 * c);
        if (p->dil_w == 1) {
            copy_bytes(d + kx0 * c, row + (size_t)(ix0 + kx0) * c, (kx1 - kx0) * c);
        } else {
            for (int32_t kx = kx0; kx < kx1; ++kx)
                copy_bytes(d + kx * c, row + (size_t)(ix0 + kx * p->dil_w) * c, c);
        }
        fill_bytes(d + kx1 * c, zp, (p->k_w - kx1) * c);
    }
    return buf;
}

/* The patch of pixel `pix`. In place (a 1x1 layer the planner let write over its input, out_c <=
 * in_c) the SMLAD GEMM widens both patches into its scratch before writing any output; the Helium
 * and portable GEMMs read the patch while writing, so they get a copy. */
static const int8_t *conv_in(const aot_conv_t *p, const int8_t *in, int inplace, int32_t pix, int8_t *buf) {
    const int8_t *x = conv_patch(p, in, pix, buf);
#if !defined(AOT_GEMM_DSP)
    if (inplace && x != buf) {
        memcpy(buf, x, (size_t)p->k_h * p->k_w * p->in_c);
        return buf;
    }
#else
    (void)inplace;
#endif
    return x;
}

#if defined(AOT_GEMM_DSP)
#include <arm_acle.h>
#include "aot_dot.h"
/* Patches whose kernel rows are one word each (k_w * in_c == 4: the KWS DS-CNN's 10x4x1 first
 * layer) go straight into the GEMM's widened layout, one group of four taps per kernel row: a word
 * load, a shift pair for a row edge, two SXTB16 and a STRD per row and pixel. Building the byte
 * patch and widening it afterwards took ~1,100 instructions per pixel pair there (~60k of the
 * layer's 375k), mostly in the row-edge byte loops. */
static int word_rows(const aot_conv_t *p) {
    return p->k_w * p->in_c == 4 && p->dil_w == 1 && p->in_w * p->in_c >= 4;
}

/* Pixel pix's half of the widened pair (d: words 0-1 of the first group for the pair's first
 * pixel, words 2-3 for its second; four words per group). A row
 * with left padding is the row's first word shifted up with zero-point bytes below; with right
 * padding its last word shifted down with zero-point bytes above (loads never leave the row). */
static void widen_word_rows(const aot_conv_t *p, const int8_t *in, int32_t pix, uint32_t *d) {
    const int32_t hw = p->out_h * p->out_w;
    const int32_t b = pix / hw, r = pix - b * hw, oy = r / p->out_w, ox = r - oy * p->out_w;
    const int32_t c = p->in_c, rowb = p->in_w * c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = (ox * p->stride_w - p->pad_w) * c;
    const uint32_t zpw = (uint8_t)(-p->in_offset) * 0x01010101u;
    const uint32_t z02 = __sxtb16(zpw), z13 = aot_sxtb16_ror8(zpw);
    const int cols_out = ix0 <= -4 || ix0 >= rowb;   /* every column of the window in the padding */
    int32_t off = ix0, sr = 0, sl = 0;
    uint32_t fill = 0;
    if (!cols_out && ix0 < 0) {             /* -ix0 bytes of padding on the left */
        off = 0, sl = -8 * ix0, fill = zpw >> (32 - sl);
    } else if (!cols_out && ix0 + 4 > rowb) {   /* ix0 + 4 - rowb on the right */
        off = rowb - 4, sr = 8 * (ix0 + 4 - rowb), fill = zpw << (32 - sr);
    }
    /* kernel rows ky0..ky1-1 are inside the input; the others are zero-point rows */
    int32_t ky0 = iy0 < 0 ? -iy0 : 0, ky1 = p->in_h - iy0 < p->k_h ? p->in_h - iy0 : p->k_h;
    if (cols_out || ky1 < ky0) ky0 = ky1 = 0;
    int32_t ky = 0;
    for (; ky < ky0; ++ky, d += 4) d[0] = z02, d[1] = z13;
    const int8_t *src = in + ((size_t)b * p->in_h + iy0 + ky) * rowb + off;
    for (; ky < ky1; ++ky, d += 4, src += rowb) {
        uint32_t w;
        memcpy(&w, src, 4);
        w = (w >> sr << sl) | fill;
        d[0] = __sxtb16(w), d[1] = aot_sxtb16_ror8(w);
    }
    for (; ky < p->k_h; ++ky, d += 4) d[0] = z02, d[1] = z13;
}
#endif

/* CONV_2D as a GEMM over pairs of output pixels: each patch is gathered (and widened) once and
 * reused by every output channel. */
void aot_conv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t K = p->k_h * p->k_w * p->in_c;
    if (AOT_PACKED_W ? !p->wpack : (!p->fsum || K > AOT_GEMM_MAX_K)) {
        conv_ref(p, in, out);
        return;
    }
    const aot_gemm_t g = {K, p->out_c, p->in_offset, p->out_offset, p->act_min, p->act_max, 1,
                          p->filter, p->wpack, p->bias, p->fsum, p->mult, p->shift, p->rq,
                          AOT_PACKED_W && p->wstream};
    int8_t xbuf[2][K];                                 /* K <= AOT_GEMM_MAX_K */
    uint32_t scratch[AOT_GEMM_SCRATCH_WORDS(K)];
    const int32_t n = p->batches * p->out_h * p->out_w;
    const int inplace = in == out;
    int32_t pix = 0;
#if defined(AOT_GEMM_DSP)
    if (pointwise(p) && n >= 2 && aot_gemm_pointwise_dsp(&g, in, n / 2, out, scratch)) {
        pix = n & ~1;            /* pixel p is in + p * K: the whole layer in one call */
        out += (size_t)pix * p->out_c;
    }
    if (word_rows(p) && p->dil_h == 1 && !inplace) {
        for (; pix + 2 <= n; pix += 2, out += 2 * p->out_c) {
            widen_word_rows(p, in, pix, scratch);
            widen_word_rows(p, in, pix + 1, scratch + 2);
            aot_gemm_run2_widened(&g, scratch, out, out + p->out_c);
        }
    }
#endif
    for (; pix + 2 <= n; pix += 2) {
        aot_gemm_run2(&g, conv_in(p, in, inplace, pix, xbuf[0]), conv_in(p, in, inplace, pix + 1, xbuf[1]),
                      out, out + p->out_c, scratch);
        out += 2 * p->out_c;
    }
    if (pix < n) aot_gemm_run2(&g, conv_in(p, in, inplace, pix, xbuf[0]), NULL, out, NULL, scratch);
}

/* SMLAD-class DSP instructions exist on M4, M7 and M55 alike. A Helium depthwise (VLDRB.S32 + VMUL +
 * VADD per tap of four channels, MVE has no vector-by-vector VMLA) was measured slower than this on
 * the QEMU M55 (413k vs 372k instructions per KWS depthwise layer), so M55 runs this path too. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define AOT_DW_DSP 1
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


enum { DW_MAX_KH = 16 };   /* pipeline/aot/compile/compiler.py DW_MAX_KH */

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
static void dw_dsp_row(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out) {
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
#endif

/* Depthwise, any multiplier: one output row; channels are interleaved (NHWC), so the loop runs over
 * channels innermost, in chunks of 64 accumulators, with the valid tap range computed once per
 * output position. */
static void dw_ref_row(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out) {
    enum { CHUNK = 64 };
    int32_t acc[CHUNK];
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

typedef void (*dw_row_fn)(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out);

/* Every output row of every batch. In place (in == out: the memory planner aliases only multiplier-1,
 * stride-1, same-shape layers, pipeline/aot/compile/plan.py) output row oy is computed into a ring of
 * pad_h + 1 rows and written over input row oy - pad_h, the last input row no later output row
 * reads; the ring costs (pad_h + 1) * W * C bytes of stack (640 on the KWS DS-CNN) instead of a
 * second 8,000-byte activation buffer. */
static void dw_rows(const aot_conv_t *p, const int8_t *in, int8_t *out, dw_row_fn row) {
    const size_t rb = (size_t)p->out_w * p->out_c, ib = (size_t)p->in_h * p->in_w * p->in_c;
    const size_t ob = (size_t)p->out_h * rb;
    if (in != out) {
        for (int32_t b = 0; b < p->batches; ++b)
            for (int32_t oy = 0; oy < p->out_h; ++oy) row(p, in + b * ib, oy, out + b * ob + oy * rb);
        return;
    }
    const int32_t R = p->pad_h + 1;
    int8_t ring[R][rb];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + b * ib;
        int8_t *outb = out + b * ob;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            row(p, inb, oy, ring[oy % R]);
            const int32_t done = oy - p->pad_h;
            if (done >= 0) memcpy(outb + done * rb, ring[done % R], rb);
        }
        for (int32_t done = p->out_h - p->pad_h < 0 ? 0 : p->out_h - p->pad_h; done < p->out_h; ++done)
            memcpy(outb + done * rb, ring[done % R], rb);
    }
}

void aot_dwconv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
#if defined(AOT_DW_DSP)
    if (p->dw_plane) {
        aot_dw_plane_s8(p, in, out);
        return;
    }
    if (p->wpack && p->depth_mult == 1 && p->k_h <= DW_MAX_KH) {
        dw_rows(p, in, out, dw_dsp_row);
        return;
    }
#endif
    dw_rows(p, in, out, dw_ref_row);
}
