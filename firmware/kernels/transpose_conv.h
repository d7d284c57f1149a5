/* TRANSPOSE_CONV, int8 activations and per-channel int8 weights [out_c][k_h][k_w][in_c]. */
#ifndef AOT_TRANSPOSE_CONV_H
#define AOT_TRANSPOSE_CONV_H
#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t in_offset, out_offset, act_min, act_max;
    const int8_t *w;
    const int32_t *bias;      /* NULL: no bias input */
    const int32_t *mult, *shift;
} aot_tconv_t;

void aot_tconv_s8(const aot_tconv_t *p, const int8_t *in, int8_t *out);
#endif
