"""The two records of the op table (see pipeline/aot/ops/__init__.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Kernel:
    """One C kernel as the generated model calls it.
    call: "unary" f(&p, in, out) / "binary" f(&p, a, b, out) / "list" f(&p, ins[], out) / "many"
    f(&p, in, outs[]) (one step writes every output of a multi-output op), the template's generic
    blocks; "custom": aot_model.c.j2 has its own block (conv, add, ...)."""
    name: str                   # Step.kernel
    func: str                   # C function
    struct: str | None          # C parameter struct type (op<N>_p), None for none
    source: str                 # firmware/kernels file
    call: str = "unary"
    inplace: bool = False       # may write its output over input 0 (reads element i before writing i)
    header: str = "aot_kernels.h"  # declares its struct and function (a new op: its own <source>.h)
    const_fields: bool = True   # its constants op<N>_<field> become struct fields .<field>
    fast: str = ""              # cores with a faster variant ("DSP", "DSP, Helium"); "" = portable C only


@dataclass(frozen=True)
class Op:
    """One TFLite builtin op: its lowering (Ctx -> Step | list[Step]) and the kernels it may emit."""
    name: str
    lower: Callable
    kernels: tuple[str, ...]
    int16: bool = False         # a 16x8 (int16 activation) variant exists
    many_outputs: bool = False  # SPLIT, UNPACK: one step per output

    @property
    def resolver(self) -> str:
        from .tflm import TFLM_OPS
        return TFLM_OPS[self.name]
