/* CONV_2D, int8 with per-channel requantization (TFLite int8 spec). DEPTHWISE_CONV_2D is in
 * dwconv.c (portable) and dwconv_dsp.c (SMLAD); the GEMM in gemm.c and gemm_dsp.c.
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

/* The SMLAD word-row gather below stays beside its one caller: moved into a file of its own (no
 * inlining across files) it cost +80 instructions per KWS inference and moved GCC's inlining of
 * conv_in (+120 on the residual model on M7); the depthwise kernels, called through a pointer, split
 * out at no cost. */
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
