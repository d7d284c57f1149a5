/* Per-axis table gather (gather.h). Speed: when the innermost axis is contiguous in the input
 * (a transpose that keeps channels last, a slice, a resize, a mirror pad: the compiler merges every
 * axis it can into that run) each output row is one memcpy, so the table walk costs one add per
 * row, not per byte; only a channel-moving transpose or reverse copies element by element. */
#include <string.h>
#include "gather.h"

static void copy_elems(const uint8_t *src, const int32_t *t, int32_t n, int32_t elem, uint8_t *o) {
    switch (elem) {
    case 1:
        for (int32_t i = 0; i < n; ++i) o[i] = src[t[i]];
        break;
    case 2:
        for (int32_t i = 0; i < n; ++i) memcpy(o + 2 * i, src + t[i], 2);
        break;
    default:
        for (int32_t i = 0; i < n; ++i) memcpy(o + 4 * i, src + t[i], 4);
        break;
    }
}

void aot_gather_axes(const aot_gather_t *p, const void *in, void *out) {
    const int32_t *t[AOT_GATHER_RANK];
    t[0] = p->tab;
    for (int k = 1; k < AOT_GATHER_RANK; ++k) t[k] = t[k - 1] + p->shape[k - 1];
    const uint8_t *x = (const uint8_t *)in;
    uint8_t *o = (uint8_t *)out;
    const int32_t n = p->shape[5];
    const size_t row = (size_t)n * (size_t)p->elem;
    for (int32_t a = 0; a < p->shape[0]; ++a)
        for (int32_t b = 0; b < p->shape[1]; ++b)
            for (int32_t c = 0; c < p->shape[2]; ++c)
                for (int32_t d = 0; d < p->shape[3]; ++d)
                    for (int32_t e = 0; e < p->shape[4]; ++e) {
                        const uint8_t *src = x + t[0][a] + t[1][b] + t[2][c] + t[3][d] + t[4][e];
                        if (p->run)
                            memcpy(o, src + t[5][0], row);
                        else
                            copy_elems(src, t[5], n, p->elem, o);
                        o += row;
                    }
}
