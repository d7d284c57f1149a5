/* The hot loop of CONV_2D and FULLY_CONNECTED on Cortex-M4/M7, in assembly: pixel pairs against
 * every channel pair (see aot_gemm.h for the layouts), one-multiply requantization (aot_rq2) and
 * the int8 saturation. Same integer sums and the same requantization as the C path, so the same
 * bits as TFLite Micro; tests/aot and tests/cortex_m run both on every core.
 *
 * Why assembly: GCC 12 needs 13 instructions per group of 4 taps (two LDRD per operand, loop
 * bookkeeping) and spills in the requantization (~20 instructions per output). Here a group is
 * LDM of the four widened activations, LDM of the four packed weight words and eight SMLADs:
 * 10 instructions for 16 MACs. The groups are unrolled 64 times and entered part-way (LDR PC of a
 * computed address, like Duff's device), so a patch of up to 256 taps runs with no loop counter at
 * all (all 14 usable registers hold operands); longer patches go round the 64 again, counted on
 * the stack. Everything a channel pair needs besides the activations comes from one stream
 * (compiler.py pack_gemm_stream): an LDM of its four accumulator starts, its weights, an LDM of its
 * two requantization records; the sums come out doubled, so the requantization is 4 instructions
 * per output, and where the groups end is an address chosen once per call (clamp or not, one pass
 * or several). A pointwise layer is one call: each pixel pair is widened here (9 instructions per
 * group of 4 taps) and the next one follows.
 * On the KWS DS-CNN pointwise layers (K = 64) that is ~190 instructions per 256 MACs (C: ~300). */
#include "aot_gemm.h"
#include "aot_asm.h"

/* A channel pair's four outputs: its records (m h r of channel c, then of c + 1) from the stream,
 * sums doubled so no ADD comes before SMMLAR; s00 s01 s10 s11 = r9 r10 r11 r0 -> r7 r8 r9 r10. */
#define RQ_PAIR                                          \
    "   ldmia lr!, {r1-r6}\n"                          \
    AOT_ASM_RQ("r7", "r7", "r9", "r1", "r2", "r3")      \
    AOT_ASM_RQ("r8", "r8", "r10", "r1", "r2", "r3")     \
    AOT_ASM_RQ("r9", "r9", "r11", "r4", "r5", "r6")     \
    AOT_ASM_RQ("r10", "r10", "r0", "r4", "r5", "r6")

#if defined(AOT_GEMM_DSP)
/* Field offsets are the assembly's [sp, #4*i] after it copies the job onto its stack; slots 11-15
 * are its own: 11 entry into the groups, 12 where the groups continue, 13 passes of 64 after the
 * first, 14 passes left, 15 end of the stream. */
_Static_assert(sizeof(aot_gemm2_job_t) == 16 * 4, "aot_gemm2_job_t is 16 words");
_Static_assert(AOT_GEMM_HEAD == 8 && AOT_GEMM_TAIL == 12, "the assembly's stream records");

__attribute__((naked)) void aot_gemm2x2_dsp(aot_gemm2_job_t *job) {
    (void)job;
    __asm__ volatile(
        "   push {r4-r11, lr}\n"
        "   sub sp, sp, #64\n"
        "   ldmia r0!, {r1-r8}\n"
        "   stmia sp, {r1-r8}\n"
        "   ldmia r0, {r1-r3}\n"
        "   add r4, sp, #32\n"
        "   stmia r4, {r1-r3}\n"           /* [sp + 4*i]: field i of the job, i < 11 */
        "   ldr r2, [sp, #8]\n"            /* groups (>= 1) */
        "   subs r2, r2, #1\n"
        "   lsrs r3, r2, #6\n"             /* full passes of 64 after the first */
        "   and r2, r2, #63\n"
        "   adds r2, r2, #1\n"             /* groups in the first pass, 1..64 */
        "   adr.w r4, 2f\n"
        "   movs r5, #40\n"                /* bytes per group: 10 32-bit instructions */
        "   mls r4, r2, r5, r4\n"
        "   orr r4, r4, #1\n"              /* Thumb bit for LDR PC */
        "   str r4, [sp, #44]\n"
        "   str r3, [sp, #52]\n"
        "   str r3, [sp, #56]\n"
        "   adr.w r4, 4f\n"                /* after the groups: requantize, */
        "   ldr r1, [sp, #40]\n"
        "   cbz r1, 10f\n"
        "   adr.w r4, 6f\n"                /* requantize and clamp, */
        "10:\n"
        "   cbz r3, 11f\n"
        "   adr.w r4, 7f\n"                /* or another pass first */
        "11:\n"
        "   orr r4, r4, #1\n"
        "   str r4, [sp, #48]\n"
        "   ldr r1, [sp, #8]\n"            /* stream end: pairs * (16 * groups + 40) bytes on */
        "   lsls r1, r1, #4\n"
        "   adds r1, r1, #40\n"
        "   ldr r2, [sp, #12]\n"
        "   ldr r5, [sp, #4]\n"
        "   mla r1, r1, r2, r5\n"
        "   str r1, [sp, #60]\n"
        "8:\n"                             /* pixel pair */
        "   ldr r3, [sp, #16]\n"
        "   cbz r3, 9f\n"                  /* no pixels: col is already widened */
        "   mov r12, r3\n"
        "   ldr r1, [sp, #8]\n"
        "   add r2, r12, r1, lsl #2\n"     /* the second pixel follows the first */
        "   ldr r11, [sp, #0]\n"
        "12:\n"                            /* [a02 a13 b02 b13] per group of 4 taps */
        "   ldr r3, [r12], #4\n"
        "   ldr r4, [r2], #4\n"
        "   sxtb16 r5, r3\n"
        "   sxtb16 r6, r3, ror #8\n"
        "   sxtb16 r7, r4\n"
        "   sxtb16 r8, r4, ror #8\n"
        "   stmia r11!, {r5-r8}\n"
        "   subs r1, r1, #1\n"
        "   bne 12b\n"
        "   str r2, [sp, #16]\n"           /* the next pair follows the second pixel */
        "9:\n"
        "   ldr lr, [sp, #4]\n"            /* the stream, consumed in order */
        "3:\n"                             /* channel pair: accumulators laid out [a1 a0 a0 a1] */
        "   ldmia lr!, {r0, r9, r10, r11}\n"
        "   ldr r12, [sp, #0]\n"           /* widened pixel pair */
        "   ldr pc, [sp, #44]\n"
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
        "   ldr pc, [sp, #48]\n"
        "7:\n"                             /* patches longer than 256 taps */
        "   ldr r1, [sp, #56]\n"
        "   cbz r1, 13f\n"
        "   subs r1, r1, #1\n"
        "   str r1, [sp, #56]\n"
        "   b.w 1b\n"
        "13:\n"
        "   ldr r1, [sp, #52]\n"
        "   str r1, [sp, #56]\n"
        "   ldr r1, [sp, #40]\n"
        "   cmp r1, #0\n"
        "   bne.w 6f\n"
        "4:\n"                             /* requantize s00 s01 s10 s11 = r9 r10 r11 r0 */
        RQ_PAIR
        "5:\n"
        "   ldrd r1, r2, [sp, #24]\n"      /* oa, ob - oa */
        "   strb r8, [r1, r2]\n"
        "   strb r7, [r1], #1\n"
        "   strb r10, [r1, r2]\n"
        "   strb r9, [r1], #1\n"
        "   str r1, [sp, #24]\n"
        "   ldr r1, [sp, #60]\n"
        "   cmp lr, r1\n"
        "   bne.w 3b\n"
        "   ldrd r1, r2, [sp, #24]\n"      /* past the second pixel's outputs */
        "   add r1, r1, r2\n"
        "   str r1, [sp, #24]\n"
        "   ldr r1, [sp, #20]\n"
        "   subs r1, r1, #1\n"
        "   str r1, [sp, #20]\n"
        "   bne.w 8b\n"
        "   add sp, sp, #64\n"
        "   pop {r4-r11, pc}\n"
        "6:\n"                             /* the same, then the fused activation's bounds */
        RQ_PAIR
        "   ldrd r1, r2, [sp, #32]\n"
        AOT_ASM_CLAMP("r7", "r1", "r2") AOT_ASM_CLAMP("r8", "r1", "r2")
        AOT_ASM_CLAMP("r9", "r1", "r2") AOT_ASM_CLAMP("r10", "r1", "r2")
        "   b.w 5b\n");
}
#else
/* The C path (gemm.c) serves the host and Helium cores. */
typedef int aot_gemm_dsp_unused_t;
#endif
