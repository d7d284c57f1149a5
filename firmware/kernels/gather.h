/* Data movement by per-axis offsets (pipeline/aot/ops/movement.py): TRANSPOSE, SLICE,
 * STRIDED_SLICE, REVERSE_V2, GATHER / GATHER_ND (constant indices), RESIZE_NEAREST_NEIGHBOR,
 * MIRROR_PAD, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND (unpadded),
 * BROADCAST_TO. Exact by construction: it only moves bytes. */
#ifndef AOT_GATHER_H
#define AOT_GATHER_H
#include <stdint.h>

#define AOT_GATHER_RANK 6

/* out[i0]..[i5] = in[base + off0(i0) + ... + off5(i5)] (bytes), the output written densely, where
 * off_k(i) = i * step[k] on an arithmetic axis (a slice, a transpose, a broadcast: step 0) and
 * tab_k[i] on the others (a resize, a mirror pad, a gather), whose tables are concatenated in
 * `tab`, axis 0 first, for the axes whose bit is set in `tabled`. The compiler merges axes that
 * together are one arithmetic run, drops unit axes and pads to 6 with leading unit axes. */
typedef struct {
    int32_t shape[AOT_GATHER_RANK];   /* output dims, outermost first */
    int32_t step[AOT_GATHER_RANK];    /* bytes per index on an arithmetic axis */
    int32_t base;                     /* bytes */
    int32_t elem;                     /* bytes per element: 1, 2 or 4 */
    int32_t run;                      /* 1: the innermost axis is contiguous in the input */
    int32_t tabled;                   /* bit k: axis k reads tab */
    const int32_t *tab;
} aot_gather_t;

void aot_gather_axes(const aot_gather_t *p, const void *in, void *out);
#endif
