/* int8 dot product: the one hot loop of CONV_2D and FULLY_CONNECTED. Integer sums are exact in
 * any order, so the SIMD paths give the same bits as the scalar reference loop.
 * Cortex-M4/M7 (DSP): SXTB16 + SMLAD, 4 MACs per 2 multiply instructions.
 * Cortex-M55 (Helium): VMLADAVA.S8, 16 MACs per instruction, tail-predicated. */
#ifndef AOT_DOT_H
#define AOT_DOT_H
#include <stdint.h>
#include <string.h>

/* Byte-pair widening helpers of the SMLAD kernels (M4, M7 and M55 all have the DSP extension). */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
/* SXTB16 with its free ROR #8 operand: GCC 12 does not fold a C rotate into it. */
static inline uint32_t aot_sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* SXTAB16 with ROR #8: adds bytes 1 and 3 of x, sign-extended, to the two halves of acc. */
static inline uint32_t aot_sxtab16_ror8(uint32_t acc, uint32_t x) {
    uint32_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}
#endif

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
static inline int32_t aot_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc) {
    while (n > 0) {
        mve_pred16_t p = vctp8q((uint32_t)n);
        acc = vmladavaq_p_s8(acc, vldrbq_z_s8(a, p), vldrbq_z_s8(b, p), p);
        a += 16;
        b += 16;
        n -= 16;
    }
    return acc;
}
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
static inline int32_t aot_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc) {
    for (; n >= 4; n -= 4, a += 4, b += 4) {
        uint32_t x, y;
        memcpy(&x, a, 4); /* unaligned LDR: allowed on v7E-M/v8-M */
        memcpy(&y, b, 4);
        acc = __smlad(__sxtb16(x), __sxtb16(y), acc);                      /* bytes 0, 2 */
        acc = __smlad(aot_sxtb16_ror8(x), aot_sxtb16_ror8(y), acc);  /* bytes 1, 3 */
    }
    for (; n > 0; --n) acc += (int32_t)*a++ * (int32_t)*b++;
    return acc;
}
#else
static inline int32_t aot_dot_s8(const int8_t *a, const int8_t *b, int32_t n, int32_t acc) {
    for (int32_t i = 0; i < n; ++i) acc += (int32_t)a[i] * (int32_t)b[i];
    return acc;
}
#endif
#endif
