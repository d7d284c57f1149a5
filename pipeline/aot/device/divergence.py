"""Which operator first went wrong on the device: the firmware's `trace` checksums every
operator's output as it is written, the tflite_micro host interpreter keeps every tensor
(kPreserveAllTensors); the first step whose checksum differs is named, with its byte counts."""
from __future__ import annotations

import zlib

import numpy as np

from ..compile.compiler import Compiled
from .protocol import Device
from ..tflm.reference import tflm_run


def first_differing_operator(compiled: Compiled, data: bytes, xs: list[np.ndarray], dev: Device) -> str:
    """One phrase for the failure line: 'first differing operator 3 (CONV_2D): 17 of 1024 bytes'."""
    m = compiled.model
    for k, x in enumerate(xs):
        dev.load_input(k, np.ascontiguousarray(x).tobytes())
    seen = dev.trace()
    _, tensors = tflm_run(m, data, xs, all_tensors=True)
    for s in compiled.steps:
        t = m.tensors[s.outputs[0]]
        want = np.ascontiguousarray(tensors[s.outputs[0]]).astype(t.dtype).tobytes()
        if seen.get(s.index) == (len(want), zlib.crc32(want)):
            continue
        got = dev.trace_output(s.index)   # the bytes themselves only for the operator that differs
        differ = sum(a != b for a, b in zip(got, want)) + abs(len(got) - len(want))
        return f"first differing operator {s.index} ({s.op}): {differ} of {len(want)} bytes"
    return "every operator's output matches on a second run (the difference did not repeat)"
