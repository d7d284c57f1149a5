/* Residual blocks row by row (see aot_residual.h): the main path's intermediate tensors live only as
 * a window of b->k_h rows of y and one row of z, so the block needs x, its output (written over x
 * where the compiler allows it) and that scratch. On the MLPerf Tiny ResNet-8 (IC) that replaces
 * three live 16 KB activations in block 1 with x plus 2 KB of rows. Every number is computed by the
 * unchanged convolution and ADD kernels, so the results are the same bits as the unfused layers. */
#include <string.h>
#include "aot_residual.h"

/* One output row of convolution c: the same layer with out_h 1, over `in_h` input rows starting at
 * `in`, its window starting at input row -pad_h (so a negative pad_h starts it inside `in`). The
 * kernels compute positions from in_h, pad_h and out_h only, and skip taps outside the rows given. */
static void conv_row(const aot_conv_t *c, const int8_t *in, int32_t in_h, int32_t pad_h, int8_t *out) {
    aot_conv_t q = *c;
    q.in_h = in_h;
    q.pad_h = pad_h;
    q.out_h = 1;
    aot_conv_s8(&q, in, out);
}

void aot_resblock_s8(const aot_resblock_t *p, const int8_t *x, int8_t *out, int8_t *scratch) {
    const aot_conv_t *a = p->a, *b = p->b;
    const size_t yrow = (size_t)a->out_w * a->out_c, orow = (size_t)b->out_w * b->out_c;
    int8_t *const win = scratch, *const zrow = win + (size_t)b->k_h * yrow, *const srow = zrow + orow;
    int32_t base = 0, n = 0;                   /* the window holds y rows base .. base + n - 1 */
    for (int32_t r = 0; r < b->out_h; ++r) {
        const int32_t top = r * b->stride_h - b->pad_h;            /* first y row of z row r */
        const int32_t lo = top < 0 ? 0 : top;
        const int32_t hi = top + b->k_h <= a->out_h ? top + b->k_h - 1 : a->out_h - 1;
        if (lo > base) {                       /* rows above the window's new top are done */
            const int32_t drop = lo - base < n ? lo - base : n;
            memmove(win, win + drop * yrow, (size_t)(n - drop) * yrow);
            n -= drop;
            base = lo;
        }
        /* y rows on demand, read from x before any output row lands on them (output row r - 1 was
         * the last one written; the compiler checked that it covers no x row still read here) */
        for (; base + n <= hi; ++n)
            conv_row(a, x, a->in_h, a->pad_h - (base + n) * a->stride_h, win + (size_t)n * yrow);
        conv_row(b, win, n, base - top, zrow);
        const int8_t *s = x + (size_t)r * orow;               /* identity: x row r, same shape */
        if (p->skip) {
            conv_row(p->skip, x, p->skip->in_h, p->skip->pad_h - r * p->skip->stride_h, srow);
            s = srow;
        }
        /* element i of both operands is read before element i of the row is written, so the
         * identity skip's row may be the output row itself */
        int8_t *o = out + (size_t)r * orow;
        if (p->skip_first) aot_add_s8(p->add, s, zrow, o);
        else aot_add_s8(p->add, zrow, s, o);
    }
}
