"""Adapters registry: target kind -> adapter module (a `base.TargetKind`). Registered explicitly
here, not on import; the set of kinds everywhere else comes from this registry."""
from __future__ import annotations

from types import ModuleType

from ..registry import Registry
from . import android, base, cortex_m, host, linux_arm


def _build() -> Registry[ModuleType]:
    registry: Registry[ModuleType] = Registry("target kind")
    for module in (linux_arm, android, cortex_m, host):
        base.check(module)
        registry.register(module.KIND, module)
    return registry


ADAPTERS = _build()
