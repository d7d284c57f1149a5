"""Where TFLite Micro and LiteRT's reference kernels part: the first operator whose output differs.

Both interpreters keep every intermediate tensor (TFLM `kPreserveAllTensors`, LiteRT
`experimental_preserve_all_tensors`); on an input whose final outputs differ, operators are
compared in graph order and the first whose output tensor is not identical is the one that
differs. (Ranking layers by SNR names the layer that loses most to quantization, not the one
where the two runtimes disagree: issue #23's U-Net named op #0 CONV_2D, identical on both.)
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..convert.quiet import quiet
from ..tflite import read_model
from .runtimes import litert_interpreter, prepare_inputs

_MISSING = re.compile(r"Didn't find op for builtin opcode '([A-Z0-9_]+)'")


def tflm_missing_ops(model_bytes: bytes, log_path=None) -> list[str]:
    """Ops TFLite Micro has no kernel for, from what its loader writes (C-level stdout/stderr)
    while failing; the text is kept in `log_path` (a temporary file when None)."""
    import tempfile

    from tflite_micro.python.tflite_micro import runtime

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(log_path) if log_path is not None else Path(tmp) / "tflm.log"
        with quiet(log):
            try:
                runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=16 * len(model_bytes) + 65536)
                return []
            except (RuntimeError, ValueError):
                pass
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return []
    return sorted(set(_MISSING.findall(text)))


def first_differing_op(model_bytes: bytes, x_model_layout: np.ndarray, q_tflm: np.ndarray,
                       q_ref: np.ndarray) -> dict | None:
    """{"op_index", "op", "sample", "elements_differing"} for the first operator whose output
    differs between TFLM and LiteRT-ref on the first sample whose final outputs differ."""
    from tflite_micro.python.tflite_micro import runtime

    diff = np.flatnonzero((q_tflm != q_ref).reshape(len(q_tflm), -1).any(axis=1))
    if not diff.size:
        return None
    i = int(diff[0])
    model = read_model(model_bytes)
    xq = prepare_inputs(model_bytes, x_model_layout[i:i + 1])
    ref = litert_interpreter(model_bytes, "ref", preserve_all_tensors=True)
    inp = ref.get_input_details()[0]
    ref.set_tensor(inp["index"], xq.reshape(inp["shape"]))
    ref.invoke()
    with quiet():
        tflm = runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=16 * len(model_bytes) + 65536,
                                              intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
        tflm.set_input(xq.reshape([int(d) for d in tflm.get_input_details(0)["shape"]]), 0)
        tflm.invoke()
    for op in model.operators:
        for t in op.outputs:
            a = np.asarray(ref.get_tensor(t)).reshape(-1)
            b = np.asarray(tflm.GetTensor(t, 0)["tensor_data"]).reshape(-1)
            if a.shape != b.shape or np.any(a != b):
                n = int(np.sum(a != b)) if a.shape == b.shape else int(a.size)
                return {"op_index": op.index, "op": op.op, "sample": i, "elements_differing": n}
    return None
