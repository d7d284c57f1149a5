/* LOG_SOFTMAX as TFLite Micro's LogSoftmaxQuantized: the sum of exp(diff) in Q12.19 (diffs below
 * diff_min skipped), its natural log in Q5.26 by gemmlowp's log_x_for_x_greater_than_or_equal_to_1
 * (a rational approximation after normalising the input to [sqrt(1/2), sqrt(2)) x 2^k), then each
 * output is (diff_q5 - log) / 2^22 + 127, or -128 at or below the adjusted diff_min. */
#include "log_softmax.h"

#include "aot_fixedpoint.h"

static int clz32(uint32_t x) {
    int n = 0;
    if (x == 0) return 32;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
}

static int32_t sat_add(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a + b;
    return s > INT32_MAX ? INT32_MAX : (s < INT32_MIN ? INT32_MIN : (int32_t)s);
}

static int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* gemmlowp's RoundingHalfSum: (a + b) / 2 rounded half away from zero, in 64 bits. */
static int32_t half_sum(int32_t a, int32_t b) {
    const int64_t s = (int64_t)a + b;
    return (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
}

/* ln(x) for x >= 1: x in Q12.19 (IN_BITS 12), the result in Q5.26; accumulated in Q6.25 (one bit of
 * headroom, as the reference). Constants: ln 2, 2^-1/4, 2^-1/2, 1/4 and the rational
 * approximation's alphas, all Q0.31. */
#define IN_BITS 12
#define ACC_BITS 6
static int32_t log_q5(int32_t x) {
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = aot_rdbypot(536870912, ACC_BITS);   /* 1/4 in Q6.25 */
    const int a_hr1 = clz32((uint32_t)x);
    const int32_t r_a = aot_sat_mul_pot(aot_srdhm(aot_sat_mul_pot(x, a_hr1 - 1), sqrt_half), 1);
    const int32_t za_adj = sat_add(aot_sat_mul_pot(IN_BITS - a_hr1, 31 - ACC_BITS), shifted_quarter);
    const int32_t z_b = aot_srdhm(x, sqrt_half);
    const int b_hr = clz32((uint32_t)z_b) - 1;
    const int32_t r_b = aot_sat_mul_pot(x, b_hr);
    const int32_t zb_adj = sat_add(aot_sat_mul_pot(IN_BITS - b_hr, 31 - ACC_BITS), -shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t z_adj = za_adj > zb_adj ? za_adj : zb_adj;
    const int32_t pp = half_sum(r, sqrt_sqrt_half);
    int32_t q = wrap_add(r, -sqrt_sqrt_half);
    q = wrap_add(q, q);
    const int32_t sq = aot_srdhm(q, q);
    const int32_t num = wrap_add(aot_srdhm(q, r), aot_srdhm(aot_srdhm(q, sq), alpha_n));
    const int32_t den = wrap_add(aot_srdhm(pp, wrap_add(wrap_add(alpha_i, q), aot_srdhm(alpha_d, sq))),
                                 aot_srdhm(alpha_f, q));
    const int32_t recip = aot_one_over_one_plus_x(den);
    const int32_t num_scaled = aot_rdbypot(num, ACC_BITS);
    const int32_t acc = wrap_add(aot_srdhm(z_adj, log_2), aot_srdhm(num_scaled, recip));
    return aot_sat_mul_pot(acc, ACC_BITS - 5);
}

void aot_log_softmax_s8(const aot_log_softmax_t *p, const int8_t *in, int8_t *out) {
    for (int32_t i = 0; i < p->outer; ++i) {
        const int8_t *x = in + (int64_t)i * p->depth;
        int8_t *y = out + (int64_t)i * p->depth;
        int32_t max = -128;
        for (int32_t c = 0; c < p->depth; ++c) max = x[c] > max ? x[c] : max;
        int32_t sum = 0;   /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= p->diff_min)
                sum = wrap_add(sum, aot_rdbypot(aot_exp_neg(aot_mbqm(diff, p->in_mult, p->in_left_shift), 5), 12));
        }
        const int32_t lg = log_q5(sum);
        const int32_t rev = aot_mbqm(wrap_add(lg, INT32_MIN), p->rev_mult, p->rev_shift);
        const int32_t adj_min = p->diff_min - 1 > rev ? p->diff_min - 1 : rev;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff > adj_min) {
                const int32_t d5 = aot_mbqm(diff, p->in_mult, p->in_left_shift);
                y[c] = (int8_t)aot_clamp(aot_rdbypot(wrap_add(d5, -lg), 31 - 5 - 4) + 127, -128, 127);
            } else {
                y[c] = -128;
            }
        }
    }
}
