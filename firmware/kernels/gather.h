/* Data movement by per-axis index tables (pipeline/aot/ops/movement.py): TRANSPOSE, SLICE,
 * STRIDED_SLICE, REVERSE_V2, GATHER / GATHER_ND (constant indices), RESIZE_NEAREST_NEIGHBOR,
 * MIRROR_PAD, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND (unpadded),
 * BROADCAST_TO. Exact by construction: it only moves bytes. */
#ifndef AOT_GATHER_H
#define AOT_GATHER_H
#include <stdint.h>

#define AOT_GATHER_RANK 6

/* out[i0]..[i5] = in[tab0[i0] + tab1[i1] + ... + tab5[i5]] (byte offsets), the output written densely.
 * The compiler collapses axes that are one arithmetic run (a dense copy is one axis), drops unit
 * axes and pads to 6 with leading unit axes, so tab holds sum(shape) offsets, axis 0 first. */
typedef struct {
    int32_t shape[AOT_GATHER_RANK];   /* output dims, outermost first */
    int32_t elem;                     /* bytes per element: 1, 2 or 4 */
    int32_t run;                      /* 1: the innermost axis is contiguous in the input */
    const int32_t *tab;
} aot_gather_t;

void aot_gather_axes(const aot_gather_t *p, const void *in, void *out);
#endif
