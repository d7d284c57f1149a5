#include "neg_f32.h"

void aot_neg_f32(const aot_neg_f32_t *p, const float *in, float *out) {
    for (int32_t i = 0; i < p->n; ++i) out[i] = -in[i];
}
