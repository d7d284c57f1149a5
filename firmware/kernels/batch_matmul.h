/* BATCH_MATMUL, int8: out[b][i][j] = requant(sum_k (lhs(b,i,k) - lhs_zp) * (rhs(b,k,j) - rhs_zp)). */
#ifndef AOT_BATCH_MATMUL_H
#define AOT_BATCH_MATMUL_H
#include <stdint.h>

typedef struct {
    int32_t batch[3];              /* the output's three (rank-5-extended) batch dims */
    int32_t lhs_b[3], rhs_b[3];    /* element stride of each batch dim, 0 where that operand broadcasts */
    int32_t rows, cols, depth;
    int32_t lhs_si, lhs_sk;        /* element (i, k) of an lhs matrix at i * lhs_si + k * lhs_sk (adj_x swaps them) */
    int32_t rhs_sk, rhs_sj;        /* element (k, j) of an rhs matrix at k * rhs_sk + j * rhs_sj (adj_y) */
    int32_t lhs_offset, rhs_offset, out_offset, mult, shift;
    const int8_t *rhs;             /* constant right-hand side (aot_bmm_const_s8), else NULL */
} aot_bmm_t;

void aot_bmm_s8(const aot_bmm_t *p, const int8_t *lhs, const int8_t *rhs, int8_t *out);
void aot_bmm_const_s8(const aot_bmm_t *p, const int8_t *lhs, int8_t *out);
#endif
