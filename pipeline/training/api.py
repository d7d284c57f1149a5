"""High-level training steps shared by the stages and `train_command`.

Every step returns (model, record) where record is the training-report entry:
{"accuracy" (test split), "val_accuracy", "params", "macs", "epochs", "best_epoch", "wall_s", ...}.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data import Dataset
from ..errors import PipelineError
from ..models import analysis
from ..models.spec import build_model, teacher_spec
from .dist import DistInfo
from .augment import Augment
from .distill import Distillation, FunctionMatching, feature_map_shape, teacher_outputs
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
    val_acc, val_loss = evaluate(model, splits.val)
    rec = {
        "accuracy": acc,
        "test_loss": loss,
        "val_accuracy": val_acc,
        "val_loss": val_loss,
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


def augmentation(dcfg, input_shape) -> Augment:
    """The views function matching trains on (`distill.shift/scale/noise/mixup`)."""
    shift = dcfg.shift
    if shift == "auto":
        # 1 pixel on 8x8 digits (12 %), 4 samples on a 40-long MNIST-1D signal (10 %): small enough
        # that the class is kept, large enough that the views leave the training points.
        dims = [int(d) for d in input_shape[1:]]
        shift = max(1, round(min(dims) / 8)) if len(dims) == 2 else max(1, round(dims[0] / 10))
    return Augment(shift=int(shift), scale=dcfg.scale, noise=dcfg.noise, mixup=dcfg.mixup)


def _fm_objective(model, teachers, splits: Splits, dcfg, temperature: float, alpha: float, progress=None):
    smap = tmap = None
    if dcfg.hints:
        smap = feature_map_shape(model, splits.input_shape)
        tmap = feature_map_shape(teachers[0], splits.input_shape)
        if len(smap) < 2 or len(tmap) != len(smap):
            if progress is not None:
                progress.log(f"  hints skipped: the '{model.spec['family']}' student has no feature map like the teacher's")
            smap = tmap = None
    return FunctionMatching(model, teachers, augmentation(dcfg, splits.input_shape), temperature, alpha,
                            hint_weight=dcfg.hint_weight if smap is not None else 0.0,
                            student_map_shape=smap, teacher_map_shape=tmap)


def kd_grid(dcfg) -> list[tuple[float, float]]:
    temps = list(dcfg.temperatures) or [dcfg.temperature]
    alphas = list(dcfg.alphas) or [dcfg.alpha]
    return [(float(t), float(a)) for t in temps for a in alphas]


def function_matching(splits: Splits, spec: dict, teachers: list[nn.Module], cfg, dcfg, *,
                      resume_dir: Path | None = None, progress=None, description: str = "distilled student",
                      settings: TrainSettings | None = None) -> tuple[nn.Module, dict]:
    """Function matching with T and alpha picked on the validation split.

    Every (T, alpha) of `kd_grid` trains `dcfg.search_epochs` epochs from the same seed/init (a
    short cosine schedule of its own); the best (validation accuracy, then -loss) trains the full
    schedule. With one pair there is no search. Record: + temperature, alpha, grid [{T, alpha,
    val_accuracy, val_loss}], search_s."""
    base = settings or student_settings(cfg)
    grid = kd_grid(dcfg)
    t0 = time.perf_counter()
    scores = []
    if len(grid) > 1:
        probe = replace(base, epochs=min(base.epochs, dcfg.search_epochs), patience=None)
        for t, a in grid:
            seed_everything(cfg.seed)
            m = build_model(spec)
            fit(_fm_objective(m, teachers, splits, dcfg, t, a), splits.train, splits.val, probe,
                progress=progress, description=f"T/alpha search: T={t:g} alpha={a:g}")
            acc, loss = evaluate(m, splits.val)
            scores.append({"temperature": t, "alpha": a, "val_accuracy": acc, "val_loss": round(loss, 5)})
        best = max(scores, key=lambda r: (r["val_accuracy"], -r["val_loss"]))
        temperature, alpha = best["temperature"], best["alpha"]
        if progress is not None:
            progress.log("  T/alpha on validation: " + ", ".join(
                f"T={r['temperature']:g} a={r['alpha']:g}: {r['val_accuracy']:.4f}" for r in scores)
                + f" -> T={temperature:g}, alpha={alpha:g}")
    else:
        temperature, alpha = grid[0]
    search_s = time.perf_counter() - t0
    seed_everything(cfg.seed)
    model = build_model(spec)
    t1 = time.perf_counter()
    objective = _fm_objective(model, teachers, splits, dcfg, temperature, alpha, progress)
    result = fit(objective, splits.train, splits.val, base, resume_dir=resume_dir, progress=progress,
                 description=description,
                 fingerprint_extra=f"fm:{temperature}:{alpha}:{dcfg.hints}:{dcfg.hint_weight}:{objective.augment}:"
                                   f"{len(teachers)}:{sum(float(p.detach().sum()) for p in teachers[0].parameters()):.6e}")
    return model, record(model, splits, result, seed=cfg.seed, recipe="function_matching",
                         temperature=temperature, alpha=alpha, grid=scores, search_s=round(search_s, 3),
                         setup_s=round(time.perf_counter() - t1 - result.wall_s, 3))


def distill_student(splits: Splits, spec: dict, teachers: list[nn.Module], cfg, dcfg, *,
                    logits: torch.Tensor | None = None, resume_dir: Path | None = None, progress=None,
                    description: str = "distilled student", settings: TrainSettings | None = None,
                    init: nn.Module | None = None) -> tuple[nn.Module, dict]:
    """Distil `teachers` into a fresh `spec` student (same seed/init as the scratch baseline)."""
    if dcfg.recipe == "function_matching" and init is None:
        return function_matching(splits, spec, teachers, cfg, dcfg, resume_dir=resume_dir, progress=progress,
                                 description=description, settings=settings)
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
    return model, record(model, splits, result, seed=cfg.seed, recipe="hinton", temperature=dcfg.temperature,
                         alpha=dcfg.alpha, setup_s=round(time.perf_counter() - t0 - result.wall_s, 3))


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
