/* The shared int8 GEMM core of CONV_2D (any kernel size, via an im2col patch) and FULLY_CONNECTED:
 * two "pixels" (patches of K values) against all output channels, two channels at a time, so every
 * activation and weight load feeds two multiply-accumulates.
 *   acc[px][oc] = bias[oc] + in_offset * fsum[oc] + sum_k x[px][k] * w[oc][k]
 * which equals the reference sum_k (x + in_offset) * w exactly (integer arithmetic), padded taps
 * holding the input zero point (-in_offset) so they contribute nothing.
 * Weights are packed at build time (pipeline/aot/compile/compiler.py, pack_gemm_weights, or with the
 * one-multiply requantization the stream of pack_gemm_stream) for the SMLAD cores and the host, so
 * the DSP inner loop (gemm_dsp.c) is two LDMs and eight SMLADs for 16 MACs.
 * The pair of patches is prepared once and then reused for every output channel:
 *   Cortex-M4/M7 (DSP): widened to int16 pairs in SXTB16 order and interleaved,
 *                       [a0 a2 | a1 a3 | b0 b2 | b1 b3] per group of 4, so the activation side of the
 *                       inner loop is one LDM and no SXTB16 runs there;
 *   Cortex-M55 (MVE) and the host: plain int8 (VMLADAVA.S8 on 16 lanes / scalar C). */
#ifndef AOT_GEMM_H
#define AOT_GEMM_H
#include <stdint.h>
#include "aot_kernels.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define AOT_GEMM_MVE 1
#elif defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define AOT_GEMM_DSP 1
#else
#endif

/* Largest patch the fast path takes (two patches live on the stack); bigger ones use the
 * per-channel reference loop. */
#define AOT_GEMM_MAX_K 640

typedef struct {
    int32_t K, out_c, in_offset, out_offset, act_min, act_max, per_channel;
    const int8_t *w;        /* [out_c][K] (Helium) */
    const int16_t *wp;      /* packed (AOT_PACKED_W): per channel pair, per group of 4 taps k0..k3,
                             * [c0: k0 k2 k1 k3][c1: k0 k2 k1 k3] int16, K padded to 4 with zeros.
                             * With `stream`, that of pipeline/aot/compile/compiler.py pack_gemm_stream:
                             * per pair AOT_GEMM_HEAD halfwords (four doubled accumulator starts),
                             * the weights doubled, AOT_GEMM_TAIL halfwords (the pair's aot_rq_t) */
    const int32_t *bias, *fsum, *mult, *shift;
    const aot_rq_t *rq;     /* one-multiply requantization [out_c] (one record per channel), or NULL */
    int32_t stream;         /* wp is the stream (its records replace rq) */
} aot_gemm_t;

/* The stream's per-pair records, halfwords (compiler.py GEMM_STREAM_HEAD / GEMM_STREAM_TAIL). */
#define AOT_GEMM_HEAD 8
#define AOT_GEMM_TAIL 12

/* Scratch words the caller provides for aot_gemm_run2 with patches of K values (the widened,
 * interleaved pair on DSP cores; unused elsewhere). Callers size it by K (a VLA), so the stack grows
 * only as much as the layer needs. */
#if defined(AOT_GEMM_DSP)
#define AOT_GEMM_SCRATCH_WORDS(K) ((((K) + 3) & ~3) + 4)
#else
#define AOT_GEMM_SCRATCH_WORDS(K) 1
#endif
#if defined(AOT_GEMM_DSP)
/* Pixel pairs against every channel pair, one-multiply requantization (gemm_dsp.c, assembly).
 * Sixteen words, in the order the assembly reads them. */
typedef struct {
    uint32_t *col;          /* the widened, interleaved pixel pair (groups x 4 words) */
    const int16_t *wp;      /* the weight stream (pack_gemm_stream) */
    int32_t groups;         /* (K + 3) / 4, >= 1 */
    int32_t pairs;          /* channel pairs, >= 1 */
    const int8_t *x;        /* NULL: col holds one widened pair. Else pixel pairs of a pointwise layer
                             * (4 * groups bytes per pixel, one after the other), widened into col */
    int32_t pixel_pairs;    /* >= 1 (1 where x is NULL) */
    int8_t *oa;             /* outputs of the first pixel; the second's are at oa + ob_off */
    int32_t ob_off, act_min, act_max, clamp;   /* clamp: the activation is narrower than int8 */
    int32_t scratch[5];     /* the assembly's */
} aot_gemm2_job_t;
void aot_gemm2x2_dsp(aot_gemm2_job_t *job);
#endif

/* Outputs of patches xa and xb (xb may be NULL: one pixel) for every output channel. */
void aot_gemm_run2(const aot_gemm_t *g, const int8_t *xa, const int8_t *xb, int8_t *oa, int8_t *ob,
                   uint32_t *scratch);
#if defined(AOT_GEMM_DSP)
/* The same for a pixel pair its caller has already widened into `col` (layout above). */
void aot_gemm_run2_widened(const aot_gemm_t *g, const uint32_t *col, int8_t *oa, int8_t *ob);
/* A pointwise layer's pixel pairs (x: 2 * pixel_pairs pixels of K bytes, one after the other; out:
 * theirs of out_c bytes), widened and multiplied in one assembly call. Returns 0 (nothing done)
 * unless the layer has the stream, an even out_c and K a multiple of 4. */
int aot_gemm_pointwise_dsp(const aot_gemm_t *g, const int8_t *x, int32_t pixel_pairs, int8_t *out, uint32_t *scratch);
#endif
#endif
