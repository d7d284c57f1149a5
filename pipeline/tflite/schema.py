"""TFLite schema facts we need: enum names and the field slots of the options we parse.

Slot numbers follow TensorFlow's schema.fbs (read from its generated Python module); names are
the schema's enum names, so `op` strings match what TFLite tools print.
"""
from __future__ import annotations

import numpy as np

from .flatbuf import Table, TFLiteFormatError

# BuiltinOperator enum, index = code (schema v3c, 210 codes).
BUILTIN_OPS: tuple[str, ...] = (
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
    "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
    "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL",
    "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
    "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
    "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL",
    "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE",
    "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN",
    "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND",
    "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE",
    "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE",
    "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS",
    "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG",
    "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
    "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM",
    "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN",
    "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD",
    "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE",
    "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE",
    "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
    "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
    "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE",
    "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW",
    "STABLEHLO_SORT", "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT",
    "STABLEHLO_CBRT", "STABLEHLO_CASE",
)

# TensorType enum -> (name, numpy dtype or None when numpy has no such type).
TENSOR_TYPES: dict[int, tuple[str, object]] = {
    0: ("float32", np.float32), 1: ("float16", np.float16), 2: ("int32", np.int32),
    3: ("uint8", np.uint8), 4: ("int64", np.int64), 5: ("string", None), 6: ("bool", np.bool_),
    7: ("int16", np.int16), 8: ("complex64", np.complex64), 9: ("int8", np.int8),
    10: ("float64", np.float64), 11: ("complex128", np.complex128), 12: ("uint64", np.uint64),
    13: ("resource", None), 14: ("variant", None), 15: ("uint32", np.uint32),
    16: ("uint16", np.uint16), 17: ("int4", None), 18: ("bfloat16", None), 19: ("int2", None),
    20: ("uint4", None), 21: ("float8_e4m3fn", None), 22: ("float8_e5m2", None),
}

PADDING = ("SAME", "VALID")
ACTIVATIONS = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")


def op_name(code: int) -> str:
    return BUILTIN_OPS[code] if 0 <= code < len(BUILTIN_OPS) else f"BUILTIN_{code}"


def _enum(table: Table, slot: int, names: tuple[str, ...], what: str, default: int = 0) -> str:
    v = table.scalar(slot, "i8", default)
    if not 0 <= v < len(names):
        raise TFLiteFormatError(f"malformed TFLite file: {what} value {v} is not one of {', '.join(names)}")
    return names[v]


def _act(t: Table, slot: int) -> str:
    return _enum(t, slot, ACTIVATIONS, "fused_activation_function")


def _conv(t: Table) -> dict:
    return {"padding": _enum(t, 0, PADDING, "padding"), "stride_w": t.scalar(1, "i32", 0),
            "stride_h": t.scalar(2, "i32", 0), "fused_activation": _act(t, 3),
            "dilation_w": t.scalar(4, "i32", 1), "dilation_h": t.scalar(5, "i32", 1)}


def _dwconv(t: Table) -> dict:
    return {"padding": _enum(t, 0, PADDING, "padding"), "stride_w": t.scalar(1, "i32", 0),
            "stride_h": t.scalar(2, "i32", 0), "depth_multiplier": t.scalar(3, "i32", 0),
            "fused_activation": _act(t, 4), "dilation_w": t.scalar(5, "i32", 1),
            "dilation_h": t.scalar(6, "i32", 1)}


def _pool(t: Table) -> dict:
    return {"padding": _enum(t, 0, PADDING, "padding"), "stride_w": t.scalar(1, "i32", 0),
            "stride_h": t.scalar(2, "i32", 0), "filter_w": t.scalar(3, "i32", 0),
            "filter_h": t.scalar(4, "i32", 0), "fused_activation": _act(t, 5)}


def _fc(t: Table) -> dict:
    return {"fused_activation": _act(t, 0), "weights_format": t.scalar(1, "i8", 0),
            "keep_num_dims": t.scalar(2, "bool", False),
            "asymmetric_quantize_inputs": t.scalar(3, "bool", False)}


def _reshape(t: Table) -> dict:
    return {"new_shape": tuple(t.scalars(0, "i32", "ReshapeOptions.new_shape"))}


def _block(t: Table) -> dict:
    return {"block_size": t.scalar(0, "i32", 0)}


def _strided_slice(t: Table) -> dict:
    names = ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask")
    return {**{n: t.scalar(k, "i32", 0) for k, n in enumerate(names)}, "offset": t.scalar(5, "bool", False)}


# The data-movement ops' options (pipeline/aot/ops/movement.py), by BuiltinOptions union type.
_MOVEMENT_OPTIONS = {
    19: ("SpaceToDepthOptions", _block),
    23: ("GatherOptions", lambda t: {"axis": t.scalar(0, "i32", 0), "batch_dims": t.scalar(1, "i32", 0)}),
    32: ("StridedSliceOptions", _strided_slice),
    35: ("SplitOptions", lambda t: {"num_splits": t.scalar(0, "i32", 0)}),
    59: ("PackOptions", lambda t: {"values_count": t.scalar(0, "i32", 0), "axis": t.scalar(1, "i32", 0)}),
    64: ("UnpackOptions", lambda t: {"num": t.scalar(0, "i32", 0), "axis": t.scalar(1, "i32", 0)}),
    74: ("ResizeNearestNeighborOptions", lambda t: {"align_corners": t.scalar(0, "bool", False),
                                                    "half_pixel_centers": t.scalar(1, "bool", False)}),
    77: ("MirrorPadOptions", lambda t: {"mode": _enum(t, 0, ("REFLECT", "SYMMETRIC"), "mirror pad mode")}),
    79: ("SplitVOptions", lambda t: {"num_splits": t.scalar(0, "i32", 0)}),
    94: ("DepthToSpaceOptions", _block),
}


# BuiltinOptions union type -> (options name, parser). Unlisted types parse to {}.
OPTION_PARSERS = {
    1: ("Conv2DOptions", _conv),
    2: ("DepthwiseConv2DOptions", _dwconv),
    5: ("Pool2DOptions", _pool),
    8: ("FullyConnectedOptions", _fc),
    9: ("SoftmaxOptions", lambda t: {"beta": t.scalar(0, "f32", 0.0)}),
    10: ("ConcatenationOptions", lambda t: {"axis": t.scalar(0, "i32", 0), "fused_activation": _act(t, 1)}),
    11: ("AddOptions", lambda t: {"fused_activation": _act(t, 0)}),
    17: ("ReshapeOptions", _reshape),
    21: ("MulOptions", lambda t: {"fused_activation": _act(t, 0)}),
    22: ("PadOptions", lambda t: {}),
    27: ("ReducerOptions", lambda t: {"keep_dims": t.scalar(0, "bool", False)}),
    12: ("L2NormOptions", lambda t: {"fused_activation": _act(t, 0)}),
    15: ("ResizeBilinearOptions", lambda t: {"align_corners": t.scalar(2, "bool", False),
                                             "half_pixel_centers": t.scalar(3, "bool", False)}),
    49: ("TransposeConvOptions", lambda t: {"padding": _enum(t, 0, PADDING, "padding"),
                                            "stride_w": t.scalar(1, "i32", 0), "stride_h": t.scalar(2, "i32", 0),
                                            "fused_activation": _act(t, 3)}),
    101: ("BatchMatMulOptions", lambda t: {"adj_x": t.scalar(0, "bool", False), "adj_y": t.scalar(1, "bool", False)}),
    75: ("LeakyReluOptions", lambda t: {"alpha": t.scalar(0, "f32", 0.0)}),
    # SUB and DIV carry a fused activation like ADD; unparsed it would read as NONE (after int8
    # calibration a fused ReLU/ReLU6 rarely clamps anything, which is why no zoo model showed it)
    28: ("SubOptions", lambda t: {"fused_activation": _act(t, 0)}),
    29: ("DivOptions", lambda t: {"fused_activation": _act(t, 0)}),
    # the two TFLite Micro int8 ops the engine lacks, parsed so that adding them needs no schema edit
    6: ("SVDFOptions", lambda t: {"rank": t.scalar(0, "i32", 0), "fused_activation": _act(t, 1)}),
    71: ("UnidirectionalSequenceLSTMOptions", lambda t: {
        "fused_activation": _act(t, 0), "cell_clip": t.scalar(1, "f32", 0.0), "proj_clip": t.scalar(2, "f32", 0.0),
        "time_major": t.scalar(3, "bool", False)}),
    **_MOVEMENT_OPTIONS,
}


def parse_options(options_type: int, table: Table | None) -> dict:
    if table is None or options_type not in OPTION_PARSERS:
        return {}
    return OPTION_PARSERS[options_type][1](table)
