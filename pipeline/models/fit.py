"""Fit to target: pick the widest/deepest student of the ladder that fits the target's budgets."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import PipelineError
from . import analysis
from .spec import LADDER, build_model, student_family, student_spec


@dataclass
class Budget:
    flash_bytes: int  # usable for the model (target flash x margin - runtime reserve)
    ram_bytes: int
    max_params: int | None = None  # e.g. teacher params / 10

    def describe(self) -> str:
        cap = f", <= {self.max_params} params" if self.max_params else ""
        return f"flash {self.flash_bytes} B, RAM {self.ram_bytes} B{cap}"


def budget_for(flash_kb: float, ram_kb: float, margin: float, reserve_flash_kb: float = 0.0,
               reserve_ram_kb: float = 0.0, max_params: int | None = None) -> Budget:
    return Budget(int((flash_kb * margin - reserve_flash_kb) * 1024),
                  int((ram_kb * margin - reserve_ram_kb) * 1024), max_params)


def candidates(input_shape, num_classes: int, family: str = "auto", width_multiplier="auto",
               depth="auto") -> list[dict]:
    """The ladder as specs, smallest first; a fixed width or depth keeps only that axis free."""
    family = student_family(input_shape, family)
    if width_multiplier != "auto" and depth != "auto":
        rungs = [(float(width_multiplier), int(depth))]
    elif width_multiplier != "auto":
        rungs = [(float(width_multiplier), d) for d in range(1, 9)]
    elif depth != "auto":
        rungs = sorted({w for w, _ in LADDER})
        rungs = [(w, int(depth)) for w in rungs]
    else:
        rungs = list(LADDER)
    specs = [student_spec(input_shape, num_classes, family, w, d) for w, d in rungs]
    return specs


def estimate(spec: dict) -> dict:
    model = build_model(spec)
    return analysis.summary(model, spec["input_shape"])


def fits(est: dict, budget: Budget) -> bool:
    return (est["est_flash_bytes"] <= budget.flash_bytes and est["est_ram_bytes"] <= budget.ram_bytes
            and (budget.max_params is None or est["params"] <= budget.max_params))


def search(input_shape, num_classes: int, budget: Budget, family: str = "auto", width_multiplier="auto",
           depth="auto", shrink: int = 0) -> tuple[dict, dict]:
    """(spec, estimates) of the largest fitting rung, `shrink` rungs smaller; PipelineError when none fits."""
    specs = candidates(input_shape, num_classes, family, width_multiplier, depth)
    scored = [(s, estimate(s)) for s in specs]
    scored.sort(key=lambda se: (se[1]["params"], se[1]["macs"]))
    fitting = [se for se in scored if fits(se[1], budget)]
    fixed = width_multiplier != "auto" and depth != "auto"
    if fixed:
        # An explicit choice is honoured; the estimates are recorded so a later check can flag it.
        spec, est = scored[0]
        return spec, {**est, "fits": bool(fitting), "ladder_index": 0, "ladder_size": 1, "shrink": 0}
    if not fitting:
        smallest = scored[0][1]
        raise PipelineError(
            f"no student fits the budget ({budget.describe()}): the smallest variant needs "
            f"{smallest['est_flash_bytes']} B flash, {smallest['est_ram_bytes']} B RAM, {smallest['params']} params"
        )
    index = len(fitting) - 1 - int(shrink)
    if index < 0:
        raise PipelineError(
            f"cannot shrink the student {shrink} rung(s): only {len(fitting)} variant(s) fit ({budget.describe()})"
        )
    spec, est = fitting[index]
    return spec, {**est, "fits": True, "ladder_index": scored.index((spec, est)), "ladder_size": len(scored),
                  "shrink": int(shrink)}
