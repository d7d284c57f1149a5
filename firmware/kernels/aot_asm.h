/* Assembly text shared by the naked kernels (gemm_dsp.c, dw_plane.c): string pieces that expand
 * inside their __asm__ bodies, so a sequence written once reads the same in every loop that uses it.
 * Register names are strings, e.g. AOT_ASM_RQ("r7", "r7", "r9", "r1", "r2", "r3"). */
#ifndef AOT_ASM_H
#define AOT_ASM_H

/* One output of the one-multiply requantization (aot_rq2) from a doubled sum s: d = SSAT8((SMMLAR(s,
 * m, h) + (s >> 31)) >> r), with t the SMMLAR result (t may be d, or a scratch register where d
 * is s itself). 4 instructions. */
#define AOT_ASM_RQ(d, t, s, m, h, r)                     \
    "   smmlar " t ", " s ", " m ", " h "\n"             \
    "   add " d ", " t ", " s ", asr #31\n"              \
    "   asr " d ", " d ", " r "\n"                       \
    "   ssat " d ", #8, " d "\n"

/* d = max(lo, min(hi, d)) with two IT blocks. */
#define AOT_ASM_CLAMP(d, lo, hi)                         \
    "   cmp " d ", " lo "\n"                             \
    "   it lt\n"                                         \
    "   movlt " d ", " lo "\n"                           \
    "   cmp " d ", " hi "\n"                             \
    "   it gt\n"                                         \
    "   movgt " d ", " hi "\n"

/* Every byte of w clamped to the bytes of lo and hi (signed): SSUB8 sets GE where its first operand
 * is >=, SEL takes the first operand there; t is overwritten. */
#define AOT_ASM_CLAMP_BYTES(w, lo, hi, t)                \
    "   ssub8 " t ", " w ", " lo "\n"                    \
    "   sel " w ", " w ", " lo "\n"                      \
    "   ssub8 " t ", " hi ", " w "\n"                    \
    "   sel " w ", " w ", " hi "\n"

#endif
