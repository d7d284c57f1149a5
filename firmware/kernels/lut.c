/* One 256-byte table per operator, in flash: the table IS TFLite Micro's own int8 kernel output
 * for each of the 256 input codes (pipeline/aot/ops/lut_table.py runs the operator, cut out of the
 * user's model with its options and quantization, in the tflite_micro interpreter at build time),
 * so the result is exact by construction whatever arithmetic TFLM's kernel uses (fixed-point tanh,
 * HARD_SWISH's reluish multiplier, RELU's rescale, ...). Cost: 1 load + 1 store per element. */
#include "lut.h"

void aot_lut_s8(const aot_lut_t *p, const int8_t *in, int8_t *out) {
    const int8_t *t = p->table + 128;
    for (int32_t i = 0; i < p->n; ++i) out[i] = t[in[i]];
}

/* CAST: the same table, 4-byte entries (1 KB of flash): TFLM's output for each code, float32 as its
 * bit pattern, so this file needs no float arithmetic. */
void aot_lut_s8_wide(const aot_lut_wide_t *p, const int8_t *in, void *out) {
    const int32_t *t = p->table + 128;
    if (p->out_bytes == 2) {
        int16_t *o = (int16_t *)out;
        for (int32_t i = 0; i < p->n; ++i) o[i] = (int16_t)t[in[i]];
    } else {
        int32_t *o = (int32_t *)out;
        for (int32_t i = 0; i < p->n; ++i) o[i] = t[in[i]];
    }
}
