"""Quantization-aware training: int8 fake quantization with straight-through gradients.

Mirrors what the TFLite int8 converter does to a BN-folded float model:
- weights: per-channel (output axis) symmetric int8 in [-127, 127], scale = max|w| / 127;
- activations: per-tensor asymmetric int8 in [-128, 127] at the model input, after every ReLU
  (conv -> BN -> ReLU fuses into one op), at the classifier input (after MEAN) and at its output.
`export` returns a plain float module (BN folded, weights exactly on their int8 grid) that the
convert stage's PTQ path turns into full-int8 TFLite with the same weights.
`simulate_int8` scores a float model the same way (PTQ calibrated by min/max on calibration data).
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..models.spec import build_model
from ..models.surgery import fold_batchnorm
from .loop import Split, evaluate


class WeightFakeQuant(nn.Module):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return fake_quant_weight(w)


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    scale = w.detach().abs().flatten(1).amax(1).clamp_min(1e-8) / 127.0
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale.float(), zero, 0, -127, 127)


class ActFakeQuant(nn.Module):
    """Per-tensor int8 fake quant with a min/max observer (EMA while training)."""

    def __init__(self, momentum: float = 0.05):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(0.0))
        self.register_buffer("initialised", torch.tensor(False))
        self.calibrating = False  # absolute min/max (PTQ calibration), no quantization
        self.enabled = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating or self.training:
            lo, hi = x.detach().min(), x.detach().max()
            if not bool(self.initialised):
                self.lo.copy_(lo), self.hi.copy_(hi), self.initialised.fill_(True)
            elif self.calibrating:
                self.lo.copy_(torch.minimum(self.lo, lo)), self.hi.copy_(torch.maximum(self.hi, hi))
            else:
                self.lo.mul_(1 - self.momentum).add_(lo, alpha=self.momentum)
                self.hi.mul_(1 - self.momentum).add_(hi, alpha=self.momentum)
        if self.calibrating or not self.enabled or not bool(self.initialised):
            return x
        lo, hi = torch.clamp(self.lo, max=0.0), torch.clamp(self.hi, min=0.0)
        scale = ((hi - lo) / 255.0).clamp_min(1e-8)
        zero = torch.clamp(torch.round(-128 - lo / scale), -128, 127).to(torch.int32)
        return torch.fake_quantize_per_tensor_affine(x, scale.reshape(1).float(), zero.reshape(1), -128, 127)


def prepare(model: nn.Module) -> nn.Module:
    """A BN-folded copy of `model` with fake quantization attached (trainable)."""
    q = fold_batchnorm(copy.deepcopy(model)) if model.spec.get("bn", True) else copy.deepcopy(model)
    q.train()
    for m in q.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            parametrize.register_parametrization(m, "weight", WeightFakeQuant())
    acts = nn.ModuleList()
    head = q.head

    def add() -> ActFakeQuant:
        fq = ActFakeQuant()
        acts.append(fq)
        return fq

    fq_in = add()
    q.register_forward_pre_hook(lambda m, inp: (fq_in(inp[0]),))
    for m in list(q.modules()):
        if isinstance(m, nn.ReLU):
            fq = add()
            m.register_forward_hook(lambda mod, inp, out, fq=fq: fq(out))
    fq_pool, fq_out = add(), add()
    head.register_forward_pre_hook(lambda m, inp: (fq_pool(inp[0]),))
    head.register_forward_hook(lambda m, inp, out: fq_out(out))
    q.qat_observers = acts  # registered submodule: moves with .to(), saved in checkpoints
    return q


def observers(q: nn.Module) -> list[ActFakeQuant]:
    return list(q.qat_observers)


@torch.no_grad()
def calibrate(q: nn.Module, x: torch.Tensor, batch_size: int = 256) -> None:
    """Absolute min/max of every activation over `x` (what the TFLite converter's calibration does)."""
    obs = observers(q)
    for o in obs:
        o.calibrating = True
        o.initialised.fill_(False)
    q.eval()
    for i in range(0, len(x), batch_size):
        q(x[i:i + batch_size])
    for o in obs:
        o.calibrating = False


@torch.no_grad()
def export(q: nn.Module) -> nn.Module:
    """The plain float model (spec `"bn": false`) with the fake-quantized weights baked in."""
    spec = copy.deepcopy(q.spec)
    spec["qat"] = True
    new = build_model(spec)
    src = dict(q.named_modules())
    for name, m in new.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            s = src[name]
            m.weight.copy_(s.weight.detach().cpu())  # through the parametrization: on the int8 grid
            if m.bias is not None:
                m.bias.copy_(s.bias.detach().cpu())
    new.eval()
    return new


def simulate_int8(model: nn.Module, calib_x: torch.Tensor, test: Split) -> float:
    """Accuracy of `model` after simulated full-int8 PTQ (per-channel weights, min/max activations)."""
    q = prepare(model).to(test.x.device)
    calibrate(q, calib_x.to(test.x.device))
    q.eval()
    return evaluate(q, test)[0]
