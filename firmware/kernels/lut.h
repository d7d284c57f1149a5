/* aot_lut_s8: int8 -> int8 elementwise ops whose output depends only on the input code (RELU,
 * RELU6, LEAKY_RELU, HARD_SWISH, TANH, ELU, RSQRT, ABS) and CAST to int16 / int32 / float32. */
#ifndef AOT_LUT_H
#define AOT_LUT_H
#include <stdint.h>

typedef struct {
    int32_t n;              /* elements */
    const int8_t *table;    /* 256 entries: table[x + 128] is the op's output for input code x */
} aot_lut_t;

/* out[i] = table[in[i] + 128]; out may be in (element i is read before it is written). */
void aot_lut_s8(const aot_lut_t *p, const int8_t *in, int8_t *out);

/* CAST from int8 to a wider type (TFLM casts the raw code, no dequantization). */
typedef struct {
    int32_t n;              /* elements */
    int32_t out_bytes;      /* 2 (int16) or 4 (int32, float32) */
    const int32_t *table;   /* 256 entries, table[x + 128]: the int16 / int32 value or the float32 bits */
} aot_lut_wide_t;

/* out[i] = table[in[i] + 128], written as out_bytes-wide elements (out must not overlap in). */
void aot_lut_s8_wide(const aot_lut_wide_t *p, const int8_t *in, void *out);
#endif
