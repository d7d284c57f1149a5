/* Fixed-point exp and reciprocal, gemmlowp algorithm (published semantics). Constants are
 * exp(-2^k) and exp(-1/8) in Q0.31, and 1/3, 48/17, -32/17 in Q0.31 / Q2.29. */
#include "aot_fixedpoint.h"

int32_t aot_exp_quarter(int32_t a) {
    const int32_t exp_m1_8 = 1895147668;   /* exp(-1/8) * 2^31 */
    const int32_t one_third = 715827883;   /* 2^31 / 3 */
    int32_t x = a + (1 << 28);             /* Taylor around -1/8: x = a + 1/8 */
    int32_t x2 = aot_srdhm(x, x);
    int32_t x3 = aot_srdhm(x2, x);
    int32_t x4 = aot_srdhm(x2, x2);
    int32_t x4_over_4 = aot_sat_mul_pot(x4, -2);
    int32_t poly = aot_sat_mul_pot(aot_srdhm(x4_over_4 + x3, one_third) + x2, -1);
    return exp_m1_8 + aot_srdhm(exp_m1_8, x + poly);
}

int32_t aot_exp_neg(int32_t a, int int_bits) {
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535, 720401, 242}; /* exp(-1/4), exp(-1/2), ..., exp(-16) */
    const int frac = 31 - int_bits;
    const int32_t quarter = (int32_t)1 << (frac - 2);
    int32_t a_mod = (a & (quarter - 1)) - quarter;
    int32_t result = aot_exp_quarter(aot_sat_mul_pot(a_mod, int_bits));
    int32_t remainder = a_mod - a;
    for (int k = 0; k < 7; ++k) {
        int exponent = k - 2;
        if (int_bits > exponent && (remainder & ((int32_t)1 << (frac + exponent))))
            result = aot_srdhm(result, mult[k]);
    }
    /* int_bits is 4 (logistic) or 5 (softmax): inputs cannot reach -32, so the reference's
     * clamp for int_bits > 5 never applies. */
    if (a == 0) result = INT32_MAX;
    return result;
}

int32_t aot_one_over_one_plus_x(int32_t a) {
    /* half_denominator = (a + 1) / 2 in Q0.31, rounded half away from zero */
    int64_t sum = (int64_t)a + INT32_MAX;
    int32_t half_den = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t c48_17 = 1515870810, cm32_17 = -1010580540; /* Q2.29 */
    int32_t x = c48_17 + aot_srdhm(half_den, cm32_17);
    for (int i = 0; i < 3; ++i) {
        int32_t hdx = aot_srdhm(half_den, x);              /* Q2.29 */
        int32_t one_minus = (1 << 29) - hdx;
        x = x + aot_sat_mul_pot(aot_srdhm(x, one_minus), 2);  /* Q4 -> Q2 */
    }
    return aot_sat_mul_pot(x, 1);                           /* Q1 -> Q0 */
}
