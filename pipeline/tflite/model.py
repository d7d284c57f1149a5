"""The parsed model: plain frozen dataclasses, numpy arrays for constant data (read-only)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Quantization:
    scale: np.ndarray            # float32, one per channel (or one)
    zero_point: np.ndarray       # int64, same length as scale (or empty)
    quantized_dimension: int

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str                   # numpy-style name: "int8", "float32", "int32", ...
    buffer: int                  # index into the model's buffers (0 = no data)
    data: np.ndarray | None      # constant data shaped like `shape`, None for activations
    quantization: Quantization | None
    is_variable: bool = False

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= max(d, 0)
        return n

    @property
    def is_constant(self) -> bool:
        return self.data is not None


@dataclass(frozen=True)
class Operator:
    index: int
    op: str                      # "CONV_2D", ... ; custom ops: "CUSTOM"
    opcode: int                  # builtin code
    version: int
    inputs: tuple[int, ...]      # tensor indices, -1 = optional input absent
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)
    options_type: str | None = None
    custom_code: str | None = None


@dataclass(frozen=True)
class TFLiteModel:
    version: int
    description: str
    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    subgraph_count: int
    sha256: str
    size_bytes: int

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    @property
    def op_names(self) -> tuple[str, ...]:
        """Distinct ops in first-use order."""
        return tuple(dict.fromkeys(o.op for o in self.operators))
