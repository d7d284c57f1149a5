"""The AOT engine's op table: one `Op` per TFLite builtin op and one `Kernel` per C kernel.

Everything that used to be a hand-kept list is derived from here:
- the ops the engine lowers (`TABLE`; pipeline.opsets.CORTEX_M_OPS is its key set),
- the TFLite Micro resolver of the exported TFLM project (each op's `resolver`, looked up in
  `tflm.TFLM_OPS` so a method name is written once),
- the generated C's kernel dispatch (`KERNELS`: C function, parameter struct, call shape), read by
  firmware/templates/aot_model.c.j2,
- the memory plan's in-place rule for simple kernels (`Kernel.inplace`),
- the op-coverage table in the README (`python -m pipeline.aot.ops`).

Adding an op: one `Op` entry in the family module that lowers it (or a new module added to
`_FAMILIES`), its kernel file in firmware/kernels/ with a `Kernel` entry, and its tests.
"""
from __future__ import annotations

from typing import Callable

from . import activation, arith, binary, conv, heavy, movement, pool, quantize, shape, unary
from .spec import Kernel, Op
from .tflm import TFLM_INT8_OPS, TFLM_OPS

__all__ = ["Kernel", "Op", "TABLE", "KERNELS", "unsupported_hint"]

# The op families, each a module with `OPS` and `KERNELS` tuples. Listed here, not registered by
# import side effect, so the table is the same whatever was imported first.
_FAMILIES = (conv, pool, arith, activation, shape, quantize, unary, movement, binary, heavy)


def _index(items, key: Callable, what: str) -> dict:
    out: dict = {}
    for item in items:
        k = key(item)
        if k in out:
            raise ValueError(f"{what} {k!r} is defined twice (pipeline/aot/ops)")
        out[k] = item
    return out


TABLE: dict[str, Op] = _index((op for f in _FAMILIES for op in f.OPS), lambda o: o.name, "op")
KERNELS: dict[str, Kernel] = _index((k for f in _FAMILIES for k in f.KERNELS), lambda k: k.name, "kernel")


def _check() -> None:
    for op in TABLE.values():
        if op.name not in TFLM_OPS:
            raise ValueError(f"op {op.name} has no TFLite Micro resolver method (pipeline/aot/ops/tflm.py)")
        for k in op.kernels:
            if k not in KERNELS:
                raise ValueError(f"op {op.name} names kernel {k!r}, which no family defines")


_check()


def unsupported_hint(op: str) -> str:
    """Why an op has no lowering and what to do: for one TFLite Micro runs, its engine."""
    if op in TFLM_INT8_OPS:
        return "TFLite Micro has an int8 kernel for it: build with --engine tflm"
    if op in TFLM_OPS:
        return "TFLite Micro runs it only on float or other non-int8 tensors"
    return "TFLite Micro has no kernel for it either"
