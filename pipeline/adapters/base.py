"""The adapter contract: one module per target *kind* (linux-arm, android, cortex-m, host).

An adapter module satisfies `TargetKind` (checked when `pipeline.adapters.ADAPTERS` registers it,
explicitly, by its KIND). Everything kind-specific that other code needs is here, so no other
module keeps a list of kinds: the runtime label and op set (`pipeline inspect`), the host-side
accuracy the device must reproduce (the verify reference), and whether the kind flashes firmware.
A function that a kind does not support yet raises `NotImplementedYet` naming the issue.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..errors import NotImplementedYet


@runtime_checkable
class TargetKind(Protocol):
    KIND: str
    RUNTIME: str                 # the runtime a report and `pipeline inspect --target` name
    OPS: frozenset[str]          # TFLite builtin ops that runtime runs
    VERIFY_REFERENCE: str        # verify-stage accuracy key the on-device accuracy must equal
    # The fit check (`pipeline inspect --target`): True for microcontrollers, whose RAM need is the
    # TFLM arena and whose models must be int8 end to end; False: RAM is not the model's limit.
    ARENA_RAM: bool
    # `pipeline flash`: (target, firmware, device, options) -> dict; None: the kind has no firmware
    flash: Callable[..., Any] | None

    def package(self, ctx, inputs): ...          # the package stage: bundle / firmware / app project

    def bench(self, ctx, inputs): ...            # the bench stage: run on the device, bench.json

    def run_model(self, target, model, inputs, outputs, device, options): ...   # `pipeline run`


def check(module) -> None:
    """Raise TypeError naming what a module lacks to be a TargetKind (a programming error)."""
    missing = [a for a in ("KIND", "RUNTIME", "OPS", "VERIFY_REFERENCE", "ARENA_RAM", "flash", "package", "bench", "run_model")
               if not hasattr(module, a)]
    if missing:
        raise TypeError(f"adapter {module.__name__} lacks {', '.join(missing)} of the TargetKind contract")
    if not isinstance(module.OPS, frozenset) or not all(callable(getattr(module, f))
                                                        for f in ("package", "bench", "run_model")):
        raise TypeError(f"adapter {module.__name__}: OPS must be a frozenset, package/bench/run_model callables")


def not_yet(what: str, kind: str, issue: int):
    raise NotImplementedYet(f"{what} for target kind '{kind}' is not implemented yet (issue #{issue})")
