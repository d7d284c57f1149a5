/* Broadcasting int8 binary ops (SUB, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM, PRELU, DIV), the six
 * comparisons (int8 -> bool) and SELECT_V2: firmware/kernels/binary.c, lowered by
 * pipeline/aot/ops/binary.py. */
#ifndef AOT_BINARY_H
#define AOT_BINARY_H
#include <stdint.h>

/* op codes: the same numbers as binary.py _BIN_CODES / _CMP_CODES */
enum { AOT_BIN_SUB = 0, AOT_BIN_SQDIFF = 1, AOT_BIN_MAX = 2, AOT_BIN_MIN = 3, AOT_BIN_PRELU = 4, AOT_BIN_DIV = 5 };
enum { AOT_CMP_EQ = 0, AOT_CMP_NE = 1, AOT_CMP_GT = 2, AOT_CMP_GE = 3, AOT_CMP_LT = 4, AOT_CMP_LE = 5 };

/* 4-D broadcast: element (i0..i3) of input k is at sum(i_d * s<k>[d]); a stride is 0 where that
 * input has extent 1 and the output does not. */
typedef struct {
    int32_t shape[4], s1[4], s2[4];
    int32_t op;
    int32_t in1_offset, in2_offset, out_offset, left_shift;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
    int32_t act_min, act_max;
    const int8_t *in0, *in1; /* a constant operand (flash), NULL where the operand is an activation */
} aot_bin_t;

typedef struct {
    int32_t shape[4], sc[4], sx[4], sy[4];
    const uint8_t *in0;      /* constant condition, or NULL */
    const int8_t *in1, *in2; /* constant x / y, or NULL */
} aot_select_t;

/* ins: the activation operands in order (constants are skipped); out: int8 */
void aot_binary_s8(const aot_bin_t *p, const void *const *ins, void *out);
/* out: bool, one byte 0/1 per element */
void aot_compare_s8(const aot_bin_t *p, const void *const *ins, void *out);
/* out[i] = cond ? x : y (raw int8 codes, as TFLite Micro copies them) */
void aot_select_s8(const aot_select_t *p, const void *const *ins, void *out);
#endif
