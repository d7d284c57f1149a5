"""Facts about a TFLite model that later stages need, read with our own flatbuffer reader."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import PipelineError
from ..tflite import TFLiteModel, read_model

# Ops whose main input is an activation and that do real arithmetic: if any of them runs on a
# float32 input the model is not fully int8.
_COMPUTE_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
                "MEAN", "ADD", "MUL", "SOFTMAX", "LOGISTIC", "CONCATENATION", "TRANSPOSE_CONV",
                "BATCH_MATMUL", "SUB", "TANH"}


def load(data: bytes | Path | str | TFLiteModel) -> TFLiteModel:
    """`read_model`, accepting an already parsed model (raises TFLiteFormatError, one line)."""
    return data if isinstance(data, TFLiteModel) else read_model(data)


def io_details(model: TFLiteModel, index: int) -> dict:
    t = model.tensor(index)
    q = t.quantization
    scale = float(q.scale[0]) if q is not None and q.scale.size else None
    zp = int(q.zero_point[0]) if q is not None and q.zero_point.size else None
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "scale": scale, "zero_point": zp}


def layout_of(shape: list[int] | tuple[int, ...]) -> str:
    return {4: "NHWC", 3: "NLC", 2: "NC"}.get(len(shape), f"rank{len(shape)}")


def describe_tflite(data: bytes | Path | TFLiteModel) -> dict:
    """bytes, sha256, ops (graph order), op_counts, input/output details, input layout."""
    m = load(data)
    if len(m.inputs) != 1 or len(m.outputs) != 1:
        raise PipelineError(
            f"the model has {len(m.inputs)} inputs and {len(m.outputs)} outputs; a classifier with "
            "exactly one input and one output is required")
    inp = io_details(m, m.inputs[0])
    return {
        "bytes": m.size_bytes,
        "sha256": m.sha256,
        "ops": [o.op for o in m.operators],
        "op_counts": dict(Counter(o.op for o in m.operators)),
        "input": inp,
        "output": io_details(m, m.outputs[0]),
        "input_layout": layout_of(inp["shape"]),
    }


def require_int8(data: bytes | Path | TFLiteModel, what: str = "model") -> TFLiteModel:
    """Raise one line unless input, output and every compute op are int8."""
    m = load(data)
    for role, idx in (("input", m.inputs), ("output", m.outputs)):
        for i in idx:
            t = m.tensor(i)
            if t.dtype != "int8":
                raise PipelineError(
                    f"{what}: float-only model where int8 is required ({role} '{t.name}' is {t.dtype}); "
                    "convert it with full-integer quantization (int8 input/output) or pass the "
                    "float .onnx / PyTorch model instead so we quantize it")
    for op in m.operators:
        if op.op not in _COMPUTE_OPS or not op.inputs or op.inputs[0] < 0:
            continue
        t = m.tensor(op.inputs[0])
        if t.dtype not in ("int8", "int16", "int32"):
            raise PipelineError(
                f"{what}: not fully int8: op {op.op} at operator #{op.index} computes in {t.dtype}; "
                "float-only model where int8 is required")
    return m


def quant_params(model: TFLiteModel, index: int) -> tuple[float, int]:
    q = model.tensor(index).quantization
    if q is None or q.scale.size == 0:
        return 1.0, 0
    return float(q.scale[0]), int(q.zero_point[0]) if q.zero_point.size else 0


def quantize(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float -> int8 as TFLite's reference QUANTIZE does: float32 divide, round half away from 0."""
    v = np.asarray(x, np.float32) / np.float32(scale)
    q = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + zero_point
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize(q: np.ndarray, scale, zero_point) -> np.ndarray:
    return (np.asarray(q, np.float32) - np.asarray(zero_point, np.float32)) * np.asarray(scale, np.float32)
