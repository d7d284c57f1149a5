/* L2_NORMALIZATION as TFLite Micro's reference_integer_ops::L2Normalization: the int32 sum of squared
 * (x - zp) per row, its inverse square root as a multiplier and shift (GetInvSqrtQuantizedMultiplierExp:
 * the sum normalised to [2^27, 2^29) by pairs of bits, five Newton-Raphson steps in Q3.28 from x = 1,
 * times sqrt(2)/2), then every value times it with 7 more bits (the output is in 1/128 units). */
#include "l2_norm.h"

#include "aot_fixedpoint.h"

static int clz32(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

static int32_t wrap_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }

/* 1/sqrt(v) as multiplier *m and shift *s in MultiplyByQuantizedMultiplier's convention (left > 0). */
static void inv_sqrt(int32_t v, int32_t *m, int32_t *s) {
    if (v <= 1) { *m = INT32_MAX; *s = 0; return; }   /* TFLM treats 0 and 1 alike */
    int32_t shift = 11;
    while (v >= (1 << 29)) { v /= 4; ++shift; }
    const int pairs = (clz32((uint32_t)v) - 1) / 2 - 1;
    shift -= pairs;
    v <<= 2 * pairs;
    const int32_t input = v >> 1;                         /* Q3.28 */
    const int32_t half_input = aot_rdbypot(input, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);     /* 1.5 in Q3.28 */
    int32_t x = 1 << 28;                                  /* 1.0 */
    for (int i = 0; i < 5; ++i) {
        const int32_t x3 = aot_sat_mul_pot(aot_srdhm(aot_srdhm(x, x), x), 6);   /* Q9 -> Q3 */
        x = aot_sat_mul_pot(wrap_sub(aot_srdhm(half_three, x), aot_srdhm(half_input, x3)), 3);
    }
    x = aot_srdhm(x, 1518500250);                         /* sqrt(2) / 2 in Q0.31 */
    if (shift < 0) { x = aot_shl(x, -shift); shift = 0; }
    *m = x;
    *s = -shift;
}

void aot_l2norm_s8(const aot_l2norm_t *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *x = in + (int64_t)i * p->depth;
        int32_t acc = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t d = x[c] - p->in_zp;
            acc += d * d;
        }
        int32_t m, s;
        inv_sqrt(acc, &m, &s);
        for (int32_t c = 0; c < p->depth; ++c)
            *out++ = (int8_t)aot_clamp(aot_mbqm(x[c] - p->in_zp, m, s + 7), -128, 127);
    }
}
