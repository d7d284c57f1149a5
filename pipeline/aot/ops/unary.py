"""Elementwise int8 -> int8 ops whose output is a function of the input code alone (activations, ABS, NEG, ...)."""
from __future__ import annotations

from .spec import Kernel, Op

KERNELS: tuple[Kernel, ...] = ()
OPS: tuple[Op, ...] = ()
