"""Host proof: compile the generated C + kernels with the host gcc and run it via ctypes."""
from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from ...errors import PipelineError
from .codegen import FIRMWARE_DIR, KERNELS
from .compiler import Compiled, kernel_sources, write_sources

# -ffp-contract=off: no fused multiply-add, so float edges (QUANTIZE/DEQUANTIZE) round like TFLM.
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fPIC", "-shared"]
_TRACE_FN = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)


def build_host_lib(compiled: Compiled, work_dir: Path) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise PipelineError("no host C compiler (gcc) on PATH: install gcc to run the AOT host check")
    src = write_sources(compiled, Path(work_dir) / f"src-{compiled.model.sha256[:16]}")
    lib = Path(work_dir) / f"libaot-{compiled.model.sha256[:16]}.so"
    host = FIRMWARE_DIR / "host"
    cmd = [cc, *CFLAGS, f"-I{src}", f"-I{KERNELS}", f"-I{host}", "-include", str(host / "aot_trace.h"),
           str(src / "aot_model.c"), str(host / "aot_trace.c"), *map(str, kernel_sources()), "-lm",
           "-o", str(lib)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        first = (res.stderr.strip().splitlines() or ["?"])[0]
        raise PipelineError(f"host compile of the generated C failed: {first}")
    return lib


class HostModel:
    """The generated engine loaded in this process."""

    def __init__(self, compiled: Compiled, lib: Path):
        self.compiled = compiled
        self._lib = ctypes.CDLL(str(lib))
        for name in ("aot_input", "aot_output"):
            getattr(self._lib, name).restype = ctypes.c_void_p
        for name in ("aot_input_bytes", "aot_output_bytes"):
            getattr(self._lib, name).restype = ctypes.c_size_t
        self._cb_slot = _TRACE_FN.in_dll(self._lib, "aot_trace_cb")

    def _io(self, kind: str, i: int) -> tuple[int, int]:
        return getattr(self._lib, f"aot_{kind}")(i), getattr(self._lib, f"aot_{kind}_bytes")(i)

    def run(self, inputs: list[np.ndarray], trace: bool = False):
        """Outputs as arrays shaped/typed like the model outputs; with trace, also {op: bytes}."""
        m = self.compiled.model
        if len(inputs) != len(m.inputs):
            raise PipelineError(f"the model has {len(m.inputs)} inputs, got {len(inputs)}")
        for k, (x, t) in enumerate(zip(inputs, m.inputs)):
            spec = m.tensors[t]
            x = np.ascontiguousarray(x, dtype=spec.dtype)
            ptr, n = self._io("input", k)
            if x.nbytes != n:
                raise PipelineError(f"input {k} has {x.nbytes} bytes, the model expects {n}")
            ctypes.memmove(ptr, x.ctypes.data, n)
        seen: dict[int, bytes] = {}
        cb = _TRACE_FN(lambda op, p, n: seen.__setitem__(op, ctypes.string_at(p, n)))
        if trace:
            ctypes.memmove(ctypes.addressof(self._cb_slot), ctypes.byref(cb), ctypes.sizeof(cb))
        try:
            self._lib.aot_invoke()
        finally:
            ctypes.memset(ctypes.addressof(self._cb_slot), 0, ctypes.sizeof(cb))
        outs = []
        for k, t in enumerate(m.outputs):
            spec = m.tensors[t]
            ptr, n = self._io("output", k)
            outs.append(np.frombuffer(ctypes.string_at(ptr, n), dtype=spec.dtype).reshape(spec.shape).copy())
        return (outs, seen) if trace else outs


def prove_host_equality(compiled: Compiled, data: bytes, work_dir: Path, samples=None, seeds: int = 5) -> dict:
    """The per-build proof: the generated C on the host vs tflite_micro, operator by operator.
    Raises PipelineError naming the first differing operator; returns what was compared (there is
    no "passed" flag: a difference never returns)."""
    from ..tflm.reference import random_inputs, tflm_run
    samples = samples if samples is not None else [random_inputs(compiled.model, s) for s in range(seeds)]
    host = HostModel(compiled, build_host_lib(compiled, work_dir))
    for k, xs in enumerate(samples):
        _, traced = host.run(xs, trace=True)
        _, tensors = tflm_run(compiled.model, data, xs, all_tensors=True)
        for s in compiled.steps:
            t = compiled.model.tensors[s.outputs[0]]
            got = np.frombuffer(traced[s.index], dtype=t.dtype)
            if not np.array_equal(got, tensors[s.outputs[0]].reshape(-1)):
                raise PipelineError(f"AOT engine differs from tflite_micro at operator {s.index} ({s.op}) "
                                    f"on test vector {k}: please report this model")
    return {"vectors": len(samples), "operators": len(compiled.steps)}
