/* DEPTHWISE_CONV_2D, int8, any multiplier: the portable row kernel, the in-place row ring, and the
 * choice between it, the SMLAD row kernel (dwconv_dsp.c) and the plane kernel (dw_plane.c). */
#include "aot_kernels.h"
#include "aot_fixedpoint.h"
#include "aot_dot.h"
#include "aot_dwconv.h"
#include <string.h>

/* Depthwise, any multiplier: one output row; channels are interleaved (NHWC), so the loop runs over
 * channels innermost, in chunks of 64 accumulators, with the valid tap range computed once per
 * output position. */
static void dw_ref_row(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out) {
    enum { CHUNK = 64 };
    int32_t acc[CHUNK];
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    int32_t ky0 = 0, ky1 = p->k_h;
    while (ky0 < ky1 && iy0 + ky0 * p->dil_h < 0) ++ky0;
    while (ky1 > ky0 && iy0 + (ky1 - 1) * p->dil_h >= p->in_h) --ky1;
    for (int32_t ox = 0; ox < p->out_w; ++ox) {
        const int32_t ix0 = ox * p->stride_w - p->pad_w;
        int32_t kx0 = 0, kx1 = p->k_w;
        while (kx0 < kx1 && ix0 + kx0 * p->dil_w < 0) ++kx0;
        while (kx1 > kx0 && ix0 + (kx1 - 1) * p->dil_w >= p->in_w) --kx1;
        for (int32_t c0 = 0; c0 < p->out_c; c0 += CHUNK) {
            const int32_t n = p->out_c - c0 < CHUNK ? p->out_c - c0 : CHUNK;
            for (int32_t j = 0; j < n; ++j) acc[j] = p->bias ? p->bias[c0 + j] : 0;
            for (int32_t ky = ky0; ky < ky1; ++ky) {
                for (int32_t kx = kx0; kx < kx1; ++kx) {
                    const int8_t *ip = inb + ((size_t)(iy0 + ky * p->dil_h) * p->in_w +
                                              (ix0 + kx * p->dil_w)) * p->in_c;
                    const int8_t *fp = p->filter + ((size_t)ky * p->k_w + kx) * p->out_c + c0;
                    if (p->depth_mult == 1) {
                        ip += c0;
                        for (int32_t j = 0; j < n; ++j)
                            acc[j] += (int32_t)fp[j] * ((int32_t)ip[j] + p->in_offset);
                    } else {
                        for (int32_t j = 0; j < n; ++j)
                            acc[j] += (int32_t)fp[j] * ((int32_t)ip[(c0 + j) / p->depth_mult] + p->in_offset);
                    }
                }
            }
            int8_t *o = out + c0;
            for (int32_t j = 0; j < n; ++j) {
                int32_t v = p->rq ? aot_rq(p->rq + c0 + j, acc[j])
                                  : aot_mbqm(acc[j], p->mult[c0 + j], p->shift[c0 + j]) + p->out_offset;
                o[j] = (int8_t)aot_clamp(v, p->act_min, p->act_max);
            }
        }
        out += p->out_c;
    }
}

typedef void (*dw_row_fn)(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out);

/* Every output row of every batch. In place (in == out: the memory planner aliases only multiplier-1,
 * stride-1, same-shape layers, pipeline/aot/compile/plan.py) output row oy is computed into a ring of
 * pad_h + 1 rows and written over input row oy - pad_h, the last input row no later output row
 * reads; the ring costs (pad_h + 1) * W * C bytes of stack (640 on the KWS DS-CNN) instead of a
 * second 8,000-byte activation buffer. */
static void dw_rows(const aot_conv_t *p, const int8_t *in, int8_t *out, dw_row_fn row) {
    const size_t rb = (size_t)p->out_w * p->out_c, ib = (size_t)p->in_h * p->in_w * p->in_c;
    const size_t ob = (size_t)p->out_h * rb;
    if (in != out) {
        for (int32_t b = 0; b < p->batches; ++b)
            for (int32_t oy = 0; oy < p->out_h; ++oy) row(p, in + b * ib, oy, out + b * ob + oy * rb);
        return;
    }
    const int32_t R = p->pad_h + 1;
    int8_t ring[R][rb];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *inb = in + b * ib;
        int8_t *outb = out + b * ob;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            row(p, inb, oy, ring[oy % R]);
            const int32_t done = oy - p->pad_h;
            if (done >= 0) memcpy(outb + done * rb, ring[done % R], rb);
        }
        for (int32_t done = p->out_h - p->pad_h < 0 ? 0 : p->out_h - p->pad_h; done < p->out_h; ++done)
            memcpy(outb + done * rb, ring[done % R], rb);
    }
}

void aot_dwconv_s8(const aot_conv_t *p, const int8_t *in, int8_t *out) {
#if defined(AOT_DW_DSP)
    if (p->dw_plane) {
        aot_dw_plane_s8(p, in, out);
        return;
    }
    if (p->wpack && p->depth_mult == 1 && p->k_h <= DW_MAX_KH) {
        dw_rows(p, in, out, aot_dw_dsp_row);
        return;
    }
#endif
    dw_rows(p, in, out, dw_ref_row);
}
