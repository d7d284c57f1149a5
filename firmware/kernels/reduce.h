/* REDUCE_MAX / REDUCE_MIN and ARG_MAX / ARG_MIN over one contiguous block of axes (int8):
 * firmware/kernels/reduce.c, lowered by pipeline/aot/ops/binary.py. The input is viewed as
 * [outer][reduce][inner]; the output as [outer][inner]. (SUM runs MEAN's kernel, shape.c.) */
#ifndef AOT_REDUCE_H
#define AOT_REDUCE_H
#include <stdint.h>

typedef struct { int32_t outer, reduce, inner, is_min; } aot_reduce_t;

/* out: int8, the largest (smallest) raw code; TFLite Micro requires equal input/output scales */
void aot_reduce_s8(const aot_reduce_t *p, const int8_t *in, int8_t *out);
/* out: int32, the index of the first largest (smallest) value along the reduced axis */
void aot_argminmax_s8(const aot_reduce_t *p, const int8_t *in, int32_t *out);
#endif
