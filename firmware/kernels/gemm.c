/* int8 GEMM core shared by CONV_2D and FULLY_CONNECTED (see aot_gemm.h). Integer sums are exact in
 * any order, and every output goes through the same aot_mbqm requantization as the reference
 * kernels, so all three variants give TFLite Micro's bits. */
#include <string.h>
#include "aot_gemm.h"
#include "aot_fixedpoint.h"
#include "aot_kernels.h"

#if defined(AOT_GEMM_MVE)
#include <arm_mve.h>
#elif defined(AOT_GEMM_DSP)
#include <arm_acle.h>
static inline uint32_t sxtb16_ror8(uint32_t x) {
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
/* Two words and a post-increment in one instruction (GCC 12 splits a 64-bit load into two LDRs). */
static inline void ldrd_inc(const uint32_t **p, uint32_t *lo, uint32_t *hi) {
    __asm("ldrd %0, %1, [%2], #8" : "=r"(*lo), "=r"(*hi), "+r"(*p) : "m"(*(const uint32_t(*)[2]) * p));
}
#endif

#if defined(AOT_GEMM_DSP)
/* [a02 a13 b02 b13] per group of 4 (int16 pairs), the last group zero-padded: K4 / 4 groups. */
static void widen2(const int8_t *xa, const int8_t *xb, int32_t K, uint32_t *d) {
    int32_t k = 0;
    for (; k + 4 <= K; k += 4) {
        uint32_t u, v;
        memcpy(&u, xa + k, 4);
        memcpy(&v, xb + k, 4);
        d[0] = __sxtb16(u);
        d[1] = sxtb16_ror8(u);
        d[2] = __sxtb16(v);
        d[3] = sxtb16_ror8(v);
        d += 4;
    }
    if (k < K) {
        uint32_t u = 0, v = 0;
        memcpy(&u, xa + k, (size_t)(K - k));
        memcpy(&v, xb + k, (size_t)(K - k));
        d[0] = __sxtb16(u);
        d[1] = sxtb16_ror8(u);
        d[2] = __sxtb16(v);
        d[3] = sxtb16_ror8(v);
    }
}

/* One pixel: [a02 a13] per group of 4, the last group zero-padded. */
static void widen1(const int8_t *xa, int32_t K, uint32_t *d) {
    int32_t k = 0;
    for (; k + 4 <= K; k += 4, d += 2) {
        uint32_t u;
        memcpy(&u, xa + k, 4);
        d[0] = __sxtb16(u);
        d[1] = sxtb16_ror8(u);
    }
    if (k < K) {
        uint32_t u = 0;
        memcpy(&u, xa + k, (size_t)(K - k));
        d[0] = __sxtb16(u);
        d[1] = sxtb16_ror8(u);
    }
}

/* Four taps of one channel and one pixel, widened to [02 13] halfword pairs: two SMLADs. */
static inline int32_t smlad4(uint32_t w02, uint32_t w13, uint32_t x02, uint32_t x13, int32_t s) {
    return __smlad(w13, x13, __smlad(w02, x02, s));
}

/* One pixel against the channel pair wq: s[0] += (oc, a), s[2] += (oc + 1, a). */
static inline void dot1x2(const uint32_t *col, const int16_t *wq, int32_t K, int32_t *s) {
    int32_t s0 = s[0], s1 = s[2];
    const uint32_t *w = (const uint32_t *)wq;
    for (int32_t n = (K + 3) >> 2; n > 0; --n) {
        uint32_t a02, a13, u02, u13, v02, v13;
        ldrd_inc(&col, &a02, &a13);
        ldrd_inc(&w, &u02, &u13);
        ldrd_inc(&w, &v02, &v13);
        s0 = smlad4(u02, u13, a02, a13, s0);
        s1 = smlad4(v02, v13, a02, a13, s1);
    }
    s[0] = s0;
    s[2] = s1;
}
#endif

/* Channels oc (weights w0 / packed pair wq) and oc + 1 against pixels a and b:
 * s[0] = (oc, a), s[1] = (oc, b), s[2] = (oc + 1, a), s[3] = (oc + 1, b) */
static inline void dot2x2(const int8_t *a, const int8_t *b, const uint32_t *col, const int8_t *w0,
                          const int8_t *w1, const int16_t *wq, int32_t K, int32_t *s) {
    int32_t s00 = s[0], s01 = s[1], s10 = s[2], s11 = s[3];
#if defined(AOT_GEMM_DSP)
    (void)a; (void)b; (void)w0; (void)w1;
    const uint32_t *w = (const uint32_t *)wq;
    for (int32_t n = (K + 3) >> 2; n > 0; --n) {
        uint32_t a02, a13, b02, b13, u02, u13, v02, v13;
        ldrd_inc(&col, &a02, &a13);
        ldrd_inc(&col, &b02, &b13);
        ldrd_inc(&w, &u02, &u13);
        s00 = smlad4(u02, u13, a02, a13, s00);
        s01 = smlad4(u02, u13, b02, b13, s01);
        ldrd_inc(&w, &v02, &v13);
        s10 = smlad4(v02, v13, a02, a13, s10);
        s11 = smlad4(v02, v13, b02, b13, s11);
    }
#elif defined(AOT_GEMM_MVE)
    (void)col; (void)wq;
    for (int32_t k = 0; k < K; k += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(K - k));
        const int8x16_t xa = vldrbq_z_s8(a + k, p), xb = vldrbq_z_s8(b + k, p);
        const int8x16_t u = vldrbq_z_s8(w0 + k, p), v = vldrbq_z_s8(w1 + k, p);
        s00 = vmladavaq_p_s8(s00, u, xa, p);
        s01 = vmladavaq_p_s8(s01, u, xb, p);
        s10 = vmladavaq_p_s8(s10, v, xa, p);
        s11 = vmladavaq_p_s8(s11, v, xb, p);
    }
#else
    /* portable: reads the packed layout exactly as the SMLAD loop pairs it */
    (void)col; (void)w0; (void)w1;
    static const int8_t order[4] = {0, 2, 1, 3};
    for (int32_t k0 = 0; k0 < K; k0 += 4, wq += 8) {
        for (int i = 0; i < 4; ++i) {
            const int32_t k = k0 + order[i];
            if (k >= K) continue;
            const int32_t xa = a[k], xb = b[k], u = wq[i], v = wq[4 + i];
            s00 += u * xa;
            s01 += u * xb;
            s10 += v * xa;
            s11 += v * xb;
        }
    }
#endif
    s[0] = s00; s[1] = s01; s[2] = s10; s[3] = s11;
}

/* aot_mbqm (the reference's MultiplyByQuantizedMultiplier) with the per-channel constants hoisted
 * out of the pixel pair. Same arithmetic: x << left, SRDHM (its single overflow case needs
 * m == INT32_MIN, impossible for a quantized multiplier, which lies in [0, 2^31)), then the
 * round-half-away-from-zero right shift: (v >> e) + ((v & mask) > (mask >> 1) + (v < 0)). */
typedef struct { int32_t m, left, right, mask, half; } rq_t;

static inline rq_t rq_setup(int32_t m, int32_t shift) {
    rq_t r;
    r.m = m;
    r.left = shift > 0 ? shift : 0;
    r.right = shift > 0 ? 0 : -shift;
    r.mask = (int32_t)((((int64_t)1) << r.right) - 1);
    r.half = r.mask >> 1;
    return r;
}

static inline int8_t rq_apply(const rq_t *r, const aot_gemm_t *g, int32_t x) {
    x = aot_shl(x, r->left);
    const int32_t v = (int32_t)(((int64_t)x * r->m + ((int64_t)1 << 30)) >> 31);
    int32_t q = (v >> r->right) + ((v & r->mask) > r->half + (int32_t)((uint32_t)v >> 31));
    q += g->out_offset;
    q = q < g->act_min ? g->act_min : q;
    q = q > g->act_max ? g->act_max : q;
    return (int8_t)q;
}

#if defined(AOT_GEMM_DSP)
/* The common case on SMLAD cores: pixel pairs against every full channel pair, in assembly
 * (gemm_dsp.c), reading the weight stream. x: see aot_gemm2_job_t. Returns the channels written. */
static int32_t gemm2_dsp_rq(const aot_gemm_t *g, uint32_t *col, const int8_t *x, int32_t pixel_pairs, int8_t *oa,
                            int32_t ob_off) {
    const int32_t pairs = g->out_c >> 1;
    if (pairs == 0) return 0;
    aot_gemm2_job_t job = {col, g->wp, (g->K + 3) >> 2, pairs, x, pixel_pairs, oa, ob_off, g->act_min, g->act_max,
                           aot_act_kind(g->act_min, g->act_max) != AOT_ACT_NONE, {0}};
    aot_gemm2x2_dsp(&job);
    return pairs * 2;
}

int aot_gemm_pointwise_dsp(const aot_gemm_t *g, const int8_t *x, int32_t pixel_pairs, int8_t *out, uint32_t *scratch) {
    if (!g->stream || (g->out_c & 1) || (g->K & 3) || pixel_pairs < 1) return 0;
    gemm2_dsp_rq(g, scratch, x, pixel_pairs, out, g->out_c);
    return 1;
}
#endif

static void gemm_run2(const aot_gemm_t *g, const int8_t *a, const int8_t *b, int8_t *oa, int8_t *ob,
                      const uint32_t *scratch);

void aot_gemm_run2(const aot_gemm_t *g, const int8_t *a, const int8_t *b, int8_t *oa, int8_t *ob,
                   uint32_t *scratch) {
#if defined(AOT_GEMM_DSP)
    if (!b && g->stream && g->out_c >= 2) {
        /* one pixel (FULLY_CONNECTED with one row, an odd last pixel): the assembly on the pixel
         * twice, the twin's outputs written first and overwritten (ob = oa). Half its MACs are
         * thrown away and it still beats the C loop: MLPerf AD (one-row layers 640 deep) on M4
         * 392.6k -> 364.4k instructions */
        widen2(a, a, g->K, scratch);
        gemm_run2(g, a, a, oa, oa, scratch);
        return;
    }
    if (b) widen2(a, b, g->K, scratch);
    else widen1(a, g->K, scratch);
#endif
    gemm_run2(g, a, b, oa, ob, scratch);
}

#if defined(AOT_GEMM_DSP)
void aot_gemm_run2_widened(const aot_gemm_t *g, const uint32_t *col, int8_t *oa, int8_t *ob) {
    gemm_run2(g, NULL, NULL, oa, ob, col);   /* the DSP paths read only the widened pair */
}
#endif

static void gemm_run2(const aot_gemm_t *g, const int8_t *a, const int8_t *b, int8_t *oa, int8_t *ob,
                      const uint32_t *scratch) {
    const int two = ob != NULL;
    if (!two) b = a;
    const int32_t K = g->K, K4 = (K + 3) & ~3;
    (void)K4;
    int32_t oc = 0;
#if defined(AOT_GEMM_DSP)
    if (two && g->stream && (oc = gemm2_dsp_rq(g, (uint32_t *)scratch, NULL, 1, oa, (int32_t)(ob - oa))) == g->out_c)
        return;
#endif
    /* the stream (aot_gemm_t.wp): sums doubled, requantization records after each pair's weights */
    const int stream = AOT_PACKED_W && g->stream;   /* a constant 0 for Helium */
    const int32_t pair_halves = 2 * K4 + (stream ? AOT_GEMM_HEAD + AOT_GEMM_TAIL : 0);
    rq_t r0 = rq_setup(g->mult[0], g->shift[0]), r1 = r0;
    const int32_t lo = g->act_min, hi = g->act_max;
    for (; oc < g->out_c; oc += 2) {
        const int pair = oc + 1 < g->out_c;
        const int32_t oc1 = pair ? oc + 1 : oc;
        int32_t c0 = (g->bias ? g->bias[oc] : 0) + g->in_offset * g->fsum[oc];
        int32_t c1 = (g->bias ? g->bias[oc1] : 0) + g->in_offset * g->fsum[oc1];
#if AOT_PACKED_W
        const int8_t *w0 = NULL, *w1 = NULL;
        const int16_t *wq = g->wp + (size_t)(oc >> 1) * pair_halves;
        if (stream) {
            int32_t head[4];                  /* [a1 a0 a0 a1], doubled */
            memcpy(head, wq, sizeof head);
            c0 = head[1], c1 = head[0];
            wq += AOT_GEMM_HEAD;
        }
#else
        (void)pair_halves;
        const int8_t *w0 = g->w + (size_t)oc * K, *w1 = g->w + (size_t)oc1 * K;
        const int16_t *wq = NULL;
#endif
        int32_t s[4] = {c0, c0, c1, c1};
#if defined(AOT_GEMM_DSP)
        if (!two) dot1x2(scratch, wq, K, s);
        else
#endif
        dot2x2(a, b, scratch, w0, w1, wq, K, s);
        if (stream || g->rq) {
            const aot_rq_t *q0, *q1;
            if (stream) {
                q0 = (const aot_rq_t *)(wq + 2 * K4), q1 = q0 + 1;
            } else {
                q0 = g->rq + (g->per_channel ? oc : 0), q1 = g->rq + (g->per_channel ? oc1 : 0);
                s[0] += s[0], s[1] += s[1], s[2] += s[2], s[3] += s[3];   /* aot_rq2 takes 2x */
            }
            oa[oc] = aot_rq_clamp(aot_rq2(q0, s[0]), lo, hi);
            if (two) ob[oc] = aot_rq_clamp(aot_rq2(q0, s[1]), lo, hi);
            if (pair) {
                oa[oc1] = aot_rq_clamp(aot_rq2(q1, s[2]), lo, hi);
                if (two) ob[oc1] = aot_rq_clamp(aot_rq2(q1, s[3]), lo, hi);
            }
            continue;
        }
        if (g->per_channel) {
            r0 = rq_setup(g->mult[oc], g->shift[oc]);
            r1 = rq_setup(g->mult[oc1], g->shift[oc1]);
        }
        oa[oc] = rq_apply(&r0, g, s[0]);
        if (two) ob[oc] = rq_apply(&r0, g, s[1]);
        if (pair) {
            oa[oc1] = rq_apply(&r1, g, s[2]);
            if (two) ob[oc1] = rq_apply(&r1, g, s[3]);
        }
    }
}
