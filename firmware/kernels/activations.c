/* SOFTMAX and LOGISTIC int8, the reference fixed-point algorithms: inputs are rescaled to
 * Q5.26 (softmax) / Q4.27 (logistic), exp and 1/(1+x) run in gemmlowp fixed point. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"

static int clz32(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

void aot_softmax_s8(const aot_softmax_t *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *x = in + (size_t)i * p->depth;
        int8_t *y = out + (size_t)i * p->depth;
        int32_t max = -128;
        for (int32_t c = 0; c < p->depth; ++c) max = x[c] > max ? x[c] : max;
        int32_t sum = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                int32_t scaled = aot_srdhm(aot_shl(diff, p->in_left_shift), p->in_mult);
                sum += aot_sat_mul_pot(aot_exp_neg(scaled, 5), -12);
            }
        }
        /* reciprocal of the sum: normalise to [1, 2), then 1/(1+x) */
        int headroom = clz32((uint32_t)sum);
        int bits_over_unit = 12 - headroom;
        int32_t shifted = (int32_t)(((uint32_t)sum << headroom) - (1u << 31));
        int32_t scale = aot_one_over_one_plus_x(shifted);
        for (int32_t c = 0; c < p->depth; ++c) {
            int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min) {
                int32_t scaled = aot_srdhm(aot_shl(diff, p->in_left_shift), p->in_mult);
                int32_t e = aot_exp_neg(scaled, 5);
                int32_t v = aot_rdbypot(aot_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                y[c] = (int8_t)aot_clamp(v, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}

void aot_logistic_s8(const aot_logistic_t *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->n; ++i) {
        int32_t x = (int32_t)in[i] - p->in_zp;
        if (x <= -p->radius) { out[i] = -128; continue; }
        if (x >= p->radius) { out[i] = 127; continue; }
        int32_t q4 = aot_mbqm(x, p->mult, p->left_shift);   /* Q4.27 */
        int32_t r;
        if (q4 == 0) {
            r = 1 << 30;                                    /* 1/2 in Q0.31 */
        } else {
            int32_t a = q4 > 0 ? q4 : -q4;
            int32_t pos = aot_one_over_one_plus_x(aot_exp_neg(-a, 4));
            r = q4 > 0 ? pos : INT32_MAX - pos;
        }
        int32_t v = aot_rdbypot(r, 31 - 8) - 128;
        out[i] = (int8_t)aot_clamp(v, -128, 127);
    }
}
