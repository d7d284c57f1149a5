/* LOG_SOFTMAX, int8 (output scale 16/256, zero point 127), TFLite Micro's fixed-point path. */
#ifndef AOT_LOG_SOFTMAX_H
#define AOT_LOG_SOFTMAX_H
#include <stdint.h>

typedef struct {
    int32_t outer, depth;
    int32_t in_mult, in_left_shift;   /* input diff -> Q5.26 */
    int32_t rev_mult, rev_shift;      /* Q5.26 -> input diff units (the inverse scaling) */
    int32_t diff_min;
} aot_log_softmax_t;

void aot_log_softmax_s8(const aot_log_softmax_t *p, const int8_t *in, int8_t *out);
#endif
