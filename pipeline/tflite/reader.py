"""`read_model`: TFLite flatbuffer bytes -> `TFLiteModel` (subgraph 0), every offset checked."""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from .flatbuf import Buf, Table, TFLiteFormatError
from .model import Operator, Quantization, Tensor, TFLiteModel
from .schema import OPTION_PARSERS, TENSOR_TYPES, op_name, parse_options

# Smallest possible file: 4-byte root offset + "TFL3" + a 4-byte table + a 4-byte vtable.
_MIN_SIZE = 16
_IDENT = b"TFL3"
# TFLite caps shapes at rank 6 in most kernels; 16 leaves room and stops absurd ranks.
_MAX_RANK = 16
# Largest .tflite accepted (flatbuffers cap at 2 GB; an MCU/phone model over this is a mistake).
MAX_MODEL_BYTES = 256 * 1024 * 1024


def check_model_size(path: Path | str) -> int:
    """The file's size, or a one-line TFLiteFormatError when it is missing or over MAX_MODEL_BYTES."""
    try:
        size = Path(path).stat().st_size
    except OSError as err:
        raise TFLiteFormatError(f"cannot read TFLite model {path}: {err.strerror or err}") from None
    if size > MAX_MODEL_BYTES:
        raise TFLiteFormatError(f"{path}: {size / 2**20:.0f} MB is over the {MAX_MODEL_BYTES >> 20} MB limit "
                                "for a .tflite model (is this the right file?)")
    return size


def read_model(data: bytes | bytearray | memoryview | Path | str) -> TFLiteModel:
    """Parse a TFLite model; raises TFLiteFormatError (a PipelineError) for malformed input."""
    if isinstance(data, (str, Path)):
        check_model_size(data)
        try:
            data = Path(data).read_bytes()
        except OSError as err:
            raise TFLiteFormatError(f"cannot read TFLite model {data}: {err.strerror or err}") from None
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TFLiteFormatError(f"read_model expects bytes or a path, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_MODEL_BYTES:
        raise TFLiteFormatError(f"TFLite model of {len(data)} bytes is over the {MAX_MODEL_BYTES >> 20} MB limit")
    if len(data) == 0:
        raise TFLiteFormatError("not a TFLite model: the file is empty")
    if len(data) < _MIN_SIZE:
        raise TFLiteFormatError(f"not a TFLite model: only {len(data)} bytes (truncated?)")
    if data[4:8] != _IDENT:
        raise TFLiteFormatError(f"not a TFLite model: file identifier is {data[4:8]!r}, expected b'TFL3'")
    buf = Buf(data)
    root = buf.table(buf.uoffset(0, "root table"), "Model")
    return _model(buf, root, hashlib.sha256(data).hexdigest())


def _model(buf: Buf, root: Table, sha: str) -> TFLiteModel:
    version = root.scalar(0, "u32", 0)
    opcodes = [_opcode(t) for t in root.tables(1, "operator_codes")]
    subgraphs = root.tables(2, "subgraphs")
    if not subgraphs:
        raise TFLiteFormatError("malformed TFLite file: the model has no subgraphs")
    description = root.string(3, "description") or ""
    buffers = root.tables(4, "buffers")
    sg = subgraphs[0]
    tensors = tuple(_tensor(i, t, buf, buffers) for i, t in enumerate(sg.tables(0, "tensors")))
    n = len(tensors)
    inputs = _indices(sg.scalars(1, "i32", "subgraph inputs"), n, "subgraph input", optional=False)
    outputs = _indices(sg.scalars(2, "i32", "subgraph outputs"), n, "subgraph output", optional=False)
    ops = tuple(_operator(i, t, opcodes, n) for i, t in enumerate(sg.tables(3, "operators")))
    return TFLiteModel(version=version, description=description, tensors=tensors, operators=ops,
                       inputs=inputs, outputs=outputs, subgraph_count=len(subgraphs), sha256=sha,
                       size_bytes=buf.n)


def _opcode(t: Table) -> tuple[int, str | None, int]:
    # Codes >= 127 live only in the int32 field; the deprecated int8 field caps at 127.
    deprecated = t.scalar(0, "i8", 0)
    code = max(deprecated, t.scalar(3, "i32", 0))
    return code, t.string(1, "custom_code"), t.scalar(2, "i32", 1)


def _indices(values: list[int], n: int, what: str, optional: bool) -> tuple[int, ...]:
    lo = -1 if optional else 0
    for v in values:
        if not lo <= v < n:
            raise TFLiteFormatError(f"malformed TFLite file: {what} tensor index {v} is outside 0..{n - 1}")
    return tuple(values)


def _quant(t: Table | None) -> Quantization | None:
    if t is None:
        return None
    scale = np.asarray(t.scalars(2, "f32", "quantization scale"), dtype=np.float32)
    zp = np.asarray(t.scalars(3, "i64", "quantization zero_point"), dtype=np.int64)
    qdim = t.scalar(6, "i32", 0)
    if scale.size == 0 and zp.size == 0:
        return None
    if zp.size and scale.size != zp.size:
        raise TFLiteFormatError(
            f"malformed TFLite file: {scale.size} quantization scales but {zp.size} zero points")
    return Quantization(scale=scale, zero_point=zp, quantized_dimension=qdim)


def _buffer_bytes(index: int, buf: Buf, buffers: list[Table], name: str) -> bytes:
    if not 0 <= index < max(len(buffers), 1):
        raise TFLiteFormatError(
            f"malformed TFLite file: tensor '{name}' uses buffer {index} but the model has {len(buffers)}")
    if not buffers:
        return b""
    b = buffers[index]
    raw = b.raw(0, f"buffer {index} data")
    if raw:
        return raw
    # Models over 2 GB keep data outside the flatbuffer: absolute file offset + size.
    offset, size = b.scalar(1, "u64", 0), b.scalar(2, "u64", 0)
    if offset > 1 and size:
        buf._check(offset, size, f"buffer {index} external data")
        return buf.data[offset:offset + size]
    return b""


def _tensor(i: int, t: Table, buf: Buf, buffers: list[Table]) -> Tensor:
    name = t.string(3, "tensor name") or f"tensor_{i}"
    shape = tuple(t.scalars(0, "i32", f"tensor {i} shape"))
    if len(shape) > _MAX_RANK or any(d < -1 for d in shape):
        raise TFLiteFormatError(f"malformed TFLite file: tensor {i} '{name}' has invalid shape {list(shape)}")
    type_code = t.scalar(1, "i8", 0)
    if type_code not in TENSOR_TYPES:
        raise TFLiteFormatError(f"malformed TFLite file: tensor {i} '{name}' has unknown type {type_code}")
    dtype_name, np_dtype = TENSOR_TYPES[type_code]
    buffer_index = t.scalar(2, "u32", 0)
    raw = _buffer_bytes(buffer_index, buf, buffers, name)
    data = None
    if raw:
        if np_dtype is None:
            data = np.frombuffer(raw, dtype=np.uint8)
        else:
            item = np.dtype(np_dtype).itemsize
            count = math.prod(shape) if all(d >= 0 for d in shape) else -1
            if count < 0 or len(raw) != count * item:
                raise TFLiteFormatError(
                    f"malformed TFLite file: tensor {i} '{name}' has {len(raw)} data bytes, "
                    f"shape {list(shape)} of {dtype_name} needs {max(count, 0) * item}")
            data = np.frombuffer(raw, dtype=np_dtype).reshape(shape)
    quant = _quant(t.table(4, f"tensor {i} quantization"))
    if quant is not None and quant.scale.size > 1:
        qd = quant.quantized_dimension
        if not 0 <= qd < len(shape) or shape[qd] != quant.scale.size:
            raise TFLiteFormatError(
                f"malformed TFLite file: tensor {i} '{name}' has {quant.scale.size} scales on "
                f"dimension {qd} of shape {list(shape)}")
    return Tensor(index=i, name=name, shape=shape, dtype=dtype_name, buffer=buffer_index, data=data,
                  quantization=quant, is_variable=t.scalar(5, "bool", False))


def _operator(i: int, t: Table, opcodes: list, n: int) -> Operator:
    idx = t.scalar(0, "u32", 0)
    if not 0 <= idx < len(opcodes):
        raise TFLiteFormatError(
            f"malformed TFLite file: operator {i} uses opcode index {idx} but the model has {len(opcodes)}")
    code, custom, version = opcodes[idx]
    inputs = _indices(t.scalars(1, "i32", f"operator {i} inputs"), n, f"operator {i} input", optional=True)
    outputs = _indices(t.scalars(2, "i32", f"operator {i} outputs"), n, f"operator {i} output", optional=True)
    otype = t.scalar(3, "u8", 0)
    options = parse_options(otype, t.table(4, f"operator {i} builtin_options"))
    return Operator(index=i, op=op_name(code), opcode=code, version=version, inputs=inputs,
                    outputs=outputs, options=options,
                    options_type=OPTION_PARSERS[otype][0] if otype in OPTION_PARSERS else None,
                    custom_code=custom)
