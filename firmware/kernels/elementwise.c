/* ADD, MUL (int8, 4-D broadcast) and the QUANTIZE / DEQUANTIZE / requantize edges. */
#include <math.h>
#include "aot_kernels.h"
#include "aot_fixedpoint.h"

/* ADD: both inputs are shifted left by left_shift (20) and scaled to the larger input scale,
 * summed, then rescaled to the output: the reference's three-multiplier scheme. */
static int32_t add_one(const aot_binary_t *p, int32_t a, int32_t b) {
    int32_t x = aot_shl(a + p->in1_offset, p->left_shift);
    int32_t y = aot_shl(b + p->in2_offset, p->left_shift);
    x = aot_mbqm(x, p->in1_mult, p->in1_shift);
    y = aot_mbqm(y, p->in2_mult, p->in2_shift);
    int32_t r = aot_mbqm(x + y, p->out_mult, p->out_shift) + p->out_offset;
    return aot_clamp(r, p->act_min, p->act_max);
}

static int32_t mul_one(const aot_binary_t *p, int32_t a, int32_t b) {
    int32_t r = aot_mbqm((a + p->in1_offset) * (b + p->in2_offset), p->out_mult, p->out_shift);
    return aot_clamp(r + p->out_offset, p->act_min, p->act_max);
}

static void binary(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out, int is_mul) {
    for (int32_t i0 = 0; i0 < p->shape[0]; ++i0)
        for (int32_t i1 = 0; i1 < p->shape[1]; ++i1)
            for (int32_t i2 = 0; i2 < p->shape[2]; ++i2)
                for (int32_t i3 = 0; i3 < p->shape[3]; ++i3) {
                    int32_t x = a[i0 * p->s1[0] + i1 * p->s1[1] + i2 * p->s1[2] + i3 * p->s1[3]];
                    int32_t y = b[i0 * p->s2[0] + i1 * p->s2[1] + i2 * p->s2[2] + i3 * p->s2[3]];
                    *out++ = (int8_t)(is_mul ? mul_one(p, x, y) : add_one(p, x, y));
                }
}

/* ADD without broadcast: each input's shifted and rescaled value is a build-time table over its 256
 * codes (pipeline/aot/compile/lower.py), so an element is two byte loads, two table loads, an add and the
 * one-multiply output requantization: ~15 instructions instead of three general requantizations. */
static void add_tables(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out) {
    const int32_t n = p->shape[0] * p->shape[1] * p->shape[2] * p->shape[3];
    const int32_t *ta = p->ta + 128, *tb = p->tb + 128, lo = p->act_min, hi = p->act_max;
    const aot_rq_t *q = p->rq;
    for (int32_t i = 0; i < n; ++i) out[i] = aot_rq_clamp(aot_rq(q, ta[a[i]] + tb[b[i]]), lo, hi);
}

void aot_add_s8(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out) {
    if (p->ta && p->tb && p->rq) add_tables(p, a, b, out);
    else binary(p, a, b, out, 0);
}
void aot_mul_s8(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out) { binary(p, a, b, out, 1); }

void aot_requantize_s8(const aot_requant_t *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->n; ++i)
        out[i] = (int8_t)aot_clamp(aot_mbqm((int32_t)in[i] - p->in_zp, p->mult, p->shift) + p->out_zp, -128, 127);
}

/* round(x / scale) + zp in float32, ties away from zero (roundf), as the reference does. */
void aot_quantize_f32_s8(const aot_affine_t *p, const float *in, int8_t *out) {
    for (int32_t i = 0; i < p->n; ++i) {
        int32_t v = (int32_t)roundf(in[i] / p->scale) + p->zp;
        out[i] = (int8_t)aot_clamp(v, -128, 127);
    }
}

/* The reference multiplies in double and rounds once to float. */
void aot_dequantize_s8_f32(const aot_affine_t *p, const int8_t *in, float *out) {
    for (int32_t i = 0; i < p->n; ++i)
        out[i] = (float)((double)p->scale * (double)((int32_t)in[i] - p->zp));
}
