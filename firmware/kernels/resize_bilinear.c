/* RESIZE_BILINEAR as TFLite Micro's ResizeBilinearInteger: the source coordinate in 1/1024 units,
 * the two neighbours clamped to the image, four int64 products with 2^20 in total weight, rounded
 * half away from zero (TFLM without TFLITE_SINGLE_ROUNDING). With half_pixel_centers the first
 * coordinate can be negative (e.g. -256 for 2x): TFLM's C division truncates it to row 0 and the
 * weights then extrapolate (1280 and -256), which is what this computes too. The tflite_micro wheel
 * rounds this way: TFLITE_SINGLE_ROUNDING's (v + 2^19) >> 20 differs on 154 of 2268 values of the
 * zoo's heavy_upsample (negative ties, common at 2x where the weights are multiples of 256). */
#include "resize_bilinear.h"

/* src = value * scale (+ scale / 2 - 512 with half-pixel centers); lo / hi the neighbours. */
static void coord(int32_t v, int32_t scale, int32_t half, int32_t size, int32_t *src, int32_t *lo, int32_t *hi) {
    const int32_t s = half ? v * scale + scale / 2 - (1 << 9) : v * scale;
    const int32_t l = s / (1 << 10), h = (s + (1 << 10) - 1) / (1 << 10);
    *src = s;
    *lo = l > 0 ? l : 0;
    *hi = h < size - 1 ? h : size - 1;
}

void aot_resize_bilinear_s8(const aot_resize_t *p, const int8_t *in, int8_t *out) {
    const int32_t ch = p->c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *img = in + (int64_t)b * p->in_h * p->in_w * ch;
        for (int32_t y = 0; y < p->out_h; ++y) {
            int32_t sy, y0, y1;
            coord(y, p->scale_h, p->half_pixel, p->in_h, &sy, &y0, &y1);
            const int64_t wy1 = sy - (1 << 10) * y0, wy0 = (1 << 10) - wy1;
            for (int32_t x = 0; x < p->out_w; ++x) {
                int32_t sx, x0, x1;
                coord(x, p->scale_w, p->half_pixel, p->in_w, &sx, &x0, &x1);
                const int64_t wx1 = sx - (1 << 10) * x0, wx0 = (1 << 10) - wx1;
                const int8_t *a = img + ((int64_t)y0 * p->in_w + x0) * ch, *bb = img + ((int64_t)y1 * p->in_w + x0) * ch;
                const int8_t *cc = img + ((int64_t)y0 * p->in_w + x1) * ch, *d = img + ((int64_t)y1 * p->in_w + x1) * ch;
                for (int32_t k = 0; k < ch; ++k) {
                    const int64_t v = a[k] * wy0 * wx0 + bb[k] * wy1 * wx0 + cc[k] * wy0 * wx1 + d[k] * wy1 * wx1;
                    const int64_t round = v > 0 ? (1 << 19) : -(1 << 19);
                    *out++ = (int8_t)((v + round) / (1 << 20));
                }
            }
        }
    }
}
