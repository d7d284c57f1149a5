/* The hot loop of CONV_2D and FULLY_CONNECTED on Cortex-M4/M7, in assembly: two pixels against
 * every channel pair (see aot_gemm.h for the layouts), one-multiply requantization (aot_rq) and
 * the int8 saturation. Same integer sums and the same requantization as the C path, so the same
 * bits as TFLite Micro; tests/aot and tests/cortex_m run both on every core.
 *
 * Why assembly: GCC 12 needs 13 instructions per group of 4 taps (two LDRD per operand, loop
 * bookkeeping) and spills in the requantization (~20 instructions per output). Here a group is
 * LDM of the four widened activations, LDM of the four packed weight words and eight SMLADs:
 * 10 instructions for 16 MACs. The groups are unrolled 64 times and entered part-way (a computed
 * BX, like Duff's device), so a patch of up to 256 taps runs with no loop counter at all (all 14
 * usable registers hold operands); longer patches go round the 64 again, counted on the stack.
 * The requantization keeps everything in registers: 5 instructions per output.
 * On the KWS DS-CNN pointwise layers (K = 64) that is ~207 instructions per 256 MACs (C: ~300). */
#include "aot_gemm.h"

#if defined(AOT_GEMM_DSP)
/* Field offsets are the assembly's [sp, #4*i] after it copies the job onto its stack. */
_Static_assert(sizeof(aot_gemm2_job_t) == 12 * 4, "aot_gemm2_job_t is 12 words");

__attribute__((naked)) void aot_gemm2x2_dsp(const aot_gemm2_job_t *job) {
    (void)job;
    __asm__ volatile(
        "   push {r4-r11, lr}\n"
        "   ldmia r0, {r1-r12}\n"
        "   push {r1-r12}\n"               /* [sp + 4*i]: field i of the job */
        "   ldr lr, [sp, #4]\n"            /* packed weights, consumed in order */
        "   ldr r2, [sp, #8]\n"            /* groups (>= 1) */
        "   subs r2, r2, #1\n"
        "   lsrs r3, r2, #6\n"             /* full passes of 64 after the first */
        "   and r2, r2, #63\n"
        "   adds r2, r2, #1\n"             /* groups in the first pass, 1..64 */
        "   adr.w r4, 2f\n"
        "   movs r5, #40\n"                /* bytes per group: 10 32-bit instructions */
        "   mls r4, r2, r5, r4\n"
        "   orr r4, r4, #1\n"              /* Thumb bit for BX */
        "   str r4, [sp, #8]\n"            /* slot 2: entry */
        "   str r3, [sp, #4]\n"            /* slot 1: extra passes */
        "3:\n"                             /* channel pair: accumulators from acc0, */
        "   ldr r1, [sp, #16]\n"
        "   ldmia r1!, {r0, r9, r10, r11}\n"   /* laid out [a1 a0 a0 a1] (compiler.py) */
        "   str r1, [sp, #16]\n"
        "   ldr r12, [sp, #0]\n"           /* widened pixel pair */
        "   ldr r1, [sp, #4]\n"
        "   str r1, [sp, #44]\n"           /* slot 11: passes left */
        "   ldr r1, [sp, #8]\n"
        "   bx r1\n"
        "   .p2align 2\n"
        "1:\n"
        "   .rept 64\n"
        "   ldmia.w r12!, {r1-r4}\n"       /* a02 a13 b02 b13 */
        "   ldmia.w lr!, {r5-r8}\n"        /* u02 u13 (channel c), v02 v13 (c + 1) */
        "   smlad r9, r5, r1, r9\n"
        "   smlad r10, r5, r3, r10\n"
        "   smlad r9, r6, r2, r9\n"
        "   smlad r10, r6, r4, r10\n"
        "   smlad r11, r7, r1, r11\n"
        "   smlad r0, r7, r3, r0\n"
        "   smlad r11, r8, r2, r11\n"
        "   smlad r0, r8, r4, r0\n"
        "   .endr\n"
        "2:\n"
        "   ldr r1, [sp, #44]\n"
        "   cbz r1, 4f\n"
        "   subs r1, r1, #1\n"
        "   str r1, [sp, #44]\n"
        "   b.w 1b\n"
        "4:\n"                             /* requantize s00 s01 s10 s11 = r9 r10 r11 r0 */
        "   ldr r12, [sp, #20]\n"
        "   ldmia r12!, {r1-r6}\n"         /* m h r of channel c, then of c + 1 */
        "   str r12, [sp, #20]\n"
        "   add r7, r9, r9\n"
        "   smmlar r7, r7, r1, r2\n"
        "   add r7, r7, r9, asr #31\n"
        "   asr r7, r7, r3\n"
        "   ssat r7, #8, r7\n"
        "   add r8, r10, r10\n"
        "   smmlar r8, r8, r1, r2\n"
        "   add r8, r8, r10, asr #31\n"
        "   asr r8, r8, r3\n"
        "   ssat r8, #8, r8\n"
        "   add r9, r11, r11\n"
        "   smmlar r9, r9, r4, r5\n"
        "   add r9, r9, r11, asr #31\n"
        "   asr r9, r9, r6\n"
        "   ssat r9, #8, r9\n"
        "   add r10, r0, r0\n"
        "   smmlar r10, r10, r4, r5\n"
        "   add r10, r10, r0, asr #31\n"
        "   asr r10, r10, r6\n"
        "   ssat r10, #8, r10\n"
        "   ldr r1, [sp, #40]\n"           /* fused activation narrower than int8? */
        "   cbz r1, 5f\n"
        "   ldrd r1, r2, [sp, #32]\n"
        "   cmp r7, r1\n"
        "   it lt\n"
        "   movlt r7, r1\n"
        "   cmp r7, r2\n"
        "   it gt\n"
        "   movgt r7, r2\n"
        "   cmp r8, r1\n"
        "   it lt\n"
        "   movlt r8, r1\n"
        "   cmp r8, r2\n"
        "   it gt\n"
        "   movgt r8, r2\n"
        "   cmp r9, r1\n"
        "   it lt\n"
        "   movlt r9, r1\n"
        "   cmp r9, r2\n"
        "   it gt\n"
        "   movgt r9, r2\n"
        "   cmp r10, r1\n"
        "   it lt\n"
        "   movlt r10, r1\n"
        "   cmp r10, r2\n"
        "   it gt\n"
        "   movgt r10, r2\n"
        "5:\n"
        "   ldrd r1, r2, [sp, #24]\n"      /* oa, ob - oa */
        "   strb r8, [r1, r2]\n"
        "   strb r7, [r1], #1\n"
        "   strb r10, [r1, r2]\n"
        "   strb r9, [r1], #1\n"
        "   str r1, [sp, #24]\n"
        "   ldr r1, [sp, #12]\n"
        "   subs r1, r1, #1\n"
        "   str r1, [sp, #12]\n"
        "   bne.w 3b\n"
        "   add sp, sp, #48\n"
        "   pop {r4-r11, pc}\n");
}
#else
/* The C path (gemm.c) serves the host and Helium cores. */
typedef int aot_gemm_dsp_unused_t;
#endif
