/* BATCH_MATMUL as TFLite Micro's reference computes it: one int32 dot product per output with both
 * zero points subtracted, one MultiplyByQuantizedMultiplier, the int8 range (no fused activation).
 * TFLM transposes the operands into its own layout first; here the strides read them in place
 * (adj_x / adj_y only swap two strides), which sums the same products. */
#include "batch_matmul.h"

#include "aot_fixedpoint.h"

void aot_bmm_s8(const aot_bmm_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *out) {
    for (int32_t b0 = 0; b0 < p->batch[0]; ++b0)
        for (int32_t b1 = 0; b1 < p->batch[1]; ++b1)
            for (int32_t b2 = 0; b2 < p->batch[2]; ++b2) {
                const int8_t *l = lhs + b0 * p->lhs_b[0] + b1 * p->lhs_b[1] + b2 * p->lhs_b[2];
                const int8_t *r = rhs + b0 * p->rhs_b[0] + b1 * p->rhs_b[1] + b2 * p->rhs_b[2];
                for (int32_t i = 0; i < p->rows; ++i)
                    for (int32_t j = 0; j < p->cols; ++j) {
                        int32_t acc = 0;
                        for (int32_t k = 0; k < p->depth; ++k)
                            acc += (l[i * p->lhs_si + k * p->lhs_sk] + p->lhs_offset) *
                                   (r[k * p->rhs_sk + j * p->rhs_sj] + p->rhs_offset);
                        *out++ = (int8_t)aot_clamp(aot_mbqm(acc, p->mult, p->shift) + p->out_offset, -128, 127);
                    }
            }
}

void aot_bmm_const_s8(const aot_bmm_t *p, const int8_t *lhs, int8_t *out) { aot_bmm_s8(p, lhs, p->rhs, out); }
