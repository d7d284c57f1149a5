/* SPLIT / SPLIT_V / UNPACK (split.h): one memcpy per output row, outputs in turn. */
#include <string.h>
#include "split.h"

void aot_split(const aot_split_t *p, const void *in, void *const *outs) {
    const uint8_t *x = (const uint8_t *)in;
    for (int32_t o = 0; o < p->outer; ++o)
        for (int32_t k = 0; k < p->n; ++k) {
            memcpy((uint8_t *)outs[k] + (size_t)o * (size_t)p->inner[k], x, (size_t)p->inner[k]);
            x += p->inner[k];
        }
}
