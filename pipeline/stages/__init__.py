"""The build chain: stage modules in order, registered explicitly (not by import side effect)."""
from __future__ import annotations

from types import ModuleType

from ..registry import Registry
from . import bench, compress, convert, data, distill, package, report, teacher, verify

# data -> teacher -> student/distill -> compress -> convert -> verify -> package -> bench -> report
CHAIN: tuple[ModuleType, ...] = (data, teacher, distill, compress, convert, verify, package, bench, report)
# Skipped when the user brings a model (`pipeline build --model PATH`).
TRAINING = ("teacher", "distill", "compress")


def _build() -> Registry[ModuleType]:
    registry: Registry[ModuleType] = Registry("stage")
    for module in CHAIN:
        registry.register(module.NAME, module)
    return registry


STAGES = _build()
