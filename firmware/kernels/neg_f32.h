/* Float32 NEG (pipeline/aot/ops/unary.py): the int8 converter leaves LayerNormalization's negation
 * in float (DEQUANTIZE -> NEG -> QUANTIZE); TFLite Micro's kernel is float only. */
#ifndef AOT_NEG_F32_H
#define AOT_NEG_F32_H
#include <stdint.h>

typedef struct { int32_t n; } aot_neg_f32_t;

/* out[i] = -in[i]: a sign-bit flip, exact in IEEE 754 like TFLM's `-x`. */
void aot_neg_f32(const aot_neg_f32_t *p, const float *in, float *out);
#endif
