"""The op check: a model with an op outside its target kind's op set (the adapter's `OPS`) fails at
conversion time, naming the op, its operator index and a hint, instead of failing on the device."""
from __future__ import annotations

from collections.abc import Iterable

from . import opsets
from .adapters import ADAPTERS
from .errors import PipelineError


def supported_ops(kind: str, engine: str | None = None) -> frozenset[str]:
    """The builtin ops the runtime of a target kind runs (unknown kind: one line, did you mean);
    for a kind with several engines (cortex-m: aot, tflm), the named engine's."""
    adapter = ADAPTERS.get(kind)
    return getattr(adapter, "ENGINE_OPS", {}).get(engine or "", adapter.OPS)


def runtime(kind: str, engine: str | None = None) -> str:
    adapter = ADAPTERS.get(kind)
    return getattr(adapter, "ENGINE_RUNTIMES", {}).get(engine or "", adapter.RUNTIME)


def hint(op: str, kind: str, engine: str | None = None) -> str:
    base = opsets.hint(op)
    others = [k for k in ADAPTERS if k != kind and op in ADAPTERS.get(k).OPS]
    if engine != "tflm" and op in getattr(ADAPTERS.get(kind), "ENGINE_OPS", {}).get("tflm", ()):
        base += "; TFLite Micro runs it: --engine tflm"
    if op not in supported_ops(kind, engine) and others:
        base += f"; or pick a {'/'.join(others)} target, whose runtime has it"
    return base


def unsupported(ops: Iterable[tuple[int, str]], kind: str, engine: str | None = None) -> list[tuple[int, str]]:
    """(operator index, op name) pairs the kind's runtime cannot run, in graph order."""
    allowed = supported_ops(kind, engine)
    return [(i, op) for i, op in ops if op not in allowed]


def check_ops(ops: Iterable[tuple[int, str]], kind: str, what: str = "model", engine: str | None = None) -> None:
    """Raise a one-line PipelineError for the first op the target kind cannot run.

    `ops` is (operator index, op name) in graph order, e.g. from
    `[(o.index, o.op) for o in read_model(b).operators]`.
    """
    bad = unsupported(ops, kind, engine)
    if not bad:
        return
    index, op = bad[0]
    others = sorted({o for _, o in bad[1:] if o != op})
    more = f" (also unsupported: {', '.join(others)})" if others else ""
    raise PipelineError(
        f"{what}: op {op} at operator #{index} is not supported on {kind} targets "
        f"({runtime(kind, engine)}){more}; hint: {hint(op, kind, engine)}"
    )
