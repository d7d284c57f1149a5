"""Knowledge distillation objectives (Hinton et al. 2015; FitNets-style feature hints).

loss = alpha * T^2 * KL(p_t || p_s) + (1 - alpha) * CE(y, z_s) [+ hint_weight * MSE(adapter(f_s), f_t)]
with p = softmax(z / T). Several teachers: p_t is the mean of their softmax(z_t / T) (averaged soft
targets). Teacher outputs are computed once per training sample (no augmentation) and cached.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .augment import mixed_ce
from .loop import Objective, predict_logits


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor | list[torch.Tensor], labels: torch.Tensor,
            temperature: float, alpha: float, label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-sample distillation loss; `teacher_logits` may be a list (averaged soft targets)."""
    t = float(temperature)
    if isinstance(teacher_logits, torch.Tensor) and teacher_logits.dim() == student_logits.dim():
        teacher_logits = [teacher_logits]
    logs = torch.stack([F.log_softmax(z / t, dim=1) for z in teacher_logits])
    log_p_t = torch.logsumexp(logs, 0) - math.log(len(teacher_logits))  # log of the mean soft target
    log_p_s = F.log_softmax(student_logits / t, dim=1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(1)
    ce = F.cross_entropy(student_logits, labels, reduction="none", label_smoothing=label_smoothing)
    return alpha * t * t * kl + (1 - alpha) * ce


def _match(f: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    if tuple(f.shape[2:]) == tuple(size):
        return f
    return F.adaptive_avg_pool2d(f, size) if f.dim() == 4 else F.adaptive_avg_pool1d(f, size)


def hint_size(student_map: tuple[int, ...], teacher_map: tuple[int, ...]) -> tuple[int, ...]:
    """The spatial size both maps are pooled to: the smaller one per axis."""
    return tuple(min(a, b) for a, b in zip(student_map, teacher_map, strict=True))


class Distillation(Objective):
    """Student + (optional) hint adapter; teacher outputs come from per-sample caches."""

    def __init__(self, student: nn.Module, teacher_logits: torch.Tensor, temperature: float, alpha: float,
                 label_smoothing: float = 0.0, teacher_features: torch.Tensor | None = None,
                 hint_weight: float = 1.0, student_map_shape: tuple[int, ...] | None = None):
        super().__init__(student)
        # [n_teachers, N, K] logits on the training split; plain attributes (not in the state_dict)
        self.teacher_logits = teacher_logits if teacher_logits.dim() == 3 else teacher_logits[None]
        self.temperature, self.alpha, self.label_smoothing = temperature, alpha, label_smoothing
        self.teacher_features = teacher_features
        self.hint_weight = hint_weight
        self.adapter = None
        if teacher_features is not None:
            cs, ct = student_map_shape[0], teacher_features.shape[1]
            conv = nn.Conv2d if teacher_features.dim() == 4 else nn.Conv1d
            self.adapter = conv(cs, ct, 1)
            self.hint_size = tuple(teacher_features.shape[2:])

    def forward(self, x, y, idx):
        if self.adapter is None:
            logits = self.model(x)
        else:
            logits, feat = self.model.forward_features(x)
        zt = [self.teacher_logits[k, idx] for k in range(self.teacher_logits.shape[0])]
        loss = kd_loss(logits, zt, y, self.temperature, self.alpha, self.label_smoothing)
        if self.adapter is not None:
            hint = _match(self.adapter(feat), self.hint_size)
            loss = loss + self.hint_weight * ((hint - self.teacher_features[idx]) ** 2).flatten(1).mean(1)
        return loss


@torch.no_grad()
def teacher_outputs(teachers: list[nn.Module], x: torch.Tensor, hint_from: nn.Module | None = None,
                    student_map: tuple[int, ...] | None = None, batch_size: int = 512):
    """(logits [n_teachers, N, K], hint features [N, C, *size] or None) — computed once, eval mode."""
    logits = torch.stack([predict_logits(t, x, batch_size) for t in teachers])
    feats = None
    if hint_from is not None:
        hint_from.eval()
        parts = [hint_from.forward_features(x[i:i + batch_size])[1] for i in range(0, len(x), batch_size)]
        f = torch.cat(parts)
        feats = _match(f, hint_size(tuple(student_map[1:]), tuple(f.shape[2:])))
    return logits, feats


@torch.no_grad()
def feature_map_shape(model: nn.Module, input_shape) -> tuple[int, ...]:
    was = model.training
    model.eval()
    p = next(model.parameters())
    _, f = model.forward_features(torch.zeros((1, *input_shape), device=p.device))
    model.train(was)
    return tuple(f.shape[1:])


class FunctionMatching(Objective):
    """Consistent-view distillation (Beyer et al. 2022): each step draws one augmented view per
    sample (`augment`), runs the teacher(s) on that same view (eval mode, no grad, batched: one
    forward per teacher per batch) and the student on it, and applies `kd_loss` with the mixed
    labels for the CE part. Nothing is cached per sample: random views have no fixed logits.
    Hints (FitNets) are computed on the same view from the first teacher's feature map."""

    def __init__(self, student: nn.Module, teachers: list[nn.Module], augment, temperature: float, alpha: float,
                 label_smoothing: float = 0.0, hint_weight: float = 0.0,
                 student_map_shape: tuple[int, ...] | None = None, teacher_map_shape: tuple[int, ...] | None = None):
        super().__init__(student)
        # A plain list: the teachers are neither trained, nor switched to train mode, nor checkpointed.
        self.teachers = list(teachers)
        self.augment = augment
        self.temperature, self.alpha, self.label_smoothing = temperature, alpha, label_smoothing
        self.hint_weight = hint_weight
        self.adapter = None
        if hint_weight and student_map_shape is not None and teacher_map_shape is not None and len(student_map_shape) >= 2:
            conv = nn.Conv2d if len(student_map_shape) == 3 else nn.Conv1d
            self.adapter = conv(student_map_shape[0], teacher_map_shape[0], 1)
            self.hint_size = hint_size(tuple(student_map_shape[1:]), tuple(teacher_map_shape[1:]))

    def forward(self, x, y, idx):
        view, perm, lam = self.augment(x) if self.augment is not None else (x, None, None)
        with torch.no_grad():
            t_feat = None
            zt = []
            for k, t in enumerate(self.teachers):
                t.eval()
                if k == 0 and self.adapter is not None:
                    z, t_feat = t.forward_features(view)
                    t_feat = _match(t_feat, self.hint_size)
                else:
                    z = t(view)
                zt.append(z)
        if self.adapter is None:
            logits = self.model(view)
        else:
            logits, feat = self.model.forward_features(view)
        loss = kd_loss(logits, zt, y, self.temperature, self.alpha, self.label_smoothing)
        if perm is not None and self.alpha < 1:
            # kd_loss's CE term used the unmixed labels: swap it for the mixed-label CE
            ce = F.cross_entropy(logits, y, reduction="none", label_smoothing=self.label_smoothing)
            loss = loss + (1 - self.alpha) * (mixed_ce(logits, y, perm, lam, self.label_smoothing) - ce)
        if self.adapter is not None:
            hint = _match(self.adapter(feat), self.hint_size)
            loss = loss + self.hint_weight * ((hint - t_feat) ** 2).flatten(1).mean(1)
        return loss


class AugmentedCrossEntropy(Objective):
    """The scratch baseline under the same views as `FunctionMatching` (mixed labels for mixup),
    so the comparison measures the teacher, not the augmentation."""

    def __init__(self, model: nn.Module, augment, label_smoothing: float = 0.0):
        super().__init__(model)
        self.augment, self.label_smoothing = augment, label_smoothing

    def forward(self, x, y, idx):
        view, perm, lam = self.augment(x) if self.augment is not None else (x, None, None)
        return mixed_ce(self.model(view), y, perm, lam, self.label_smoothing)
