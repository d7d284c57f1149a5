"""The in-memory dataset every stage sees, its validation, splits and on-disk form.

Layout is channels-first like PyTorch: images [N, C, H, W], signals [N, C, L]. The int8 TFLite
model is channels-last; converting is the convert stage's job, and the recorded normalisation
(`mean`, `std`) is what every target applies before quantising its input.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import PipelineError

ARRAYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_calib", "y_calib")


@dataclass
class RawData:
    """What a loader returns: unnormalised arrays; x_test may be None (split here, seeded)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    labels: list[str] | None = None
    source: str = ""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_calib: np.ndarray
    y_calib: np.ndarray
    labels: list[str]
    mean: float
    std: float
    meta: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def layout(self) -> str:
        return "image" if len(self.input_shape) == 3 else "signal"

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "labels": self.labels,
            "num_classes": self.num_classes,
            "input_shape": list(self.input_shape),
            "layout": self.layout,
            "normalization": {"mean": self.mean, "std": self.std},
            "sizes": {a[2:]: int(getattr(self, a).shape[0]) for a in ARRAYS if a.startswith("x_")},
            **self.meta,
        }

    def save(self, directory: Path) -> Path:
        """Write `dataset.npz` (atomically) and return its path."""
        dest = directory / "dataset.npz"
        with atomic_path(dest) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **{a: getattr(self, a) for a in ARRAYS})
        return dest

    @classmethod
    def load(cls, directory: Path, meta: dict) -> Dataset:
        with np.load(directory / "dataset.npz") as z:
            arrays = {a: z[a] for a in ARRAYS}
        norm = meta["normalization"]
        extra = {k: v for k, v in meta.items() if k in ("sha256", "source")}
        return cls(name=meta["name"], labels=list(meta["labels"]), mean=norm["mean"], std=norm["std"],
                   meta=extra, **arrays)


def check_arrays(name: str, x: np.ndarray, y: np.ndarray, split: str) -> None:
    """The data errors users actually hit, each as one line naming the problem."""
    if x.shape[0] == 0:
        raise PipelineError(f"dataset '{name}': the {split} split is empty")
    if x.shape[0] != y.shape[0]:
        raise PipelineError(
            f"dataset '{name}': x_{split} has {x.shape[0]} samples but y_{split} has {y.shape[0]} labels"
        )
    if y.ndim != 1:
        raise PipelineError(f"dataset '{name}': y_{split} must be 1-D class indices, got shape {y.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise PipelineError(f"dataset '{name}': x_{split} must be numeric, got dtype {x.dtype}")
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            pass
        else:
            raise PipelineError(f"dataset '{name}': y_{split} must hold integer class indices, got dtype {y.dtype}")
    bad = ~np.isfinite(x.astype(np.float64, copy=False)).reshape(x.shape[0], -1).all(axis=1)
    if bad.any():
        raise PipelineError(
            f"dataset '{name}': x_{split} has NaN/Inf values in {int(bad.sum())} samples (first at index {int(np.argmax(bad))})"
        )


def to_channels_first(name: str, x: np.ndarray) -> np.ndarray:
    """[N, L] -> [N, 1, L]; [N, H, W] -> [N, 1, H, W]; [N, H, W, C<=4] -> [N, C, H, W]."""
    if x.ndim == 2:
        return x[:, None, :]
    if x.ndim == 3:
        return x[:, None, :, :]
    if x.ndim == 4:
        if x.shape[1] in (1, 3, 4):
            return x
        if x.shape[3] in (1, 3, 4):
            return np.transpose(x, (0, 3, 1, 2))
    raise PipelineError(
        f"dataset '{name}': cannot interpret x with shape {tuple(x.shape)}; expected [N, L], [N, H, W],"
        " [N, C, H, W] or [N, H, W, C] with C in 1, 3, 4"
    )


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, taken): `fraction` of every class taken, seeded, at least one per class."""
    rng = np.random.default_rng(seed)
    keep, taken = [], []
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        rng.shuffle(idx)
        n = max(1, int(round(len(idx) * fraction))) if len(idx) > 1 else 0
        taken.append(idx[:n])
        keep.append(idx[n:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(taken))


def prepare(raw: RawData, *, seed: int, val_fraction: float, test_fraction: float,
            calibration_samples: int, max_train_samples: int | None = None, fit=None) -> Dataset:
    """`fit(name, x)`: the samples in a given model's own shape (`--model`, see
    pipeline.convert.layout.fit_samples); without it the layout is channels-first by rank."""
    name = raw.name
    fit = fit or to_channels_first
    x_train = fit(name, np.asarray(raw.x_train))
    y_train = np.asarray(raw.y_train)
    check_arrays(name, x_train, y_train, "train")
    if raw.x_test is None:
        keep, test = stratified_split(y_train, test_fraction, seed + 1)
        x_test, y_test = x_train[test], y_train[test]
        x_train, y_train = x_train[keep], y_train[keep]
    else:
        x_test = fit(name, np.asarray(raw.x_test))
        y_test = np.asarray(raw.y_test)
        check_arrays(name, x_test, y_test, "test")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise PipelineError(
            f"dataset '{name}': train samples have shape {x_train.shape[1:]} but test samples {x_test.shape[1:]}"
        )
    y_train = y_train.astype(np.int64)
    y_test = y_test.astype(np.int64)
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise PipelineError(f"dataset '{name}': only one class ({int(classes[0])}) in the training data; need at least 2")
    if classes.min() < 0 or classes.max() != len(classes) - 1:
        raise PipelineError(
            f"dataset '{name}': labels must be 0..K-1 with every class present; got {classes.tolist()[:12]}"
        )
    labels = raw.labels or [str(int(c)) for c in classes]
    if len(labels) != len(classes):
        raise PipelineError(f"dataset '{name}': {len(labels)} label names for {len(classes)} classes")
    unknown = np.setdiff1d(np.unique(y_test), classes)
    if unknown.size:
        raise PipelineError(f"dataset '{name}': test labels {unknown.tolist()[:8]} never occur in training")
    if max_train_samples and len(y_train) > max_train_samples:
        keep, _ = stratified_split(y_train, 1 - max_train_samples / len(y_train), seed + 3)
        x_train, y_train = x_train[keep], y_train[keep]
    keep, val = stratified_split(y_train, val_fraction, seed)
    x_val, y_val = x_train[val], y_train[val]
    x_train, y_train = x_train[keep], y_train[keep]
    if len(y_val) == 0:
        raise PipelineError(f"dataset '{name}': too few samples for a validation split ({len(y_train)} in train)")

    # One scalar mean/std from the training split: every target can apply it with two numbers.
    x64 = x_train.astype(np.float64)
    mean, std = float(x64.mean()), float(x64.std())
    if std == 0:
        raise PipelineError(f"dataset '{name}': all training inputs are identical (std 0)")

    def norm(x: np.ndarray) -> np.ndarray:
        return ((x.astype(np.float64) - mean) / std).astype(np.float32)

    n_cal = min(calibration_samples, len(y_train))
    rng = np.random.default_rng(seed + 2)
    cal = np.sort(rng.choice(len(y_train), size=n_cal, replace=False))
    ds = Dataset(
        name=name, labels=list(labels), mean=mean, std=std,
        x_train=norm(x_train), y_train=y_train, x_val=norm(x_val), y_val=y_val,
        x_test=norm(x_test), y_test=y_test, x_calib=norm(x_train[cal]), y_calib=y_train[cal],
        meta={"source": raw.source},
    )
    ds.meta["sha256"] = content_hash(ds)
    return ds


def content_hash(ds: Dataset) -> str:
    h = hashlib.sha256()
    for a in ARRAYS:
        arr = np.ascontiguousarray(getattr(ds, a))
        h.update(f"{a}:{arr.dtype}:{arr.shape}".encode())
        h.update(arr.tobytes())
    h.update(json.dumps(ds.labels).encode())
    return h.hexdigest()
