/* L2_NORMALIZATION over the last axis, int8 (output scale 1/128, zero point 0), TFLite Micro's path. */
#ifndef AOT_L2_NORM_H
#define AOT_L2_NORM_H
#include <stdint.h>

typedef struct {
    int32_t outer, depth, in_zp;
} aot_l2norm_t;

void aot_l2norm_s8(const aot_l2norm_t *p, const int8_t *in, int8_t *out);
#endif
