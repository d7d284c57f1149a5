"""Data-movement ops: transposes, slices, splits, gathers, resizes by index, space/depth/batch reshuffles."""
from __future__ import annotations

from .spec import Kernel, Op

KERNELS: tuple[Kernel, ...] = ()
OPS: tuple[Op, ...] = ()
