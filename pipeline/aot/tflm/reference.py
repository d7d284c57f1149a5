"""The golden reference: the tflite_micro host interpreter (TFLM reference kernels)."""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from ...errors import PipelineError
from ...tflite import TFLiteModel


def _runtime():
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as err:
        raise PipelineError(f"tflite_micro is not installed ({err}); pip install tflite-micro") from None
    return runtime


def tflm_run(model: TFLiteModel, data: bytes, inputs: list[np.ndarray], all_tensors: bool = False):
    """Outputs of one inference; with all_tensors also {tensor index: array} of every tensor."""
    rt = _runtime()
    cfg = rt.InterpreterConfig.kPreserveAllTensors if all_tensors else rt.InterpreterConfig.kAllocationRecording
    it = rt.Interpreter.from_bytes(bytes(data), intrepreter_config=cfg)
    for k, x in enumerate(inputs):
        it.set_input(np.asarray(x, dtype=model.tensors[model.inputs[k]].dtype).reshape(
            model.tensors[model.inputs[k]].shape), k)
    it.invoke()
    outs = [np.array(it.get_output(k)) for k in range(len(model.outputs))]
    if not all_tensors:
        return outs
    tensors = {}
    for op in model.operators:
        for t in op.outputs:
            d = it.GetTensor(t, 0)
            tensors[t] = np.array(d["tensor_data"]).reshape(-1)
    return outs, tensors


def random_inputs(model: TFLiteModel, seed: int) -> list[np.ndarray]:
    """Seeded inputs covering the full int8 range (float inputs: +-3 sigma of N(0,1))."""
    rng = np.random.default_rng(seed)
    xs = []
    for t in model.inputs:
        spec = model.tensors[t]
        if spec.dtype == "int8":
            xs.append(rng.integers(-128, 128, spec.shape, dtype=np.int8))
        elif spec.dtype == "float32":
            xs.append(rng.normal(0, 1, spec.shape).astype(np.float32))
        else:
            raise PipelineError(f"input '{spec.name}' has type {spec.dtype}; only int8 and float32 inputs are supported")
    return xs


def load_bytes(path: Path) -> bytes:
    return Path(path).read_bytes()


def tflm_arena_bytes(data: bytes) -> int:
    """The smallest arena tflite_micro accepts for this model on this host (x86-64): N constructs and
    invokes, N-1 does not. The search runs in a child process (pipeline.tflm_arena.tflm_min_arena):
    for some too-small arenas the binding segfaults instead of raising (the MLPerf Tiny AD
    autoencoder did, in-process, and took the whole `bench` down with it)."""
    from ...tflm_arena import tflm_min_arena

    return tflm_min_arena(bytes(data))


@contextlib.contextmanager
def _quiet_stderr():
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
