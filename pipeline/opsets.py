"""The TFLite builtin op sets of our runtimes, and hints for ops a model should avoid (data only).

Cortex-M targets run int8 models on two engines (TFLite Micro and our AOT C engine); both
implement the same kernels: `CORTEX_M_OPS`, the AOT engine's op table (pipeline/aot/ops). LiteRT has every builtin
kernel (`LITERT_OPS`). Which kind runs which set is each adapter's `OPS`; the check that uses
it is `pipeline.op_check`.
"""
from __future__ import annotations

from .aot.ops import TABLE as AOT_OPS
from .aot.ops.tflm import TFLM_OPS as TFLM_RESOLVER
from .tflite.schema import BUILTIN_OPS

CORTEX_M_OPS: frozenset[str] = frozenset(AOT_OPS)
# TFLite Micro's registered builtins (`--engine tflm` runs these)
TFLM_OPS: frozenset[str] = frozenset(TFLM_RESOLVER)

# Enum entries that are not kernels LiteRT's builtin resolver can run.
_NOT_KERNELS = {"CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CALL"}
LITERT_OPS: frozenset[str] = frozenset(
    op for op in BUILTIN_OPS if op not in _NOT_KERNELS and not op.startswith("STABLEHLO_")
)

# What usually produces an op, and what to do about it.
_HINTS = {
    "TRANSPOSE": "usually a Flatten of an NCHW feature map before a Linear layer (Cortex-M runs it); "
                 "global average pooling (AdaptiveAvgPool) instead of Flatten avoids it",
    "EXP": "TFLite Micro's EXP kernel is float32 only, so an int8 model cannot run it; move exp into "
           "post-processing or use Sigmoid/Softmax (LOGISTIC, SOFTMAX are supported)",
    "NEG": "TFLite Micro's NEG kernel is float32 only; fold the negation into the next layer's weights",
    "GELU": "replace GELU with ReLU",
    "RESIZE_BILINEAR": "bilinear Upsample/interpolate; Cortex-M runs it",
    "RESIZE_NEAREST_NEIGHBOR": "Upsample/interpolate(mode='nearest'); Cortex-M runs it",
    "STRIDED_SLICE": "tensor slicing inside forward(); Cortex-M runs it",
    "SLICE": "tensor slicing inside forward(); Cortex-M runs it",
    "GATHER": "indexing with tensors inside forward(); Cortex-M runs it with constant indices",
    "BATCH_MATMUL": "use nn.Linear (FULLY_CONNECTED) instead of matmul between activations",
    "LSTM": "recurrent layers are not supported on Cortex-M; use a 1-D CNN",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "recurrent layers are not supported on Cortex-M; use a 1-D CNN",
    "SQUEEZE": "use reshape/flatten after global average pooling instead of squeeze",
    "CUSTOM": "custom ops run on no target runtime; export with standard ops only",
}


def hint(op: str) -> str:
    """What usually produces `op` and what to do about it (`pipeline.op_check.hint` adds which
    target kinds run it)."""
    return _HINTS.get(op, "change the layer that produces it")
