/* TRANSPOSE_CONV as TFLite Micro's reference computes it (scatter every input pixel times the
 * filter into an int32 buffer of the output's size, add the bias, requantize per channel), but as a
 * gather: output (y, x) sums the taps (ky, kx) whose input row (y + pad_h - ky) / stride_h is a
 * whole number inside the input. The int32 additions are the same ones in another order, and int32
 * addition wraps the same in any order, so the accumulators are TFLM's bit for bit without its
 * out_h * out_w * out_c * 4-byte scratch. */
#include "transpose_conv.h"

#include "aot_fixedpoint.h"

/* The input coordinate a tap reads, or -1: (o + pad - k) must be a non-negative multiple of the
 * stride below in * stride. */
static int32_t src(int32_t o, int32_t k, int32_t pad, int32_t stride, int32_t in) {
    const int32_t t = o + pad - k;
    if (t < 0 || t % stride) return -1;
    return t / stride < in ? t / stride : -1;
}

void aot_tconv_s8(const aot_tconv_t *p, const int8_t *in, int8_t *out) {
    const int32_t ic = p->in_c, oc_n = p->out_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (int64_t)b * p->in_h * p->in_w * ic;
        for (int32_t y = 0; y < p->out_h; ++y) {
            for (int32_t x = 0; x < p->out_w; ++x) {
                for (int32_t oc = 0; oc < oc_n; ++oc) {
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->k_h; ++ky) {
                        const int32_t iy = src(y, ky, p->pad_h, p->stride_h, p->in_h);
                        if (iy < 0) continue;
                        for (int32_t kx = 0; kx < p->k_w; ++kx) {
                            const int32_t ix = src(x, kx, p->pad_w, p->stride_w, p->in_w);
                            if (ix < 0) continue;
                            const int8_t *px = img + ((int64_t)iy * p->in_w + ix) * ic;
                            const int8_t *f = p->w + (((int64_t)oc * p->k_h + ky) * p->k_w + kx) * ic;
                            for (int32_t c = 0; c < ic; ++c)
                                acc = (int32_t)((uint32_t)acc + (uint32_t)((px[c] + p->in_offset) * f[c]));
                        }
                    }
                    if (p->bias) acc = (int32_t)((uint32_t)acc + (uint32_t)p->bias[oc]);
                    const int32_t v = aot_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
                    *out++ = (int8_t)aot_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
}
