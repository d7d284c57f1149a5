"""Iterative structured (channel) pruning with distillation fine-tuning between steps.

Every step removes the least important channels (L1 norm of the producing filters, or |BN gamma|)
from every prunable layer at one common ratio, chosen by bisection so the network keeps
1 - min(fraction, k * step) of its original parameters (or MACs) after step k; the channels are
physically removed (`slice_channels`), so the result is a smaller dense network whose spec rebuilds it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import PipelineError
from ..models import analysis
from ..models.spec import build_model
from ..models.surgery import channel_slots, importance, slice_channels, with_channels

MIN_CHANNELS = 2


def _cost(spec: dict, metric: str) -> int:
    m = build_model(spec)
    return analysis.count_params(m) if metric == "params" else analysis.count_macs(m, spec["input_shape"])


def sizes_for(spec: dict, original: list[int], keep_fraction: float, metric: str = "params") -> list[int]:
    """Channel counts (a common ratio of the original counts) whose cost is closest to
    keep_fraction x the original cost, found by bisection on the ratio."""
    full = _cost(with_channels(spec, original), metric)
    goal = keep_fraction * full

    def sizes(r: float) -> list[int]:
        return [max(MIN_CHANNELS, int(round(c * r))) for c in original]

    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if _cost(with_channels(spec, sizes(mid)), metric) > goal:
            hi = mid
        else:
            lo = mid
    best = min((sizes(lo), sizes(hi)), key=lambda s: abs(_cost(with_channels(spec, s), metric) - goal))
    return best


def prune_once(model: nn.Module, sizes: list[int], kind: str = "l1") -> nn.Module:
    scores = importance(model, kind)
    keep = []
    for s, n in zip(scores, sizes, strict=True):
        n = min(n, len(s))
        keep.append(torch.topk(s, n).indices.sort().values)
    return slice_channels(model, keep)


@dataclass
class PruneResult:
    model: nn.Module
    steps: list = field(default_factory=list)


def prune(model: nn.Module, fraction: float, step: float, kind: str = "l1", metric: str = "params",
          finetune: Callable[[nn.Module, int], nn.Module] | None = None, log=None) -> PruneResult:
    """Remove `fraction` of the model's params (or MACs) in steps of `step`, calling
    `finetune(model, step_index)` after each step (it returns the fine-tuned model)."""
    spec = model.spec
    if spec["family"] not in ("dscnn", "cnn1d", "mlp"):
        raise PipelineError(f"pruning supports the student families dscnn, cnn1d, mlp; not '{spec['family']}'")
    original = channel_slots(spec)
    base_params = analysis.count_params(model)
    base_macs = analysis.count_macs(model, spec["input_shape"])
    result = PruneResult(model)
    if fraction <= 0:
        return result
    k, removed = 0, 0.0
    while removed < fraction - 1e-9:
        k += 1
        removed = min(fraction, k * step)
        target = sizes_for(spec, original, 1 - removed, metric)
        current = channel_slots(model.spec)
        target = [min(t, c) for t, c in zip(target, current, strict=True)]
        model = prune_once(model, target, kind)
        if finetune is not None:
            model = finetune(model, k)
        p = analysis.count_params(model)
        m = analysis.count_macs(model, spec["input_shape"])
        info = {"step": k, "goal_removed": removed, "channels": channel_slots(model.spec), "params": p, "macs": m,
                "params_removed": 1 - p / base_params, "macs_removed": 1 - m / base_macs}
        result.steps.append(info)
        if log:
            log(f"  prune step {k}: channels {info['channels']}, params -{info['params_removed']:.1%}, "
                f"MACs -{info['macs_removed']:.1%}")
    result.model = model
    return result
