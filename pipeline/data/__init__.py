"""Dataset registry: built-ins by name, users' data by prefix (`folder:PATH`, `npz:PATH`)."""
from __future__ import annotations

from collections.abc import Callable

from ..config import DataConfig
from ..errors import PipelineError, allowed_list, did_you_mean
from ..registry import Registry
from . import builtin, user
from .dataset import Dataset, RawData, prepare

Loader = Callable[[str], RawData]


def _build() -> tuple[Registry[Loader], Registry[Loader]]:
    names: Registry[Loader] = Registry("dataset")
    names.register("digits", builtin.digits)
    names.register("mnist1d", builtin.mnist1d)
    names.register("mnist1d-hard", builtin.mnist1d_hard)
    prefixes: Registry[Loader] = Registry("dataset prefix")
    prefixes.register("npz", user.npz)
    prefixes.register("folder", user.folder)
    return names, prefixes


DATASETS, PREFIXES = _build()


def load(cfg: DataConfig, model_path=None) -> Dataset:
    """`model_path` (`--model`): the samples take the model's own input shape where the file has
    one (checked, one line when the data cannot have it); else channels-first by rank."""
    spec = cfg.dataset
    if ":" in spec:
        prefix = spec.split(":", 1)[0]
        if prefix not in PREFIXES:
            raise PipelineError(
                f"unknown dataset prefix '{prefix}:'{did_you_mean(prefix, PREFIXES)}"
                f" (allowed: {allowed_list(p + ':PATH' for p in PREFIXES)}, or {allowed_list(DATASETS)})"
            )
        loader = PREFIXES.get(prefix)
        raw = loader(spec, cfg.image_size) if prefix == "folder" else loader(spec)
    else:
        raw = DATASETS.get(spec)(spec)
    return prepare(raw, seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction,
                   calibration_samples=cfg.calibration_samples, max_train_samples=cfg.max_train_samples,
                   fit=_model_fit(model_path))


def _model_fit(model_path):
    if model_path is None:
        return None
    from ..convert.layout import fit_samples, model_input

    model = model_input(model_path)
    if model is None:
        return None
    sample = model.sample()
    return lambda name, x: fit_samples(x, sample, model.channels_last, name, model)


__all__ = ["DATASETS", "Dataset", "load"]
