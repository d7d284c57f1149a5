/* aot_lut_s8: int8 -> int8 elementwise ops whose output depends only on the input code (RELU,
 * RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH, TANH, ELU, EXP, RSQRT, ABS, NEG). */
#ifndef AOT_LUT_H
#define AOT_LUT_H
#include <stdint.h>

typedef struct {
    int32_t n;              /* elements */
    const int8_t *table;    /* 256 entries: table[x + 128] is the op's output for input code x */
} aot_lut_t;

/* out[i] = table[in[i] + 128]; out may be in (element i is read before it is written). */
void aot_lut_s8(const aot_lut_t *p, const int8_t *in, int8_t *out);
#endif
