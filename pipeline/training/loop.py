"""One training loop for teachers, students, fine-tuning and QAT.

`fit` trains an `Objective` (a module holding the model and returning per-sample losses) with
AdamW or SGD + per-step cosine decay, early stopping on validation accuracy (best weights are
restored), deterministic seeded data order, a checkpoint after every epoch (atomic) so an
interrupted run resumes at the next epoch, and DDP when `dist` says so (see `dist.py`).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..atomic import atomic_path
from .dist import DistInfo, restore_batchnorm, use_global_batchnorm

CHECKPOINT = "last.pt"


@dataclass(frozen=True)
class TrainSettings:
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    patience: int | None = 8  # epochs without val improvement before stopping; None: never
    seed: int = 0
    warmup_epochs: float = 0.0
    # Fine-tuning (QAT): the starting weights compete as "epoch 0"; if no epoch beats them on the
    # validation split they are what comes back.
    keep_initial: bool = False


@dataclass
class FitResult:
    epochs_run: int
    best_epoch: int
    best_val_acc: float
    wall_s: float
    history: list = field(default_factory=list)
    resumed_from: int = 0
    stopped_early: bool = False


class Objective(nn.Module):
    """Wraps `model`; `forward(x, y, idx)` returns per-sample losses (shape [batch])."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model


class CrossEntropy(Objective):
    def __init__(self, model: nn.Module, label_smoothing: float = 0.0):
        super().__init__(model)
        self.label_smoothing = label_smoothing

    def forward(self, x, y, idx):
        return F.cross_entropy(self.model(x), y, reduction="none", label_smoothing=self.label_smoothing)


@dataclass
class Split:
    x: torch.Tensor
    y: torch.Tensor


def as_split(x: np.ndarray, y: np.ndarray, device: torch.device) -> Split:
    return Split(torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32, device=device),
                 torch.as_tensor(np.ascontiguousarray(y), dtype=torch.long, device=device))


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2 ** 32))


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 1024) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) in eval mode."""
    was = model.training
    model.eval()
    correct, loss = 0, 0.0
    for i in range(0, len(split.y), batch_size):
        logits = model(split.x[i:i + batch_size])
        yb = split.y[i:i + batch_size]
        correct += int((logits.argmax(1) == yb).sum())
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
    model.train(was)
    n = max(1, len(split.y))
    return correct / n, loss / n


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    was = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was)
    return out


def global_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[torch.Tensor]:
    """The epoch's global batches: a permutation seeded by (seed, epoch), independent of world size.
    A last batch smaller than half a batch is dropped (it would be a noisy step and, under DDP, could
    leave a rank without samples)."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    perm = torch.randperm(n, generator=g)
    batches = list(torch.split(perm, batch_size))
    if len(batches) > 1 and len(batches[-1]) < max(1, batch_size // 2):
        batches.pop()
    return batches


def fingerprint(settings: TrainSettings, spec: dict | None, train: Split, extra: str = "") -> str:
    h = hashlib.sha256()
    h.update(json.dumps(asdict(settings), sort_keys=True).encode())
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    h.update(extra.encode())
    h.update(str(tuple(train.x.shape)).encode())
    h.update(train.x.detach().cpu().numpy().tobytes())
    h.update(train.y.detach().cpu().numpy().tobytes())
    return h.hexdigest()


def _make_optimizer(params, s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=0.9, nesterov=True, weight_decay=s.weight_decay)
    return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay)


def _lr_lambda(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    def f(step: int) -> float:
        if warmup_steps and step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
    return f


def fit(objective: Objective, train: Split, val: Split, settings: TrainSettings, *,
        resume_dir: Path | None = None, dist: DistInfo | None = None, progress=None, description: str = "training",
        fingerprint_extra: str = "", on_epoch_end: Callable[[int, dict], None] | None = None) -> FitResult:
    """Train `objective` in place; the model ends with the best validation weights.

    `resume_dir`: where `last.pt` is written after every epoch (rank 0, atomically); a later call with
    the same settings/spec/data resumes after the last finished epoch (or returns at once if done).
    `on_epoch_end(epoch, record)` is called after the checkpoint is written (tests interrupt there).
    """
    dist = dist or DistInfo()
    model = objective.model
    device = train.x.device
    objective.to(device)
    spec = getattr(model, "spec", None)
    fp = fingerprint(settings, spec, train, fingerprint_extra)
    params = [p for p in objective.parameters() if p.requires_grad]
    optimizer = _make_optimizer(params, settings)
    n_samples = len(train.y)
    steps_per_epoch = len(global_batches(n_samples, settings.batch_size, settings.seed, 0))
    total = steps_per_epoch * settings.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _lr_lambda(total, int(settings.warmup_epochs * steps_per_epoch)))

    state = {"epoch": 0, "best_score": (-1.0, -math.inf), "best_epoch": 0, "bad_epochs": 0, "history": [],
             "done": False, "wall_s": 0.0, "best_state": None, "resumed_from": 0, "stopped_early": False}
    ckpt_path = Path(resume_dir) / CHECKPOINT if resume_dir else None
    if ckpt_path and ckpt_path.exists():
        try:
            ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        except Exception:  # noqa: BLE001 - a torn/old checkpoint means start over
            ck = None
        if ck and ck.get("fingerprint") == fp:
            objective.load_state_dict(ck["objective"])
            optimizer.load_state_dict(ck["optimizer"])
            scheduler.load_state_dict(ck["scheduler"])
            state.update(ck["state"])
            state["best_score"] = tuple(state["best_score"])
            state["resumed_from"] = state["epoch"]

    if settings.keep_initial and state["epoch"] == 0 and not state["done"]:
        val_acc, val_loss = evaluate(model, val)
        state["best_score"], state["best_state"] = (val_acc, -val_loss), copy.deepcopy(objective.state_dict())

    runner: nn.Module = objective
    if dist.distributed and not state["done"]:
        use_global_batchnorm(objective, dist)
        runner = nn.parallel.DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None)

    epochs = range(state["epoch"], settings.epochs)
    if progress is not None and not state["done"]:
        epochs = progress.track(epochs, description, total=len(epochs))
    t_start = time.perf_counter() - state["wall_s"]
    try:
        for epoch in ([] if state["done"] else epochs):
            objective.train()
            running, seen = 0.0, 0
            for gb in global_batches(n_samples, settings.batch_size, settings.seed, epoch):
                local = torch.tensor_split(gb, dist.world)[dist.rank].to(device)
                losses = runner(train.x[local], train.y[local], local)
                loss = losses.sum() * (dist.world / len(gb))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                running += float(losses.detach().sum())
                seen += len(local)
            val_acc, val_loss = evaluate(model, val)
            record = {"epoch": epoch + 1, "train_loss": running / max(1, seen), "val_acc": val_acc,
                      "val_loss": val_loss, "lr": optimizer.param_groups[0]["lr"]}
            state["history"].append(record)
            state["epoch"] = epoch + 1
            score = (val_acc, -val_loss)
            if score > state["best_score"]:
                state["best_score"], state["best_epoch"], state["bad_epochs"] = score, epoch + 1, 0
                state["best_state"] = copy.deepcopy(objective.state_dict())
            else:
                state["bad_epochs"] += 1
            stop = settings.patience is not None and state["bad_epochs"] >= settings.patience
            state["done"] = stop or epoch + 1 >= settings.epochs
            state["stopped_early"] = bool(stop and epoch + 1 < settings.epochs)
            state["wall_s"] = time.perf_counter() - t_start
            if ckpt_path and dist.is_main:
                _save_checkpoint(ckpt_path, fp, objective, optimizer, scheduler, state)
            if on_epoch_end is not None:
                on_epoch_end(epoch + 1, record)
            if state["done"]:
                break
    finally:
        if dist.distributed:
            restore_batchnorm(objective)
    if state["best_state"] is not None:
        objective.load_state_dict(state["best_state"])
    objective.eval()
    return FitResult(epochs_run=state["epoch"], best_epoch=state["best_epoch"],
                     best_val_acc=float(state["best_score"][0]), wall_s=float(state["wall_s"]),
                     history=list(state["history"]), resumed_from=int(state["resumed_from"]),
                     stopped_early=bool(state["stopped_early"]))


def _save_checkpoint(path: Path, fp: str, objective, optimizer, scheduler, state: dict) -> None:
    blob = {"fingerprint": fp, "objective": objective.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "state": dict(state)}
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)

