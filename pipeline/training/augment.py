"""Batch augmentation for function matching (Beyer et al. 2022): one random view per sample that
the teacher and the student both see, so the student matches the teacher's *function* on points
around and between the training samples, not only its answers on the few training points.

Views: a random shift (images: up to `shift` pixels per axis, zero padded; signals: up to `shift`
samples), amplitude scaling by U(1 - scale, 1 + scale), additive Gaussian noise of std `noise` (the
data are standardised, so std 1 = the signal's own spread) and mixup with a Beta(mixup, mixup)
weight. Everything is drawn from torch's global generator (seeded by `seed_everything`) on the
batch's device; no per-sample Python loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Augment:
    shift: int = 1
    scale: float = 0.0
    noise: float = 0.0
    mixup: float = 0.0  # Beta concentration; 0 = no mixup

    @property
    def enabled(self) -> bool:
        return bool(self.shift or self.scale or self.noise or self.mixup)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """(view, partner index or None, mixing weight per sample or None)."""
        if self.shift:
            x = random_shift(x, self.shift)
        if self.scale:
            s = 1 + self.scale * (2 * torch.rand((len(x),) + (1,) * (x.dim() - 1), device=x.device) - 1)
            x = x * s
        if self.noise:
            x = x + self.noise * torch.randn_like(x)
        perm = lam = None
        if self.mixup:
            perm = torch.randperm(len(x), device=x.device)
            lam = torch.distributions.Beta(self.mixup, self.mixup).sample((len(x),)).to(x.device)
            # max(lam, 1 - lam): the view stays closer to its own sample, so the labels' CE term
            # (weighted the same way) stays meaningful.
            lam = torch.maximum(lam, 1 - lam)
            w = lam.view((-1,) + (1,) * (x.dim() - 1))
            x = w * x + (1 - w) * x[perm]
        return x, perm, lam


def random_shift(x: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Shift every sample by its own random offset in [-max_shift, max_shift] along each spatial
    axis, zero padded (pad once, then gather the crop with one index tensor per axis)."""
    m = int(max_shift)
    n = len(x)
    if x.dim() == 3:  # [N, C, L]
        length = x.shape[2]
        xp = F.pad(x, (m, m))
        off = torch.randint(0, 2 * m + 1, (n, 1), device=x.device)
        idx = off + torch.arange(length, device=x.device)[None]  # [N, L]
        return torch.gather(xp, 2, idx[:, None, :].expand(-1, x.shape[1], -1))
    if x.dim() == 4:  # [N, C, H, W]
        h, w = x.shape[2:]
        xp = F.pad(x, (m, m, m, m))
        oy = torch.randint(0, 2 * m + 1, (n, 1), device=x.device) + torch.arange(h, device=x.device)[None]
        ox = torch.randint(0, 2 * m + 1, (n, 1), device=x.device) + torch.arange(w, device=x.device)[None]
        rows = torch.gather(xp, 2, oy[:, None, :, None].expand(-1, x.shape[1], -1, xp.shape[3]))
        return torch.gather(rows, 3, ox[:, None, None, :].expand(-1, x.shape[1], h, -1))
    return x


def mixed_ce(logits: torch.Tensor, y: torch.Tensor, perm: torch.Tensor | None, lam: torch.Tensor | None,
             label_smoothing: float = 0.0) -> torch.Tensor:
    """Per-sample cross-entropy against the mixed labels (lam * y + (1 - lam) * y[perm])."""
    ce = F.cross_entropy(logits, y, reduction="none", label_smoothing=label_smoothing)
    if perm is None:
        return ce
    ce2 = F.cross_entropy(logits, y[perm], reduction="none", label_smoothing=label_smoothing)
    return lam * ce + (1 - lam) * ce2
