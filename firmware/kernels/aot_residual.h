/* A residual block run row by row (residual.c): ADD(convB(convA(x)), skip(x)) with skip the identity
 * or a convolution of x, fused at build time (pipeline/aot/compile/fuse.py) so that convA's and convB's
 * outputs never exist as whole tensors. */
#ifndef AOT_RESIDUAL_H
#define AOT_RESIDUAL_H
#include <stdint.h>
#include "aot_kernels.h"

typedef struct {
    const aot_conv_t *a, *b;    /* main path: y = a(x), z = b(y); b has dil_h 1 */
    const aot_conv_t *skip;     /* s = skip(x), or NULL: the skip is x itself (same shape as z) */
    const aot_binary_t *add;    /* ADD shaped as one output row, [1][1][1][out_w * out_c] */
    int32_t skip_first;         /* 1: the ADD's first operand is the skip, 0: it is z */
} aot_resblock_t;

/* Scratch bytes (planned in the arena by pipeline/aot/compile/plan.py): b->k_h rows of y, then one row of z,
 * then (with a skip convolution) one row of s. `out` may be `x` itself where the compiler proved that
 * every output row lands only on bytes of x that no later row reads (fuse.py _inplace_safe). */
void aot_resblock_s8(const aot_resblock_t *p, const int8_t *x, int8_t *out, int8_t *scratch);
#endif
