"""Which TFLite builtin ops each target kind's runtime can run, and the one check that uses it.

Cortex-M targets run int8 models on two engines (TFLite Micro and our AOT C engine); both
implement the same small set of kernels, listed in `CORTEX_M_OPS`. Linux-arm, Android and host
targets run LiteRT, which has every builtin kernel (`LITERT_OPS`). A model with an op outside
its target's set fails at conversion time (`check_ops`), naming the op, its operator index and
a hint, instead of failing later on the device.
"""
from __future__ import annotations

from collections.abc import Iterable

from .errors import PipelineError
from .tflite.schema import BUILTIN_OPS

CORTEX_M_OPS: frozenset[str] = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN",
    "ADD", "MUL", "RESHAPE", "SOFTMAX", "PAD", "CONCATENATION", "LOGISTIC", "QUANTIZE",
    "DEQUANTIZE",
})

# Enum entries that are not kernels LiteRT's builtin resolver can run.
_NOT_KERNELS = {"CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CALL"}
LITERT_OPS: frozenset[str] = frozenset(
    op for op in BUILTIN_OPS if op not in _NOT_KERNELS and not op.startswith("STABLEHLO_")
)

RUNTIME_BY_KIND = {"cortex-m": "TFLite Micro / AOT (Cortex-M kernels)", "linux-arm": "LiteRT",
                   "android": "LiteRT", "host": "LiteRT"}

# What usually produces an op, and what to do about it.
_HINTS = {
    "TRANSPOSE": "usually a Flatten of an NCHW feature map before a Linear layer; end the feature "
                 "extractor with global average pooling (AdaptiveAvgPool) instead of Flatten",
    "TANH": "replace Tanh with ReLU/ReLU6 or Sigmoid (LOGISTIC is supported)",
    "HARD_SWISH": "replace Hardswish with ReLU/ReLU6",
    "GELU": "replace GELU with ReLU",
    "RELU": "a ReLU that could not be fused into the preceding conv/linear/add; put ReLU directly "
            "after a Conv/Linear layer",
    "RELU6": "a ReLU6 that could not be fused; put it directly after a Conv/Linear layer",
    "LEAKY_RELU": "replace LeakyReLU with ReLU",
    "PRELU": "replace PReLU with ReLU",
    "RESIZE_BILINEAR": "avoid Upsample/interpolate in the model",
    "RESIZE_NEAREST_NEIGHBOR": "avoid Upsample/interpolate in the model",
    "STRIDED_SLICE": "avoid tensor slicing/indexing inside forward()",
    "SLICE": "avoid tensor slicing/indexing inside forward()",
    "GATHER": "avoid indexing with tensors inside forward()",
    "SUB": "fold the subtraction into the input normalisation or a bias",
    "DIV": "fold the division into the input normalisation or a weight",
    "BATCH_MATMUL": "use nn.Linear (FULLY_CONNECTED) instead of matmul between activations",
    "LSTM": "recurrent layers are not supported on Cortex-M; use a 1-D CNN",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "recurrent layers are not supported on Cortex-M; use a 1-D CNN",
    "SQUEEZE": "use reshape/flatten after global average pooling instead of squeeze",
    "CUSTOM": "custom ops run on no target runtime; export with standard ops only",
}


def supported_ops(kind: str) -> frozenset[str]:
    """The builtin ops the runtime of a target kind runs ("cortex-m", "linux-arm", "android", "host")."""
    if kind == "cortex-m":
        return CORTEX_M_OPS
    if kind in ("linux-arm", "android", "host"):
        return LITERT_OPS
    raise PipelineError(f"unknown target kind '{kind}' (known: android, cortex-m, host, linux-arm)")


def hint(op: str, kind: str) -> str:
    base = _HINTS.get(op, "change the layer that produces it")
    if kind == "cortex-m" and op in LITERT_OPS:
        base += "; or pick a linux-arm/android/host target, whose LiteRT runtime has it"
    return base


def unsupported(ops: Iterable[tuple[int, str]], kind: str) -> list[tuple[int, str]]:
    """(operator index, op name) pairs the kind's runtime cannot run, in graph order."""
    allowed = supported_ops(kind)
    return [(i, op) for i, op in ops if op not in allowed]


def check_ops(ops: Iterable[tuple[int, str]], kind: str, what: str = "model") -> None:
    """Raise a one-line PipelineError for the first op the target kind cannot run.

    `ops` is (operator index, op name) in graph order, e.g. from
    `[(o.index, o.op) for o in read_model(b).operators]`.
    """
    bad = unsupported(ops, kind)
    if not bad:
        return
    index, op = bad[0]
    others = sorted({o for _, o in bad[1:] if o != op})
    more = f" (also unsupported: {', '.join(others)})" if others else ""
    raise PipelineError(
        f"{what}: op {op} at operator #{index} is not supported on {kind} targets "
        f"({RUNTIME_BY_KIND.get(kind, kind)}){more}; hint: {hint(op, kind)}"
    )
