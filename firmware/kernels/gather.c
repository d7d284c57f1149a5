/* Per-axis gather (gather.h). Speed: when the innermost axis is contiguous in the input (a
 * transpose that keeps channels last, a slice, a resize, a mirror pad: the compiler merges every
 * axis it can into that run) each output row is one memcpy and the offsets cost one add per row,
 * not per byte; only a channel-moving transpose or reverse copies element by element. Flash: only
 * the non-arithmetic axes have tables (a 1x4096x8 transpose needs none, a 2x resize 4 bytes per
 * output row and column). */
#include <string.h>
#include "gather.h"

typedef struct { const int32_t *t; int32_t step; } axis_t;

static inline int32_t off(axis_t a, int32_t i) { return a.t ? a.t[i] : i * a.step; }

static void copy_elems(const uint8_t *src, axis_t a, int32_t n, int32_t elem, uint8_t *o) {
    switch (elem) {
    case 1:
        for (int32_t i = 0; i < n; ++i) o[i] = src[off(a, i)];
        break;
    case 2:
        for (int32_t i = 0; i < n; ++i) memcpy(o + 2 * i, src + off(a, i), 2);
        break;
    default:
        for (int32_t i = 0; i < n; ++i) memcpy(o + 4 * i, src + off(a, i), 4);
        break;
    }
}

void aot_gather_axes(const aot_gather_t *p, const void *in, void *out) {
    axis_t ax[AOT_GATHER_RANK];
    const int32_t *t = p->tab;
    for (int k = 0; k < AOT_GATHER_RANK; ++k) {
        ax[k].step = p->step[k];
        ax[k].t = (p->tabled >> k & 1) ? t : NULL;
        if (ax[k].t) t += p->shape[k];
    }
    const uint8_t *x = (const uint8_t *)in + p->base;
    uint8_t *o = (uint8_t *)out;
    const int32_t n = p->shape[5];
    const size_t row = (size_t)n * (size_t)p->elem;
    for (int32_t a = 0; a < p->shape[0]; ++a)
        for (int32_t b = 0; b < p->shape[1]; ++b)
            for (int32_t c = 0; c < p->shape[2]; ++c)
                for (int32_t d = 0; d < p->shape[3]; ++d)
                    for (int32_t e = 0; e < p->shape[4]; ++e) {
                        const uint8_t *src = x + off(ax[0], a) + off(ax[1], b) + off(ax[2], c) +
                                             off(ax[3], d) + off(ax[4], e);
                        if (p->run)
                            memcpy(o, src + off(ax[5], 0), row);
                        else
                            copy_elems(src, ax[5], n, p->elem, o);
                        o += row;
                    }
}
