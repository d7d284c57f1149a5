/* RESIZE_BILINEAR, int8, TFLite Micro's integer path (1/1024 fixed-point coordinates). */
#ifndef AOT_RESIZE_BILINEAR_H
#define AOT_RESIZE_BILINEAR_H
#include <stdint.h>

typedef struct {
    int32_t batches, in_h, in_w, c, out_h, out_w;
    int32_t scale_h, scale_w;     /* input / output size in 1/1024 units, rounded as TFLM does */
    int32_t half_pixel;           /* half_pixel_centers */
} aot_resize_t;

void aot_resize_bilinear_s8(const aot_resize_t *p, const int8_t *in, int8_t *out);
#endif
