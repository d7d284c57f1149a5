/* Max/min reductions and arg-max/arg-min (reduce.h). Each variant's loop is instantiated by a
 * macro with its comparison, so nothing is decided per element. */
#include "reduce.h"

#define GREATER(a, b) ((a) > (b))
#define LESS(a, b) ((a) < (b))

/* best starts at the first element and moves only on a strict improvement: the first index wins
 * ties, as TFLite Micro's ArgMinMax (std::greater / std::less) does. */
#define REDUCE_LOOP(NAME, OUT_T, BETTER, RESULT)                                             \
    static void NAME(const aot_reduce_t *p, const int8_t *in, OUT_T *out) {                  \
        for (int32_t o = 0; o < p->outer; ++o)                                               \
            for (int32_t i = 0; i < p->inner; ++i) {                                         \
                const int8_t *x = in + (int32_t)o * p->reduce * p->inner + i;                \
                int8_t best = x[0];                                                          \
                int32_t at = 0;                                                              \
                for (int32_t r = 1; r < p->reduce; ++r) {                                    \
                    const int8_t v = x[r * p->inner];                                        \
                    if (BETTER(v, best)) { best = v; at = r; }                               \
                }                                                                            \
                (void)at; (void)best;                                                        \
                out[o * p->inner + i] = (OUT_T)(RESULT);                                     \
            }                                                                                \
    }
REDUCE_LOOP(max_loop, int8_t, GREATER, best)
REDUCE_LOOP(min_loop, int8_t, LESS, best)
REDUCE_LOOP(argmax_loop, int32_t, GREATER, at)
REDUCE_LOOP(argmin_loop, int32_t, LESS, at)

void aot_reduce_s8(const aot_reduce_t *p, const int8_t *in, int8_t *out) {
    if (p->is_min) min_loop(p, in, out);
    else max_loop(p, in, out);
}

void aot_argminmax_s8(const aot_reduce_t *p, const int8_t *in, int32_t *out) {
    if (p->is_min) argmin_loop(p, in, out);
    else argmax_loop(p, in, out);
}
