"""Adapters registry: target kind -> adapter module. Registered explicitly here, not on import."""
from __future__ import annotations

from types import ModuleType

from ..registry import Registry
from . import android, cortex_m, host, linux_arm


def _build() -> Registry[ModuleType]:
    registry: Registry[ModuleType] = Registry("target kind")
    for module in (linux_arm, android, cortex_m, host):
        registry.register(module.KIND, module)
    return registry


ADAPTERS = _build()
