/* Portable C99 int8 kernels, bit-exact with TFLite Micro's reference kernels.
 * Shapes are NHWC; every parameter is precomputed at build time by the AOT compiler. */
#ifndef AOT_KERNELS_H
#define AOT_KERNELS_H
#include <stdint.h>
#include <stddef.h>

/* Whether CONV_2D / FULLY_CONNECTED use the build-time packed int16 weights (`wpack`, see
 * aot_gemm.h) instead of the plain int8 ones: on SMLAD cores (M4/M7) and in the portable host build;
 * Helium multiplies int8 directly and keeps the plain layout. The generated model emits one of the
 * two per operator by this switch. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define AOT_PACKED_W 0
#else
#define AOT_PACKED_W 1
#endif

/* Depthwise weights packed for the SMLAD path (int16, four channels per LDRD, see dwconv_dsp.c) on every
 * core with the DSP extension (M4, M7 and M55); elsewhere the plain int8 filter. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define AOT_DW_PACKED 1
#else
#define AOT_DW_PACKED 0
#endif

/* One-multiply requantization record per output channel, built by pipeline/aot/compile/quant.py
 * (fast_requant): q = ((2x * m + 2^31 + h * 2^32) >> 32) - [x < 0]) >> r, out_offset folded into h.
 * Exact for |x| < 2^30, which the compiler checks per layer. NULL where a channel needs the
 * reference's general path (left shifts, multipliers >= 0.5) or the accumulator could be larger. */
typedef struct {
    int32_t m, h, r;
} aot_rq_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
/* x2 = 2x (kernels whose weights are stored doubled pass their accumulator as is). SMMLAR is the
 * whole 64-bit step (product, 2^31 rounding constant, h in the high word); the sign term is an ADD
 * with an ASR #31 operand: 4 instructions after the loads, 3 of them one-cycle. */
static inline int32_t aot_rq2(const aot_rq_t *q, int32_t x2) {
    int32_t t;
    __asm("smmlar %0, %1, %2, %3" : "=r"(t) : "r"(x2), "r"(q->m), "r"(q->h));
    return (t + (x2 >> 31)) >> q->r;
}
static inline int32_t aot_rq(const aot_rq_t *q, int32_t x) { return aot_rq2(q, x + x); }
#else
static inline int32_t aot_rq2(const aot_rq_t *q, int32_t x2) {
    const int64_t v = (int64_t)x2 * q->m + ((int64_t)1 << 31) + ((int64_t)q->h << 32);
    return ((int32_t)(v >> 32) - (x2 < 0)) >> q->r;
}
static inline int32_t aot_rq(const aot_rq_t *q, int32_t x) { return aot_rq2(q, x + x); }
#endif

/* int8 saturation then the fused activation's bounds: SSAT alone where there is no activation. */
static inline int8_t aot_rq_clamp(int32_t v, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    v = __ssat(v, 8);
#else
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
    if (lo > -128) v = v < lo ? lo : v;
    if (hi < 127) v = v > hi ? hi : v;
    return (int8_t)v;
}

/* The fused activation's clamp, by kind, for loops specialised once per layer (always_inline with a
 * constant kind): 0 = none (SSAT alone), 1 = ReLU-like, upper bound 127 (SSAT, then the lower bound),
 * 2 = both bounds (ReLU6 and friends). */
enum { AOT_ACT_NONE = 0, AOT_ACT_LOWER = 1, AOT_ACT_BOTH = 2 };
static inline int aot_act_kind(int32_t lo, int32_t hi) {
    return lo == -128 && hi == 127 ? AOT_ACT_NONE : hi == 127 ? AOT_ACT_LOWER : AOT_ACT_BOTH;
}
static inline __attribute__((always_inline)) int8_t aot_clamp_kind(int32_t v, int kind, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    v = __ssat(v, 8);
#else
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
#endif
    if (kind != AOT_ACT_NONE) v = v < lo ? lo : v;
    if (kind == AOT_ACT_BOTH) v = v > hi ? hi : v;
    return (int8_t)v;
}

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_h, pad_w, depth_mult;
    int32_t in_offset, out_offset, act_min, act_max;
    int32_t dw_plane;       /* depthwise 3x3 stride 1 on SMLAD cores: wpack holds dw_plane.c's
                             * per-channel records (pipeline/aot/compile/compiler.py pack_dw_plane) */
    int32_t wstream;        /* conv: wpack is the GEMM stream with the requantization records
                             * (compiler.py pack_gemm_stream); rq is then NULL where wpack is used */
    const int8_t *filter;   /* conv: [out_c][k_h][k_w][in_c]; depthwise: [k_h][k_w][out_c] */
    const int32_t *bias;    /* [out_c] or NULL */
    const int32_t *mult;    /* [out_c] */
    const int32_t *shift;   /* [out_c] */
    const int32_t *fsum;    /* conv: sum of each output channel's filter taps, or NULL */
    const int16_t *wpack;   /* conv: packed weights (AOT_PACKED_W builds, GEMM path); depthwise:
                             * packed per channel group (AOT_DW_PACKED builds); or NULL */
    const aot_rq_t *rq;     /* [out_c] or NULL (also where the packed records replace it) */
    const int32_t *acc0;    /* NHWC depthwise: bias + in_offset * sum of the channel's weights, or
                             * NULL (the GEMM's are in its weight stream, the plane's in its records) */
} aot_conv_t;

typedef struct {
    int32_t batches, depth, out_c, per_channel;
    int32_t wstream;        /* as in aot_conv_t */
    int32_t in_offset, filter_offset, out_offset, act_min, act_max;
    const int8_t *filter;   /* [out_c][depth] */
    const int32_t *bias;    /* [out_c] or NULL */
    const int32_t *mult, *shift; /* [out_c] if per_channel else [1] */
    const int32_t *fsum;    /* sum of each output's weights, or NULL */
    const int16_t *wpack;   /* packed weights (AOT_PACKED_W builds, GEMM path), or NULL */
    const aot_rq_t *rq;     /* [out_c] if per_channel else [1], or NULL */
} aot_fc_t;

typedef struct {
    int32_t batches, in_h, in_w, c, out_h, out_w, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t act_min, act_max;
} aot_pool_t;

/* Reduce over a contiguous block of axes: [outer][reduce][inner] -> [outer][inner]. */
typedef struct {
    int32_t outer, reduce, inner, in_zp, out_zp, mult, shift;
} aot_mean_t;

/* Elementwise binary op with 4-D broadcasting (strides are 0 on broadcast dimensions). */
typedef struct {
    int32_t shape[4], s1[4], s2[4];
    int32_t in1_offset, in2_offset, out_offset, left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
    int32_t act_min, act_max;
    const int32_t *ta, *tb; /* ADD without broadcast: each input's rescaled value per int8 code */
    const aot_rq_t *rq;     /* ADD with tables: the output requantization */
} aot_binary_t;

typedef struct { int32_t outer, depth, in_mult, in_left_shift, diff_min; } aot_softmax_t;
typedef struct { int32_t n, in_zp, radius, mult, left_shift; } aot_logistic_t;
typedef struct { int32_t in_shape[4], before[4], after[4], value; } aot_pad_t;
typedef struct { int32_t n, in_zp, out_zp, mult, shift; } aot_requant_t;
typedef struct { int32_t n, zp; float scale; } aot_affine_t;

void aot_conv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out);
void aot_dwconv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out);
/* 3x3 stride-1 depthwise on SMLAD cores, for steps with dw_plane set (dw_plane.c) */
void aot_dw_plane_s8(const aot_conv_t *p, const int8_t *in, int8_t *out);
void aot_fc_s8(const aot_fc_t *p, const int8_t *in, int8_t *out);
void aot_avgpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out);
void aot_maxpool_s8(const aot_pool_t *p, const int8_t *in, int8_t *out);
void aot_mean_s8(const aot_mean_t *p, const int8_t *in, int8_t *out);
void aot_add_s8(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out);
void aot_mul_s8(const aot_binary_t *p, const int8_t *a, const int8_t *b, int8_t *out);
void aot_softmax_s8(const aot_softmax_t *p, const int8_t *in, int8_t *out);
void aot_logistic_s8(const aot_logistic_t *p, const int8_t *in, int8_t *out);
void aot_pad_s8(const aot_pad_t *p, const int8_t *in, int8_t *out);
/* Concatenation of n inputs along one axis: each input is [outer][inner_i]. */
void aot_concat(int32_t outer, int32_t n, const int32_t *inner, const int8_t *const *ins, int8_t *out);
void aot_copy(const void *in, void *out, size_t bytes);
void aot_requantize_s8(const aot_requant_t *p, const int8_t *in, int8_t *out);
void aot_quantize_f32_s8(const aot_affine_t *p, const float *in, int8_t *out);
void aot_dequantize_s8_f32(const aot_affine_t *p, const int8_t *in, float *out);
#endif
