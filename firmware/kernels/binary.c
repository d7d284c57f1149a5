/* Broadcasting int8 binary ops, comparisons and SELECT_V2 (declared in binary.h). Each op is a
 * static inline element function; BCAST_LOOP instantiates the 4-D broadcast loop once per op, so
 * the op is dispatched once per call, never per element. The arithmetic is TFLite Micro's (the
 * parameters come from pipeline/aot/ops/binary.py, computed as its Prepare does). */
#include "binary.h"
#include "aot_fixedpoint.h"

/* Both inputs shifted left by left_shift and rescaled to the larger input scale (ADD's scheme). */
static inline int32_t scaled1(const aot_bin_t *p, int32_t a) {
    return aot_mbqm(aot_shl(a + p->in1_offset, p->left_shift), p->in1_mult, p->in1_shift);
}
static inline int32_t scaled2(const aot_bin_t *p, int32_t b) {
    return aot_mbqm(aot_shl(b + p->in2_offset, p->left_shift), p->in2_mult, p->in2_shift);
}

/* SUB: left shift 20, the difference requantized to the output */
static inline int32_t sub_one(const aot_bin_t *p, int32_t a, int32_t b) {
    int32_t r = aot_mbqm(scaled1(p, a) - scaled2(p, b), p->out_mult, p->out_shift) + p->out_offset;
    return aot_clamp(r, p->act_min, p->act_max);
}
/* SQUARED_DIFFERENCE: left shift 7, so the square of the difference (< 2^30) fits int32 */
static inline int32_t sqdiff_one(const aot_bin_t *p, int32_t a, int32_t b) {
    int32_t d = scaled1(p, a) - scaled2(p, b);
    int32_t r = aot_mbqm(d * d, p->out_mult, p->out_shift) + p->out_offset;
    return aot_clamp(r, p->act_min, p->act_max);
}
/* MAXIMUM / MINIMUM compare the raw codes (TFLite Micro does not rescale) */
static inline int32_t max_one(const aot_bin_t *p, int32_t a, int32_t b) { (void)p; return a > b ? a : b; }
static inline int32_t min_one(const aot_bin_t *p, int32_t a, int32_t b) { (void)p; return a < b ? a : b; }
/* PRELU: x >= 0 takes the identity multiplier, x < 0 the product with alpha and its multiplier */
static inline int32_t prelu_one(const aot_bin_t *p, int32_t a, int32_t alpha) {
    int32_t x = a + p->in1_offset;
    int32_t r = x >= 0 ? aot_mbqm(x, p->in1_mult, p->in1_shift)
                       : aot_mbqm(x * (alpha + p->in2_offset), p->in2_mult, p->in2_shift);
    return aot_clamp(r + p->out_offset, p->act_min, p->act_max);
}
/* leading zeros of x != 0 (gcc on the host and arm-none-eabi: one CLZ instruction on Cortex-M) */
static inline int clz_nz(uint32_t x) {
#if defined(__GNUC__)
    return __builtin_clz(x);
#else
    int n = 0;
    while (!(x & 0x80000000u)) { x <<= 1; ++n; }
    return n;
#endif
}
/* redundant sign bits (CountLeadingSignBits): 31 for 0 and -1 */
static inline int clrsb32(int32_t x) {
    uint32_t v = (uint32_t)(x ^ (x >> 31));
    return v ? clz_nz(v) - 1 : 31;
}
/* DIV (div.h): the divisor's reciprocal in Q0.31 from its normalised mantissa (GetReciprocal:
 * 1/(1+m) by gemmlowp's Newton iterations), the dividend normalised by its headroom, the product
 * requantized with the output multiplier and both normalisations' shifts. A zero divisor (the
 * divisor's zero point) is undefined in TFLite Micro (a DCHECK); here it saturates by sign. */
static inline int32_t div_one(const aot_bin_t *p, int32_t a, int32_t b) {
    int32_t x = a + p->in1_offset, y = b + p->in2_offset;
    if (y == 0) return x >= 0 ? p->act_max : p->act_min;
    if (y < 0) { x = -x; y = -y; }
    const int lz = clz_nz((uint32_t)y), recip_shift = 31 - lz;
    const int32_t inv = aot_one_over_one_plus_x((int32_t)(((uint32_t)y << lz) - 0x80000000u));
    const int headroom = clrsb32(x);
    const int32_t q = aot_mbqm(x, inv, headroom);
    const int32_t total = p->out_shift - recip_shift - headroom;
    /* a right shift beyond 31 bits (|dividend| <= 2): |q * m| < 2^62, so the quotient rounds to 0 */
    const int32_t r = (total < -31 ? 0 : aot_mbqm(q, p->out_mult, total)) + p->out_offset;
    return aot_clamp(r, p->act_min, p->act_max);
}
/* comparisons: both inputs rescaled (left shift 8, each input's scale as a multiplier) */
static inline int32_t eq_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) == scaled2(p, b); }
static inline int32_t ne_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) != scaled2(p, b); }
static inline int32_t gt_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) > scaled2(p, b); }
static inline int32_t ge_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) >= scaled2(p, b); }
static inline int32_t lt_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) < scaled2(p, b); }
static inline int32_t le_one(const aot_bin_t *p, int32_t a, int32_t b) { return scaled1(p, a) <= scaled2(p, b); }

#define BCAST_LOOP(NAME, OUT_T, ONE)                                                          \
    static void NAME(const aot_bin_t *p, const int8_t *a, const int8_t *b, OUT_T *out) {      \
        for (int32_t i0 = 0; i0 < p->shape[0]; ++i0)                                          \
            for (int32_t i1 = 0; i1 < p->shape[1]; ++i1)                                      \
                for (int32_t i2 = 0; i2 < p->shape[2]; ++i2) {                                \
                    const int8_t *x = a + i0 * p->s1[0] + i1 * p->s1[1] + i2 * p->s1[2];     \
                    const int8_t *y = b + i0 * p->s2[0] + i1 * p->s2[1] + i2 * p->s2[2];     \
                    const int32_t sx = p->s1[3], sy = p->s2[3];                               \
                    for (int32_t i3 = 0; i3 < p->shape[3]; ++i3)                              \
                        *out++ = (OUT_T)ONE(p, x[i3 * sx], y[i3 * sy]);                       \
                }                                                                             \
    }
BCAST_LOOP(sub_loop, int8_t, sub_one)
BCAST_LOOP(sqdiff_loop, int8_t, sqdiff_one)
BCAST_LOOP(max_loop, int8_t, max_one)
BCAST_LOOP(min_loop, int8_t, min_one)
BCAST_LOOP(prelu_loop, int8_t, prelu_one)
BCAST_LOOP(div_loop, int8_t, div_one)
BCAST_LOOP(eq_loop, uint8_t, eq_one)
BCAST_LOOP(ne_loop, uint8_t, ne_one)
BCAST_LOOP(gt_loop, uint8_t, gt_one)
BCAST_LOOP(ge_loop, uint8_t, ge_one)
BCAST_LOOP(lt_loop, uint8_t, lt_one)
BCAST_LOOP(le_loop, uint8_t, le_one)

typedef void (*bin_loop_t)(const aot_bin_t *, const int8_t *, const int8_t *, int8_t *);
typedef void (*cmp_loop_t)(const aot_bin_t *, const int8_t *, const int8_t *, uint8_t *);
static const bin_loop_t BIN_LOOPS[] = { sub_loop, sqdiff_loop, max_loop, min_loop, prelu_loop, div_loop };
static const cmp_loop_t CMP_LOOPS[] = { eq_loop, ne_loop, gt_loop, ge_loop, lt_loop, le_loop };

/* The two operands: a constant one from the struct, else the next activation. */
static void operands(const aot_bin_t *p, const void *const *ins, const int8_t **a, const int8_t **b) {
    int k = 0;
    *a = p->in0 ? p->in0 : (const int8_t *)ins[k++];
    *b = p->in1 ? p->in1 : (const int8_t *)ins[k];
}

void aot_binary_s8(const aot_bin_t *p, const void *const *ins, void *out) {
    const int8_t *a, *b;
    operands(p, ins, &a, &b);
    BIN_LOOPS[p->op](p, a, b, (int8_t *)out);
}

void aot_compare_s8(const aot_bin_t *p, const void *const *ins, void *out) {
    const int8_t *a, *b;
    operands(p, ins, &a, &b);
    CMP_LOOPS[p->op](p, a, b, (uint8_t *)out);
}

void aot_select_s8(const aot_select_t *p, const void *const *ins, void *out) {
    int k = 0;
    const uint8_t *c = p->in0 ? p->in0 : (const uint8_t *)ins[k++];
    const int8_t *x = p->in1 ? p->in1 : (const int8_t *)ins[k++];
    const int8_t *y = p->in2 ? p->in2 : (const int8_t *)ins[k];
    int8_t *o = (int8_t *)out;
    for (int32_t i0 = 0; i0 < p->shape[0]; ++i0)
        for (int32_t i1 = 0; i1 < p->shape[1]; ++i1)
            for (int32_t i2 = 0; i2 < p->shape[2]; ++i2) {
                const uint8_t *cc = c + i0 * p->sc[0] + i1 * p->sc[1] + i2 * p->sc[2];
                const int8_t *xx = x + i0 * p->sx[0] + i1 * p->sx[1] + i2 * p->sx[2];
                const int8_t *yy = y + i0 * p->sy[0] + i1 * p->sy[1] + i2 * p->sy[2];
                for (int32_t i3 = 0; i3 < p->shape[3]; ++i3)
                    *o++ = cc[i3 * p->sc[3]] ? xx[i3 * p->sx[3]] : yy[i3 * p->sy[3]];
            }
}
