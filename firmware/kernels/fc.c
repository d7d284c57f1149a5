/* FULLY_CONNECTED int8: out[b][o] = requant(sum_d (in + in_off) * (w + w_off) + bias).
 * With symmetric weights (w_off = 0) the sum is dot(in, w) + in_off * sum(w), sum(w)
 * precomputed at build time: exact in integers, and the dot product is SIMD. */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"
#include "aot_dot.h"
#include "aot_gemm.h"

void aot_fc_s8(const aot_fc_t *p, const int8_t *in, int8_t *out) {
    const int fast = p->fsum && p->filter_offset == 0;
    if (AOT_PACKED_W ? p->wpack != NULL : (fast && p->depth <= AOT_GEMM_MAX_K)) {
        /* rows of the batch are the GEMM's pixels, two at a time */
        const aot_gemm_t g = {p->depth, p->out_c, p->in_offset, p->out_offset, p->act_min, p->act_max,
                              p->per_channel, p->filter, p->wpack, p->bias, p->fsum, p->mult, p->shift, p->rq,
                          AOT_PACKED_W && p->wstream};
        uint32_t scratch[AOT_GEMM_SCRATCH_WORDS(p->depth)];   /* depth <= AOT_GEMM_MAX_K */
        int32_t b = 0;
        for (; b + 2 <= p->batches; b += 2) {
            const int8_t *x = in + (size_t)b * p->depth;
            aot_gemm_run2(&g, x, x + p->depth, out, out + p->out_c, scratch);
            out += 2 * p->out_c;
        }
        if (b < p->batches) aot_gemm_run2(&g, in + (size_t)b * p->depth, NULL, out, NULL, scratch);
        return;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = in + (size_t)b * p->depth;
        for (int32_t o = 0; o < p->out_c; ++o) {
            const int8_t *w = p->filter + (size_t)o * p->depth;
            int32_t acc = 0;
            if (fast) {
                acc = aot_dot_s8(x, w, p->depth, p->in_offset * p->fsum[o]);
            } else {
                for (int32_t d = 0; d < p->depth; ++d)
                    acc += ((int32_t)x[d] + p->in_offset) * ((int32_t)w[d] + p->filter_offset);
            }
            if (p->bias) acc += p->bias[o];
            const int32_t k = p->per_channel ? o : 0;
            acc = p->rq ? aot_rq(p->rq + k, acc) : aot_mbqm(acc, p->mult[k], p->shift[k]) + p->out_offset;
            *out++ = (int8_t)aot_clamp(acc, p->act_min, p->act_max);
        }
    }
}
