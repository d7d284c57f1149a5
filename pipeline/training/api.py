"""High-level training steps shared by the stages and `train_command`.

Every step returns (model, record) where record is the training-report entry:
{"accuracy" (test split), "val_accuracy", "params", "macs", "epochs", "best_epoch", "wall_s", ...}.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..errors import PipelineError
from ..models import analysis
from ..models.spec import build_model, teacher_spec
from .dist import DistInfo
from .distill import Distillation, feature_map_shape, teacher_outputs
from .loop import CrossEntropy, FitResult, TrainSettings, as_split, evaluate, fit, seed_everything


def configure_threads() -> int:
    """Small models train fastest on one thread, and CPUs here are shared: default 1,
    `PIPELINE_TORCH_THREADS=N` to change (DDP ranks get cores / local ranks)."""
    n = int(os.environ.get("PIPELINE_TORCH_THREADS", "1") or 1)
    torch.set_num_threads(max(1, n))
    return n


def check_dataset(ds: Dataset) -> None:
    """Problems that make training meaningless, as one-line errors (the data stage checks most
    of them when loading; this guards datasets that reach training some other way)."""
    name = ds.name
    for split in ("train", "val", "test"):
        x, y = getattr(ds, f"x_{split}"), getattr(ds, f"y_{split}")
        if len(x) == 0:
            raise PipelineError(f"dataset '{name}': the {split} split is empty")
        if len(x) != len(y):
            raise PipelineError(f"dataset '{name}': x_{split} has {len(x)} samples but y_{split} has {len(y)} labels")
        if not np.all(np.isfinite(x)):
            bad = int((~np.isfinite(x.reshape(len(x), -1))).any(1).sum())
            raise PipelineError(f"dataset '{name}': x_{split} has NaN/Inf values in {bad} samples")
    classes = np.unique(ds.y_train)
    if len(classes) < 2:
        raise PipelineError(f"dataset '{name}': only one class in the training data; need at least 2")
    if ds.num_classes < 2 or int(classes.max()) >= ds.num_classes or int(classes.min()) < 0:
        raise PipelineError(f"dataset '{name}': labels {classes.tolist()[:12]} do not match {ds.num_classes} classes")


class Splits:
    def __init__(self, ds: Dataset, device: torch.device):
        self.train = as_split(ds.x_train, ds.y_train, device)
        self.val = as_split(ds.x_val, ds.y_val, device)
        self.test = as_split(ds.x_test, ds.y_test, device)
        self.calib = as_split(ds.x_calib, ds.y_calib, device)
        self.input_shape = ds.input_shape
        self.num_classes = ds.num_classes


def record(model: nn.Module, splits: Splits, result: FitResult | None, wall_s: float | None = None, **extra) -> dict:
    acc, loss = evaluate(model, splits.test)
    rec = {
        "accuracy": acc,
        "test_loss": loss,
        "val_accuracy": evaluate(model, splits.val)[0],
        "params": analysis.count_params(model),
        "macs": analysis.count_macs(model, splits.input_shape),
        "family": model.spec["family"],
    }
    if result is not None:
        rec.update(epochs=result.epochs_run, best_epoch=result.best_epoch, wall_s=round(result.wall_s, 3),
                   resumed_from_epoch=result.resumed_from, stopped_early=result.stopped_early)
    if wall_s is not None:
        rec["wall_s"] = round(wall_s, 3)
    rec.update(extra)
    return rec


def _sub(resume_dir: Path | None, name: str) -> Path | None:
    return Path(resume_dir) / name if resume_dir is not None else None


def teacher_settings(cfg, seed: int | None = None) -> TrainSettings:
    return TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer, lr=cfg.lr,
                         weight_decay=cfg.weight_decay, label_smoothing=cfg.label_smoothing,
                         patience=cfg.patience, seed=cfg.seed if seed is None else seed)


def student_settings(cfg) -> TrainSettings:
    return TrainSettings(epochs=cfg.epochs, batch_size=cfg.batch_size, optimizer=cfg.optimizer, lr=cfg.lr,
                         weight_decay=cfg.weight_decay, patience=cfg.patience, seed=cfg.seed)


def train_teacher(splits: Splits, cfg, *, seed: int | None = None, dist: DistInfo | None = None,
                  resume_dir: Path | None = None, progress=None, on_epoch_end=None) -> tuple[nn.Module, dict]:
    """Train one teacher (TeacherConfig `cfg`; `seed` overrides cfg.seed for ensembles)."""
    seed = cfg.seed if seed is None else seed
    spec = teacher_spec(splits.input_shape, splits.num_classes, cfg.family, cfg.width)
    seed_everything(seed)
    model = build_model(spec)
    settings = teacher_settings(cfg, seed)
    result = fit(CrossEntropy(model, cfg.label_smoothing), splits.train, splits.val, settings,
                 resume_dir=resume_dir, dist=dist, progress=progress, description=f"teacher (seed {seed})",
                 on_epoch_end=on_epoch_end)
    return model, record(model, splits, result, seed=seed)


def train_scratch(splits: Splits, spec: dict, cfg, *, resume_dir: Path | None = None, progress=None) -> tuple[nn.Module, dict]:
    seed_everything(cfg.seed)
    model = build_model(spec)
    result = fit(CrossEntropy(model), splits.train, splits.val, student_settings(cfg), resume_dir=resume_dir,
                 progress=progress, description="student from scratch")
    return model, record(model, splits, result, seed=cfg.seed)


def soft_targets(teachers: list[nn.Module], splits: Splits) -> torch.Tensor:
    """Cached teacher logits on the training split: [n_teachers, N, K] (computed once, eval mode)."""
    return teacher_outputs(teachers, splits.train.x)[0]


def distill_student(splits: Splits, spec: dict, teachers: list[nn.Module], cfg, dcfg, *,
                    logits: torch.Tensor | None = None, resume_dir: Path | None = None, progress=None,
                    description: str = "distilled student", settings: TrainSettings | None = None,
                    init: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """Distil `teachers` into a fresh `spec` student (same seed/init as the scratch baseline)."""
    seed_everything(cfg.seed)
    model = init if init is not None else build_model(spec)
    t0 = time.perf_counter()
    feats, smap = None, None
    if dcfg.hints:
        smap = feature_map_shape(model, splits.input_shape)
        if len(smap) < 2:
            if progress is not None:
                progress.log(f"  hints skipped: the '{spec['family']}' student has no feature map")
        else:
            _, feats = teacher_outputs(teachers[:1], splits.train.x, hint_from=teachers[0], student_map=smap)
    if logits is None:
        logits = soft_targets(teachers, splits)
    if not dcfg.cache_teacher_logits:
        # Same numbers without the cache (no augmentation): recompute per batch from the teachers.
        objective = _LiveDistillation(model, teachers, splits.train.x, dcfg, feats, smap)
    else:
        objective = Distillation(model, logits, dcfg.temperature, dcfg.alpha, teacher_features=feats,
                                 hint_weight=dcfg.hint_weight, student_map_shape=smap)
    result = fit(objective, splits.train, splits.val, settings or student_settings(cfg), resume_dir=resume_dir,
                 progress=progress, description=description,
                 fingerprint_extra=f"kd:{dcfg.temperature}:{dcfg.alpha}:{dcfg.hints}:{dcfg.hint_weight}:"
                                   f"{float(logits.sum()):.6e}")
    return model, record(model, splits, result, seed=cfg.seed, setup_s=round(time.perf_counter() - t0 - result.wall_s, 3))


class _LiveDistillation(Distillation):
    def __init__(self, model, teachers, x_train, dcfg, feats, smap):
        k = len(teachers)
        dummy = torch.zeros(k, 1, 1)
        super().__init__(model, dummy, dcfg.temperature, dcfg.alpha, teacher_features=feats,
                         hint_weight=dcfg.hint_weight, student_map_shape=smap)
        object.__setattr__(self, "_teachers", teachers)
        self._x = x_train

    def forward(self, x, y, idx):
        with torch.no_grad():
            self.teacher_logits = torch.stack([t.eval()(self._x[idx]) for t in self._teachers])
        local = torch.arange(len(idx), device=x.device)
        return super().forward(x, y, local) if self.adapter is None else self._with_hint(x, y, idx, local)

    def _with_hint(self, x, y, idx, local):
        feats = self.teacher_features
        self.teacher_features = feats[idx]
        try:
            return super().forward(x, y, local)
        finally:
            self.teacher_features = feats


def assistant_budget(teacher_params: int, student_params: int) -> int:
    """An assistant between teacher and student: the geometric mean of their sizes."""
    return int(math.sqrt(teacher_params * student_params))
