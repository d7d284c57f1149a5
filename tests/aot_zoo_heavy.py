"""Zoo models for the heavy op family (pipeline/aot/ops/heavy.py), merged into aot_zoo.ZOO: each is
checked bit-exact against tflite_micro on the host build and in QEMU (M4; M7 and M55 in the slow set)."""
from __future__ import annotations

from collections.abc import Callable

ZOO: dict[str, Callable] = {}
