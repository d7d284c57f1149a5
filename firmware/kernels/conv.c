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
                    acc = aot_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
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
                          p->filter, p->wpack, p->bias, p->fsum, p->mult, p->shift};
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
static inline uint32_t dw_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline uint32_t dw_sxtab16_ror8(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

enum { DW_MAX_KH = 16 };

static inline int8_t dw_rq(const aot_conv_t *p, int32_t acc, int32_t c) {
    if (p->bias) acc += p->bias[c];
    const int32_t v = aot_mbqm(acc, p->mult[c], p->shift[c]) + p->out_offset;
    return (int8_t)aot_clamp(v, p->act_min, p->act_max);
}

/* DEPTHWISE_CONV_2D, channel multiplier 1, on SMLAD cores: four channels per word. The input
 * offset is added while widening (SXTAB16: x + in_offset stays within int16), so out-of-bounds taps
 * are simply skipped as in the reference, and each channel accumulates with SMLABB / SMLATT. */
static void dw_dsp(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t C = p->in_c, C4 = C & ~3;
    const uint32_t off2 = (uint32_t)(uint16_t)(int16_t)p->in_offset * 0x10001u;
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
                const int32_t nx = kx1 - kx0, xstep = p->dil_w * C;
                const int8_t *rows[DW_MAX_KH], *frows[DW_MAX_KH];   /* per valid ky, at channel 0 */
                const int32_t ny = ky1 - ky0;
                for (int32_t r = 0; r < ny; ++r) {
                    const int32_t ky = ky0 + r;
                    rows[r] = inb + ((size_t)(iy0 + ky * p->dil_h) * p->in_w + (ix0 + kx0 * p->dil_w)) * C;
                    frows[r] = p->filter + ((size_t)ky * p->k_w + kx0) * C;
                }
                for (int32_t c = 0; c < C; c += 4) {
                    const int32_t n = C - c < 4 ? C - c : 4;
                    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                    for (int32_t r = 0; r < ny; ++r) {
                        const int8_t *ip = rows[r] + c, *fp = frows[r] + c;
                        if (c < C4) {
                            for (int32_t k = 0; k < nx; ++k, ip += xstep, fp += C) {
                                uint32_t x, w;
                                memcpy(&x, ip, 4);
                                memcpy(&w, fp, 4);
                                const uint32_t x02 = __sxtab16(off2, x), x13 = dw_sxtab16_ror8(off2, x);
                                const uint32_t w02 = __sxtb16(w), w13 = dw_sxtb16_ror8(w);
                                a0 = __smlabb(x02, w02, a0);
                                a2 = __smlatt(x02, w02, a2);
                                a1 = __smlabb(x13, w13, a1);
                                a3 = __smlatt(x13, w13, a3);
                            }
                        } else {
                            for (int32_t k = 0; k < nx; ++k, ip += xstep, fp += C) {
                                a0 += (int32_t)fp[0] * ((int32_t)ip[0] + p->in_offset);
                                if (n > 1) a1 += (int32_t)fp[1] * ((int32_t)ip[1] + p->in_offset);
                                if (n > 2) a2 += (int32_t)fp[2] * ((int32_t)ip[2] + p->in_offset);
                            }
                        }
                    }
                    if (n == 4) {
                        out[c] = dw_rq(p, a0, c);
                        out[c + 1] = dw_rq(p, a1, c + 1);
                        out[c + 2] = dw_rq(p, a2, c + 2);
                        out[c + 3] = dw_rq(p, a3, c + 3);
                    } else {
                        const int32_t acc[3] = {a0, a1, a2};
                        for (int32_t j = 0; j < n; ++j) out[c + j] = dw_rq(p, acc[j], c + j);
                    }
                }
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
    if (p->depth_mult == 1 && p->k_h <= DW_MAX_KH) {
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
                        int32_t v = aot_mbqm(acc[j], p->mult[c0 + j], p->shift[c0 + j]) + p->out_offset;
                        o[j] = (int8_t)aot_clamp(v, p->act_min, p->act_max);
                    }
                }
                out += p->out_c;
            }
        }
    }
}
