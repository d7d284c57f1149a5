"""PyTorch (channels-first) <-> TFLite (channels-last) array layouts."""
from __future__ import annotations

import numpy as np


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, H, W, C]; [N, C, L] -> [N, L, C]; [N, F] unchanged. float32, contiguous."""
    x = np.asarray(x, np.float32)
    if x.ndim >= 3:
        x = np.moveaxis(x, 1, -1)
    return np.ascontiguousarray(x)


def channels_last_shape(input_shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Channels-first per-sample shape (C, H, W) / (C, L) -> the TFLite input shape with batch 1."""
    s = tuple(int(d) for d in input_shape)
    if len(s) >= 2:
        s = (*s[1:], s[0])
    return (1, *s)
