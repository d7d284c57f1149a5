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

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <string.h>
#include "aot_dot.h"
/* AVERAGE_POOL_2D on SMLAD cores: four channels per word summed into 16-bit halves with SXTAB16
 * (3 instructions per 4 values instead of ~11 per value); exact while a window holds at most 256
 * values (|sum| <= 128 * 256 fits int16). The division is the reference's. */
static int avgpool_dsp(const aot_pool_t *p, const int8_t *in, int8_t *out) {
    const int32_t C = p->c;
    if ((C & 3) || p->k_h * p->k_w > 256) return 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + (size_t)b * p->in_h * p->in_w * C;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            const int32_t y0 = iy0 < 0 ? -iy0 : 0, y1 = p->k_h < p->in_h - iy0 ? p->k_h : p->in_h - iy0;
            for (int32_t ox = 0; ox < p->out_w; ++ox, out += C) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                const int32_t x0 = ix0 < 0 ? -ix0 : 0, x1 = p->k_w < p->in_w - ix0 ? p->k_w : p->in_w - ix0;
                int32_t count = (y1 - y0) * (x1 - x0);
                if (count <= 0) count = 1; /* the AOT compiler rejects empty windows */
                for (int32_t c = 0; c < C; c += 4) {
                    uint32_t s02 = 0, s13 = 0;
                    for (int32_t ky = y0; ky < y1; ++ky) {
                        const int8_t *ip = inb + ((size_t)(iy0 + ky) * p->in_w + ix0 + x0) * C + c;
                        for (int32_t kx = x0; kx < x1; ++kx, ip += C) {
                            uint32_t x;
                            memcpy(&x, ip, 4);
                            s02 = __sxtab16(s02, x);
                            s13 = aot_sxtab16_ror8(s13, x);
                        }
                    }
                    const int32_t sums[4] = {(int16_t)s02, (int16_t)s13, (int32_t)s02 >> 16, (int32_t)s13 >> 16};
                    for (int32_t j = 0; j < 4; ++j) {
                        const int32_t acc = sums[j];
                        const int32_t v = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                        out[c + j] = (int8_t)aot_clamp(v, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return 1;
}
#endif

void aot_avgpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    if (avgpool_dsp(p, in, out)) return;
#endif
    pool(p, in, out, 0);
}
void aot_maxpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out) { pool(p, in, out, 1); }
