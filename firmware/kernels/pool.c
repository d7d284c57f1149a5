/* AVERAGE_POOL_2D / MAX_POOL_2D int8: the window is clipped to the input (padding is never
 * counted); the average divides with rounding half away from zero. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"

static void pool(const aot_pool_t *p, const int8_t *in, int8_t *out, int is_max) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * p->c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t y0 = iy0 < 0 ? -iy0 : 0;
            const int32_t y1 = p->k_h < p->in_h - iy0 ? p->k_h : p->in_h - iy0;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t x0 = ix0 < 0 ? -ix0 : 0;
                const int32_t x1 = p->k_w < p->in_w - ix0 ? p->k_w : p->in_w - ix0;
                for (int32_t c = 0; c < p->c; ++c) {
                    int32_t acc = is_max ? -128 : 0, count = 0;
                    for (int32_t ky = y0; ky < y1; ++ky)
                        for (int32_t kx = x0; kx < x1; ++kx) {
                            int32_t v = inb[((size_t)(iy0 + ky) * p->in_w + ix0 + kx) * p->c + c];
                            if (is_max) acc = v > acc ? v : acc;
                            else acc += v;
                            ++count;
                        }
                    if (!is_max) {
                        if (count == 0) count = 1; /* the AOT compiler rejects empty windows */
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *out++ = (int8_t)aot_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void aot_avgpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out) { pool(p, in, out, 0); }
void aot_maxpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out) { pool(p, in, out, 1); }
