/* SPLIT, SPLIT_V, UNPACK (pipeline/aot/ops/movement.py): one input, n outputs. */
#ifndef AOT_SPLIT_H
#define AOT_SPLIT_H
#include <stdint.h>

/* The input is [outer][total] bytes; output k is [outer][inner[k]], the k-th run of each row
 * (sum(inner) == total): the inverse of CONCATENATION. */
typedef struct {
    int32_t outer, n, total;
    const int32_t *inner;
} aot_split_t;

void aot_split(const aot_split_t *p, const void *in, void *const *outs);
#endif
