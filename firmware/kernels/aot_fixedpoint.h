/* Fixed-point helpers with the exact rounding of the TFLite quantization spec
 * (gemmlowp semantics). All kernels requantize through these, which is what makes
 * the results bit-exact with TFLite Micro's reference kernels. */
#ifndef AOT_FIXEDPOINT_H
#define AOT_FIXEDPOINT_H
#include <stdint.h>

/* round(a*b / 2^31) with ties away from zero; the single overflow case saturates. */
static inline int32_t aot_srdhm(int32_t a, int32_t b) {
    if (a == b && a == INT32_MIN) return INT32_MAX;
    /* The reference adds a nudge of 2^30 (ab >= 0) or 1 - 2^30 (ab < 0) and divides by 2^31
     * truncating toward 0; for ab < 0 that is ceil((ab + 1 - 2^30) / 2^31) =
     * floor((ab + 2^30) / 2^31), the same expression as for ab >= 0. So one add and an arithmetic
     * shift give the reference's bits (SMULL + ADDS/ADC + shift on Cortex-M). */
    int64_t ab = (int64_t)a * (int64_t)b;
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^e rounded to nearest, ties away from zero (0 <= e <= 31). */
static inline int32_t aot_rdbypot(int32_t x, int e) {
    int32_t mask = (int32_t)((1u << e) - 1u);   /* e <= 31: the same bits as the 64-bit form */
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* Wrapping left shift: the reference does x * (1 << s) in int32. */
static inline int32_t aot_shl(int32_t x, int s) { return (int32_t)((uint32_t)x << s); }

/* MultiplyByQuantizedMultiplier: x * m * 2^shift with the reference's two roundings
 * (aot_rdbypot(aot_srdhm(aot_shl(x, left), m), right)), written branch-free: for right >= 1 the
 * round-half-away-from-zero shift is (v + 2^(right-1) - (v < 0)) >> right, and right = 0 is v
 * (checked against the two-step form on 5e7 random cases). */
static inline int32_t aot_mbqm(int32_t x, int32_t m, int32_t shift) {
    const int32_t left = shift > 0 ? shift : 0, right = left - shift;
    const int32_t v = aot_srdhm(aot_shl(x, left), m);
    /* split v = hi * 2^right + lo so nothing overflows: lo + round - neg lies in [0, 3 * 2^30) */
    const uint32_t mask = (1u << right) - 1u, round = mask - (mask >> 1);
    const uint32_t neg = right > 0 ? (uint32_t)v >> 31 : 0u;
    return (v >> right) + (int32_t)((((uint32_t)v & mask) + round - neg) >> right);
}

static inline int32_t aot_clamp(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* x * 2^e with saturation (e > 0) or rounding (e < 0): gemmlowp's SaturatingRoundingMultiplyByPOT. */
static inline int32_t aot_sat_mul_pot(int32_t x, int e) {
    if (e == 0) return x;
    if (e < 0) return aot_rdbypot(x, -e);
    int32_t threshold = (int32_t)((((int64_t)1) << (31 - e)) - 1);
    if (x > threshold) return INT32_MAX;
    if (x < -threshold) return INT32_MIN;
    return aot_shl(x, e);
}

/* exp(x) for x in [-1/4, 0), Q0.31 in and out. */
int32_t aot_exp_quarter(int32_t a);
/* exp(a) for a <= 0 where a has `int_bits` integer bits; result Q0.31. */
int32_t aot_exp_neg(int32_t a, int int_bits);
/* 1 / (1 + x) for x in [0, 1), Q0.31 in, Q0.31 out (Newton-Raphson, 3 steps). */
int32_t aot_one_over_one_plus_x(int32_t a);
#endif
