"""Ops with weights or state beyond a GEMM call: TRANSPOSE_CONV, BATCH_MATMUL, RESIZE_BILINEAR, L2_NORMALIZATION, LOG_SOFTMAX, SVDF, LSTM."""
from __future__ import annotations

from .spec import Kernel, Op

KERNELS: tuple[Kernel, ...] = ()
OPS: tuple[Op, ...] = ()
