"""Elementwise binary ops, comparisons, selection and reductions."""
from __future__ import annotations

from .spec import Kernel, Op

KERNELS: tuple[Kernel, ...] = ()
OPS: tuple[Op, ...] = ()
