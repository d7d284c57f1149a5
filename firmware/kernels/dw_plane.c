/* DEPTHWISE_CONV_2D 3x3, stride 1, SAME, multiplier 1, on SMLAD cores (the dw_plane layers the
 * compiler picks, pipeline/aot/compile/compiler.py takes_dw_plane): one channel at a time.
 *
 * SMLAD wants two taps of one channel side by side, which NHWC never has. So each channel is first
 * gathered into a column-major int16 plane of x with a border of the input zero point (a padding tap
 * then contributes (zp + in_offset) * w = 0, as the reference's skipped one does; the accumulators
 * start from bias + in_offset * sum(w)), DW_COL halfwords per column, and a word of the plane is
 * two vertically adjacent taps. Output rows y, y + 1 of one column read plane rows
 * y..y+3 as two words A, B; with Kj = (w0j, w1j) and Kj' = (w1j, w2j) (kernel column j):
 *   out(y)   += SMLAD(A, Kj)  + SMLABT(B, Kj')        out(y+1) += SMLATB(A, Kj) + SMLAD(B, Kj')
 * Two output columns share the middle plane columns, so a 2x2 output block is 4 LDRDs and 24 MAC
 * instructions for 36 MACs (the NHWC kernel in dwconv_dsp.c: 8 instructions per 4 MACs). The
 * weights and bias are stored doubled, so the accumulators are 2x and the requantization (aot_rq2)
 * skips its doubling. The block loop is assembly: GCC 12 spills it to ~130 instructions per block, the
 * assembly takes 62 (no clamp) to 74 (SIMD clamp of four outputs with SSUB8/SEL).
 * The gather reads channel c before the channel's outputs are written, so in place is safe. */
#include <string.h>
#include "aot_kernels.h"
#include "aot_dot.h"
#include "aot_asm.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP

/* Plane column stride, halfwords: a fixed 64 bytes lets the assembly reach the four columns of a
 * block with immediate offsets (H + 3 <= 32, checked by the compiler). */
enum { DW_COL = 32 };
/* Stack the planes may take: pipeline/aot/compile/compiler.py DW_PLANE_MAX_BYTES (it checks one plane). */
enum { DW_PLANE_MAX_BYTES = 2048 };

/* Per-channel record (int32 words), built by pipeline/aot/compile/compiler.py pack_dw_plane: */
enum { R_B2 = 0,      /* 2 * (bias + in_offset * sum(w)), four times (one LDM starts the four
                         * accumulators) */
       R_K = 4,       /* K0 K0' K1 K1' K2 K2', int16 pairs, doubled */
       R_M = 10, R_H = 11, R_R = 12,   /* aot_rq_t */
       R_WORDS = 13 };

typedef struct {
    const int16_t *plane;   /* column 0 of the first column pair */
    const int32_t *rec;
    int8_t *out;            /* output (0, 0) of the channel */
    int32_t c, rs;          /* output bytes between columns, between rows */
    int32_t row_pairs, col_pairs, clamp;
    uint32_t lo4, hi4;      /* act_min / act_max in every byte (the layer's, for SSUB8/SEL) */
} dw_plane_job_t;

/* An output in place from its doubled sum, records m h r in r9 r10 r11, r7 scratch. */
#define DW_RQ(acc) AOT_ASM_RQ(acc, "r7", acc, "r9", "r10", "r11")

/* Entry of both block kernels: the callee-saved registers, then the job's ten words pushed so that
 * [sp + 4*i] is field i of the job. */
#define DW_JOB_ON_STACK          \
    "   push {r4-r11, lr}\n"      \
    "   ldmia r0, {r1-r10}\n"     \
    "   push {r1-r10}\n"

/* Every full 2x2 block (rows 0..2*row_pairs-1, columns 0..2*col_pairs-1) of one channel. */
__attribute__((naked)) static void dw_plane_blocks(const dw_plane_job_t *job) {
    (void)job;
    __asm__ volatile(
        DW_JOB_ON_STACK
        "   ldr r1, [sp, #4]\n"            /* record */
        "1:\n"                             /* column pair */
        "   ldr r0, [sp, #0]\n"            /* plane column x */
        "   ldr r2, [sp, #8]\n"            /* out (0, x) */
        "   ldr lr, [sp, #20]\n"           /* row pairs */
        "2:\n"                             /* block: s00 s10 s01 s11 = r3 r4 r5 r6 (s<row><col>) */
        "   ldmia r1, {r3-r6}\n"
        "   ldrd r9, r10, [r1, #32]\n"     /* K2 K2' */
        "   ldrd r7, r8, [r0, #192]\n"     /* plane column x + 3: A B */
        "   smlad r5, r7, r9, r5\n"
        "   smlabt r5, r8, r10, r5\n"
        "   smlatb r6, r7, r9, r6\n"
        "   smlad r6, r8, r10, r6\n"
        "   ldrd r11, r12, [r1, #24]\n"    /* K1 K1' */
        "   ldrd r7, r8, [r0, #128]\n"     /* x + 2 */
        "   smlad r3, r7, r9, r3\n"
        "   smlabt r3, r8, r10, r3\n"
        "   smlatb r4, r7, r9, r4\n"
        "   smlad r4, r8, r10, r4\n"
        "   smlad r5, r7, r11, r5\n"
        "   smlabt r5, r8, r12, r5\n"
        "   smlatb r6, r7, r11, r6\n"
        "   smlad r6, r8, r12, r6\n"
        "   ldrd r9, r10, [r1, #16]\n"     /* K0 K0' */
        "   ldrd r7, r8, [r0, #64]\n"      /* x + 1 */
        "   smlad r3, r7, r11, r3\n"
        "   smlabt r3, r8, r12, r3\n"
        "   smlatb r4, r7, r11, r4\n"
        "   smlad r4, r8, r12, r4\n"
        "   smlad r5, r7, r9, r5\n"
        "   smlabt r5, r8, r10, r5\n"
        "   smlatb r6, r7, r9, r6\n"
        "   smlad r6, r8, r10, r6\n"
        "   ldrd r7, r8, [r0], #4\n"       /* x, and on to the next row pair */
        "   smlad r3, r7, r9, r3\n"
        "   smlabt r3, r8, r10, r3\n"
        "   smlatb r4, r7, r9, r4\n"
        "   smlad r4, r8, r10, r4\n"
        "   ldrd r9, r10, [r1, #40]\n"     /* m h */
        "   ldr r11, [r1, #48]\n"          /* r */
        DW_RQ("r3") DW_RQ("r4") DW_RQ("r5") DW_RQ("r6")
        "   ldr r7, [sp, #28]\n"          /* clamp? */
        "   cbz r7, 3f\n"
        "   bfi r3, r5, #8, #8\n"          /* [s00 s01 s10 s11] in one word, then both bounds */
        "   bfi r3, r4, #16, #8\n"         /* bytewise */
        "   bfi r3, r6, #24, #8\n"
        "   ldrd r10, r11, [sp, #32]\n"
        AOT_ASM_CLAMP_BYTES("r3", "r10", "r11", "r9")
        "   lsr r5, r3, #8\n"
        "   lsr r4, r3, #16\n"
        "   lsr r6, r3, #24\n"
        "3:\n"
        "   ldrd r7, r8, [sp, #12]\n"      /* c, rs */
        "   add r10, r2, r8\n"            /* row y + 1 before row y, right before left: */
        "   strb r6, [r10, r7]\n"         /* with rs = 0 or c = 0 (an odd last row or */
        "   strb r4, [r10]\n"             /* column) the outputs past the edge land on */
        "   strb r5, [r2, r7]\n"          /* the same byte and are overwritten by the */
        "   strb r3, [r2]\n"              /* real ones */
        "   add r2, r2, r8, lsl #1\n"     /* two rows down */
        "   subs lr, lr, #1\n"
        "   bne 2b\n"
        "   ldr r0, [sp, #0]\n"            /* next column pair: plane + 2 columns, out + 2c */
        "   add r0, r0, #128\n"
        "   str r0, [sp, #0]\n"
        "   ldr r2, [sp, #8]\n"
        "   add r2, r2, r7, lsl #1\n"
        "   str r2, [sp, #8]\n"
        "   ldr r0, [sp, #24]\n"
        "   subs r0, r0, #1\n"
        "   str r0, [sp, #24]\n"
        "   bne 1b\n"
        "   add sp, sp, #40\n"
        "   pop {r4-r11, pc}\n");
}

/* An odd last column: rows 2i, 2i + 1 of output column x (plane columns x..x+2) for every row
 * pair, 12 MAC instructions for 18 MACs and 37 instructions per block. The 2x2 block with its
 * twin column overwritten took 62: on the KWS DS-CNN (W = 5) that is 12 of a channel's 39 blocks,
 * ~19k instructions per layer. Same job as dw_plane_blocks (c and col_pairs unused). */
__attribute__((naked)) static void dw_plane_column(const dw_plane_job_t *job) {
    (void)job;
    __asm__ volatile(
        DW_JOB_ON_STACK
        "   ldrd r0, r1, [sp, #0]\n"       /* plane column x, record */
        "   ldr r2, [sp, #8]\n"            /* out (0, x) */
        "   ldrd r12, lr, [sp, #16]\n"     /* rs, row pairs */
        "1:\n"                             /* s0 s1 = r3 r4 (rows 2i, 2i + 1) */
        "   ldrd r3, r4, [r1]\n"
        "   ldrd r9, r10, [r1, #16]\n"     /* K0 K0' */
        "   ldrd r7, r8, [r0]\n"           /* plane column x: A B */
        "   smlad r3, r7, r9, r3\n"
        "   smlabt r3, r8, r10, r3\n"
        "   smlatb r4, r7, r9, r4\n"
        "   smlad r4, r8, r10, r4\n"
        "   ldrd r9, r10, [r1, #24]\n"     /* K1 K1' */
        "   ldrd r7, r8, [r0, #64]\n"      /* x + 1 */
        "   smlad r3, r7, r9, r3\n"
        "   smlabt r3, r8, r10, r3\n"
        "   smlatb r4, r7, r9, r4\n"
        "   smlad r4, r8, r10, r4\n"
        "   ldrd r9, r10, [r1, #32]\n"     /* K2 K2' */
        "   ldrd r7, r8, [r0, #128]\n"     /* x + 2 */
        "   smlad r3, r7, r9, r3\n"
        "   smlabt r3, r8, r10, r3\n"
        "   smlatb r4, r7, r9, r4\n"
        "   smlad r4, r8, r10, r4\n"
        "   adds r0, r0, #4\n"             /* next row pair */
        "   ldrd r9, r10, [r1, #40]\n"     /* m h */
        "   ldr r11, [r1, #48]\n"          /* r */
        DW_RQ("r3") DW_RQ("r4")
        "   ldr r7, [sp, #28]\n"           /* clamp? */
        "   cbz r7, 2f\n"
        "   bfi r3, r4, #8, #8\n"          /* both outputs in one word, bounds bytewise */
        "   ldrd r10, r11, [sp, #32]\n"
        AOT_ASM_CLAMP_BYTES("r3", "r10", "r11", "r9")
        "   lsr r4, r3, #8\n"
        "2:\n"
        "   strb r4, [r2, r12]\n"
        "   strb r3, [r2]\n"
        "   add r2, r2, r12, lsl #1\n"     /* two rows down */
        "   subs lr, lr, #1\n"
        "   bne 1b\n"
        "   add sp, sp, #40\n"
        "   pop {r4-r11, pc}\n");
}

/* Channel c of the input into plane columns 1..W, rows 1..H. */
static void dw_plane_gather(const aot_conv_t *p, const int8_t *inb, int32_t c, int16_t *pl) {
    const int32_t C = p->in_c, W = p->in_w, H = p->in_h, rs = W * C;
    for (int32_t x = 0; x < W; ++x) {
        int16_t *d = pl + (x + 1) * DW_COL + 1;
        const int8_t *s = inb + x * C + c;
        int32_t y = 0;
        for (; y + 2 <= H; y += 2, s += 2 * rs) {
            d[y] = s[0];
            d[y + 1] = s[rs];
        }
        if (y < H) d[y] = s[0];
    }
}

/* `layer` carries the per-layer fields (clamp, lo4, hi4); the rest are this call's. */
static inline void blocks_setup(dw_plane_job_t *layer, const int16_t *pl, const int32_t *rec, int8_t *o, int32_t c,
                                int32_t rs, int32_t row_pairs, int32_t col_pairs) {
    layer->plane = pl;
    layer->rec = rec;
    layer->out = o;
    layer->c = c;
    layer->rs = rs;
    layer->row_pairs = row_pairs;
    layer->col_pairs = col_pairs;
}

static void blocks(dw_plane_job_t *layer, const int16_t *pl, const int32_t *rec, int8_t *o, int32_t c, int32_t rs,
                   int32_t row_pairs, int32_t col_pairs) {
    blocks_setup(layer, pl, rec, o, c, rs, row_pairs, col_pairs);
    dw_plane_blocks(layer);
}

/* Channels c and c + 1 into planes pa and pb (word pointers), each column as words of two
 * vertically adjacent rows: plane halfwords 2k, 2k + 1 are input rows 2k - 1, 2k (row -1 and row H
 * are the border). One halfword load per pixel takes both channels; a word of two such loads
 * (rows 2k - 1, 2k) is [c c' | c c'] bytes, which SXTB16 and SXTB16 ROR 8 turn straight into the
 * two planes' words: 10 instructions per 4 values, where one channel at a time took ~20. */
static void dw_plane_gather2(const aot_conv_t *p, const int8_t *inb, int32_t c, uint32_t *pa, uint32_t *pb) {
    const int32_t C = p->in_c, W = p->in_w, H = p->in_h, rs = W * C;
    const uint32_t zp = (uint8_t)(-p->in_offset) * 0x0101u;   /* the zero point in both bytes */
    for (int32_t x = 0; x < W; ++x) {
        uint32_t *da = pa + (x + 1) * (DW_COL / 2), *db = pb + (x + 1) * (DW_COL / 2);
        const uint8_t *s = (const uint8_t *)inb + x * C + c;
        uint16_t u, v;
        memcpy(&u, s, 2);
        uint32_t t = zp | (uint32_t)u << 16;                  /* border above, row 0 */
        *da++ = __sxtb16(t), *db++ = aot_sxtb16_ror8(t);
        s += rs;
        int32_t y = 1;
        for (; y + 2 <= H; y += 2, s += 2 * rs) {
            memcpy(&u, s, 2);
            memcpy(&v, s + rs, 2);
            t = u | (uint32_t)v << 16;
            *da++ = __sxtb16(t), *db++ = aot_sxtb16_ror8(t);
        }
        if (y < H) {                                          /* row H - 1, border below */
            memcpy(&u, s, 2);
            t = u | zp << 16;
            *da = __sxtb16(t), *db = aot_sxtb16_ror8(t);
        }
    }
}

/* Every output of channel c from its plane (pl: plane column 0). */
static void dw_plane_channel(const aot_conv_t *p, dw_plane_job_t *job, const int16_t *pl, const int32_t *rec,
                             int8_t *o) {
    const int32_t H = p->out_h, W = p->out_w, C = p->in_c, H2 = H & ~1, W2 = W & ~1, rs = W * C;
    /* full 2x2 blocks, then an odd last column, an odd last row (rs = 0: its lower twin is
     * overwritten) and their corner (c = 0 too) */
    if (H2 && W2) blocks(job, pl, rec, o, C, rs, H2 / 2, W2 / 2);
    if (H2 && W2 < W) {
        blocks_setup(job, pl + W2 * DW_COL, rec, o + W2 * C, 0, rs, H2 / 2, 1);
        dw_plane_column(job);
    }
    if (H2 < H && W2) blocks(job, pl + H2, rec, o + H2 * rs, C, 0, 1, W2 / 2);
    if (H2 < H && W2 < W) blocks(job, pl + W2 * DW_COL + H2, rec, o + H2 * rs + W2 * C, 0, 0, 1, 1);
}

void aot_dw_plane_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
    const int32_t C = p->in_c, plane_words = DW_COL / 2 * (p->in_w + 3);
    const size_t ib = (size_t)p->in_h * p->in_w * C, ob = (size_t)p->out_h * p->out_w * C;
    /* two planes where they fit in DW_PLANE_MAX_BYTES (the compiler checked one) and C is even */
    const int two = (C & 1) == 0 && 2 * 4 * plane_words <= DW_PLANE_MAX_BYTES;
    uint32_t plw[(two ? 2 : 1) * plane_words];
    const uint32_t zp2 = (uint16_t)(int16_t)(-p->in_offset) * 0x10001u;   /* the border */
    for (size_t i = 0; i < sizeof plw / 4; ++i) plw[i] = zp2;
    const int32_t *recs = (const int32_t *)p->wpack;
    dw_plane_job_t job = {.clamp = aot_act_kind(p->act_min, p->act_max) != AOT_ACT_NONE,
                          .lo4 = (uint8_t)p->act_min * 0x01010101u, .hi4 = (uint8_t)p->act_max * 0x01010101u};
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + b * ib;
        int8_t *outb = out + b * ob;
        if (two) {
            for (int32_t c = 0; c < C; c += 2) {
                dw_plane_gather2(p, inb, c, plw, plw + plane_words);
                dw_plane_channel(p, &job, (const int16_t *)plw, recs + R_WORDS * c, outb + c);
                dw_plane_channel(p, &job, (const int16_t *)(plw + plane_words), recs + R_WORDS * (c + 1),
                                 outb + c + 1);
            }
            continue;
        }
        for (int32_t c = 0; c < C; ++c) {
            dw_plane_gather(p, inb, c, (int16_t *)plw);
            dw_plane_channel(p, &job, (const int16_t *)plw, recs + R_WORDS * c, outb + c);
        }
    }
}
#else
/* The host and cores without SMLAD run dwconv.c's kernel. */
typedef int aot_dw_plane_unused_t;
#endif
