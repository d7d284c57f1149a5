"""Run a TFLite model on LiteRT (XNNPACK or reference kernels) and on the TFLite Micro host
interpreter, one sample at a time (our models have a fixed batch of 1).

Inputs are float32 channels-last arrays [N, ...]; for int8 models they are quantized once with
the model's input parameters (`quantize`, TFLite's own rounding) so every runtime gets the very
same int8 input and outputs can be compared element by element. Outputs are the raw output
tensor values (int8 for int8 models), shape [N, *output_shape[1:]].
"""
from __future__ import annotations

import numpy as np

from ..convert.describe import quantize
from ..convert.quiet import quiet
from ..errors import PipelineError
from ..tflite import read_model

RESOLVERS = ("xnnpack", "ref", "builtin")


def _resolver(name: str):
    from ai_edge_litert.interpreter import OpResolverType

    return {"xnnpack": OpResolverType.AUTO, "ref": OpResolverType.BUILTIN_REF,
            "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}[name]


def litert_interpreter(model_bytes: bytes, resolver: str = "xnnpack", preserve_all_tensors: bool = False):
    """A LiteRT interpreter with tensors allocated. The bytes are validated with our reader first."""
    from ai_edge_litert.interpreter import Interpreter

    read_model(model_bytes)  # raises TFLiteFormatError (one line) before native code sees it
    if resolver not in RESOLVERS:
        raise PipelineError(f"unknown LiteRT resolver '{resolver}' (known: {', '.join(RESOLVERS)})")
    try:
        with quiet():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on fd 2
            it = Interpreter(model_content=bytes(model_bytes), num_threads=1,
                             experimental_op_resolver_type=_resolver(resolver),
                             experimental_preserve_all_tensors=preserve_all_tensors)
            it.allocate_tensors()
    except (RuntimeError, ValueError) as err:
        raise PipelineError(f"LiteRT cannot load the model: {str(err).strip().splitlines()[0][:300]}") from None
    return it


def prepare_inputs(model_bytes: bytes, x: np.ndarray) -> np.ndarray:
    """Float channels-last inputs -> what the model's input tensor takes (int8 quantized or float32)."""
    m = read_model(model_bytes)
    t = m.tensor(m.inputs[0])
    if t.dtype == "int8":
        q = t.quantization
        return quantize(x, float(q.scale[0]), int(q.zero_point[0]))
    return np.asarray(x, np.float32)


def run_litert(model_bytes: bytes, x: np.ndarray, resolver: str = "xnnpack") -> np.ndarray:
    it = litert_interpreter(model_bytes, resolver)
    inp = it.get_input_details()[0]
    out = it.get_output_details()[0]
    xs = prepare_inputs(model_bytes, x)
    results = []
    for i in range(xs.shape[0]):
        it.set_tensor(inp["index"], xs[i:i + 1].reshape(inp["shape"]))
        it.invoke()
        results.append(it.get_tensor(out["index"]).copy())
    return np.concatenate(results, axis=0) if results else np.zeros((0,))


def tflm_interpreter(model_bytes: bytes, arena_size: int | None = None):
    """A TFLite Micro host interpreter (arena default: generous, 16x model size + 64 KiB)."""
    from tflite_micro.python.tflite_micro import runtime

    read_model(model_bytes)
    arena = arena_size or (16 * len(model_bytes) + 65536)
    with quiet():
        try:
            return runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=arena)
        except (RuntimeError, ValueError) as err:
            raise PipelineError(
                f"TFLite Micro cannot load the model (arena {arena} bytes): "
                f"{(str(err).strip().splitlines() or ['error'])[0][:300]}") from None


def run_tflm(model_bytes: bytes, x: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    it = tflm_interpreter(model_bytes, arena_size)
    shape = [int(d) for d in it.get_input_details(0)["shape"]]
    xs = prepare_inputs(model_bytes, x)
    results = []
    with quiet():
        for i in range(xs.shape[0]):
            it.set_input(xs[i:i + 1].reshape(shape), 0)
            it.invoke()
            results.append(np.array(it.get_output(0), copy=True))
    return np.concatenate(results, axis=0) if results else np.zeros((0,))


def run_onnx(onnx_path, x_channels_first: np.ndarray) -> np.ndarray:
    """Float logits of an ONNX model on onnxruntime (batch 1, like the export)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    xs = np.asarray(x_channels_first, np.float32)
    return np.concatenate([sess.run(None, {name: xs[i:i + 1]})[0] for i in range(xs.shape[0])], axis=0)


def run_torch(module, x_channels_first: np.ndarray, batch: int = 256) -> np.ndarray:
    import torch

    from ..convert.core import eval_mode

    module = eval_mode(module)
    outs = []
    with torch.no_grad():
        for i in range(0, x_channels_first.shape[0], batch):
            outs.append(module(torch.from_numpy(np.asarray(x_channels_first[i:i + batch], np.float32))).numpy())
    return np.concatenate(outs, axis=0)
