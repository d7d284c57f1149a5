/* DEPTHWISE_CONV_2D's row kernels: dwconv.c (portable, and the choice) and dwconv_dsp.c (SMLAD). */
#ifndef AOT_DWCONV_H
#define AOT_DWCONV_H
#include "aot_kernels.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define AOT_DW_DSP 1
enum { DW_MAX_KH = 16 };   /* pipeline/aot/compile/compiler.py DW_MAX_KH */
/* Called through dw_rows' row pointer, as the portable row kernel is, so being in its own file
 * costs no inlining. */
void aot_dw_dsp_row(const aot_conv_t *p, const int8_t *inb, int32_t oy, int8_t *out);
#endif

#endif
