/* An output known at build time (SHAPE of a static-shaped tensor, pipeline/aot/ops/movement.py):
 * the bytes are a flash constant copied into the arena, so later ops read it like any tensor. */
#ifndef AOT_CONSTANT_H
#define AOT_CONSTANT_H
#include <stdint.h>

typedef struct {
    int32_t bytes;
    const void *data;
} aot_constant_t;

/* `in` is the operator's input, unread: the value does not depend on its contents. */
void aot_constant(const aot_constant_t *p, const void *in, void *out);
#endif
