"""The 256-entry int8 table of an elementwise operator, taken from TFLite Micro itself: the operator
is cut out of the user's model (same builtin op, version, options and the input/output tensors'
shapes and quantization) into a one-operator flatbuffer, which the `tflite_micro` interpreter runs
on every input code -128..127. Whatever TFLM's kernel computes (its Prepare's multipliers, its
fixed-point tanh, RELU's rescale) the table is its output for that code: exact by construction.
Nothing is cached on disk; one interpreter run per 256 elements of the input (one for any tensor of
256 elements or more)."""
from __future__ import annotations

import numpy as np

from ...errors import PipelineError
from ...tflite import Tensor


def _schema():
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as err:
        raise PipelineError(f"tflite_micro is not installed ({err}); pip install tflite-micro") from None
    return S, runtime


def _leaky_relu(S, options: dict):
    o = S.LeakyReluOptionsT()
    o.alpha = float(options["alpha"])
    return S.BuiltinOptions.LeakyReluOptions, o


# Ops whose options change the result, and how to write them back (pipeline/tflite/schema.py parses
# them). An op not listed here has no options that TFLM's kernel reads.
OPTIONS = {"LEAKY_RELU": _leaky_relu}


_TYPES = {"int8": "INT8", "int16": "INT16", "int32": "INT32", "float32": "FLOAT32"}


def _tensor(S, t: Tensor):
    out = S.TensorT()
    out.name = t.name.encode() if t.name else b""
    out.shape = np.array(t.shape, dtype=np.int32)
    out.type = getattr(S.TensorType, _TYPES[t.dtype])
    out.buffer = 0
    if t.quantization is not None:
        q = S.QuantizationParametersT()
        q.scale = np.asarray(t.quantization.scale, dtype=np.float32)
        q.zeroPoint = np.asarray(t.quantization.zero_point, dtype=np.int64)
        out.quantization = q
    return out


def one_op_model(op, options: dict, x: Tensor, y: Tensor, pad: int = 0) -> bytes:
    """A model holding only `op` (a pipeline.tflite Operator) from x to y; `pad` bytes of an unused
    buffer make it large enough for the tflite_micro binding's default arena (10x the model)."""
    S, _ = _schema()
    code = S.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = op.opcode, min(op.opcode, 127), op.version
    o = S.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = 0, [0], [1]
    if op.op in OPTIONS:
        o.builtinOptionsType, o.builtinOptions = OPTIONS[op.op](S, options)
    g = S.SubGraphT()
    g.tensors, g.inputs, g.outputs, g.operators = [_tensor(S, x), _tensor(S, y)], [0], [1], [o]
    m = S.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [code], [g], [S.BufferT()]
    if pad:
        m.buffers.append(S.BufferT())
        m.buffers[1].data = np.zeros(pad, dtype=np.uint8)
    # the flatbuffers runtime the generated schema module imports (tflite-micro's own dependency)
    b = S.flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _run(c, it, shape: tuple, xs: np.ndarray, dtype: np.dtype) -> np.ndarray:
    it.set_input(xs.astype(np.int8).reshape(shape), 0)
    it.invoke()
    got = np.array(it.get_output(0))
    if got.dtype != dtype or got.size != xs.size:
        raise c.fail(f"TFLite Micro's output is {got.dtype}[{got.size}], expected {dtype}[{xs.size}]")
    return got.reshape(-1)


def _per_code(c, it, shape: tuple, n: int, dtype: np.dtype) -> np.ndarray:
    """Codes one at a time, for an op whose Eval fails on some inputs: TFLM's int8 RSQRT returns an
    error for any input below its zero point ("Rsqrt is only defined for positive values"), so an
    inference that meets one fails as a whole and there is no output to match. A kernel has no error
    path, so such a code gets the output of the nearest code TFLM accepts (for RSQRT: the input
    zero point's, 1/sqrt(0) saturated)."""
    table, ok = np.zeros(256, dtype=dtype), np.zeros(256, dtype=bool)
    for k in range(256):
        try:
            got = _run(c, it, shape, np.full(n, k - 128), dtype)
        except RuntimeError:
            continue
        if np.any(got != got[0]):
            raise c.fail("not elementwise: one input code gave different outputs at different positions")
        table[k], ok[k] = got[0], True
    if not ok.any():
        raise c.fail("TFLite Micro fails it on every int8 input code")
    good = np.flatnonzero(ok)
    nearest = good[np.abs(np.arange(256)[:, None] - good[None, :]).argmin(axis=1)]
    return table[nearest]


def tflm_table(c, x: Tensor, y: Tensor) -> np.ndarray:
    """y.dtype[256] (int8 for the activations, int16/int32/float32 for CAST): entry k is TFLM's
    output for input code k - 128 (c: the operator's Ctx)."""
    _, rt = _schema()
    n, dtype = max(x.size, 1), np.dtype(y.dtype)
    try:
        # the binding's default arena is 10x the model's bytes, too small for a one-op model
        it = rt.Interpreter.from_bytes(one_op_model(c.op, c.op.options, x, y), arena_size=8 * n + (64 << 10))
    except Exception as err:  # the binding raises RuntimeError / ValueError; TFLM prints why on stderr
        # e.g. EXP: TFLM's kernel is float32 only, its Prepare fails with "INT8 != FLOAT32"
        raise c.fail(f"TFLite Micro cannot run it with these int8 tensors ({type(err).__name__}: {err})") from None
    codes = [(np.arange(n) + r * n) % 256 for r in range(-(-256 // n))]
    try:
        outs = [_run(c, it, x.shape, k - 128, dtype) for k in codes]
    except RuntimeError:
        return _per_code(c, it, x.shape, n, dtype)
    k, v = np.concatenate(codes), np.concatenate(outs)
    table = np.zeros(256, dtype=dtype)
    table[k] = v
    if not np.array_equal(table[k], v):
        raise c.fail("not elementwise: the same input code gave different outputs at different positions")
    return table
