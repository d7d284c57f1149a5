/* CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel requantization (TFLite int8 spec).
 * Out-of-bounds taps are skipped, which equals padding with the input zero point.
 * Interior outputs (whole window inside the input) use sum f*(x+off) = dot(f, x) + off*sum(f)
 * with sum(f) precomputed at build time: exact in integers, and the dot product is SIMD. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"
#include "aot_dot.h"

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

void aot_conv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
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

/* Depthwise: channels are interleaved (NHWC), so the loop runs over channels innermost, in
 * chunks of 64 accumulators, with the valid tap range computed once per output position. */
void aot_dwconv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
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
