"""Session fixtures for the conversion tests: datasets, briefly trained default-family students
(pipeline.models), and their conversions (each converted once per session)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from pipeline import data as datasets
from pipeline.config import DataConfig


def train(model: torch.nn.Module, ds, epochs: int, seed: int = 0, lr: float = 3e-3,
          max_samples: int | None = None) -> torch.nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr)
    x = torch.from_numpy(ds.x_train[:max_samples])
    y = torch.from_numpy(ds.y_train[:max_samples].astype(np.int64))
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x[b]), y[b]).backward()
            opt.step()
    return model.eval()


def student(ds, width: float, depth: int = 4):
    from pipeline.models import build_model, student_spec

    torch.manual_seed(0)
    return build_model(student_spec(ds.input_shape, ds.num_classes, width_multiplier=width, depth=depth))


@pytest.fixture(scope="session")
def digits():
    return datasets.load(DataConfig(dataset="digits"))


@pytest.fixture(scope="session")
def mnist1d():
    return datasets.load(DataConfig(dataset="mnist1d"))


@pytest.fixture(scope="session")
def digits_student(digits):
    # The default DS-CNN / 1-D CNN families at half width: the full-width ones train for minutes
    # on two shared cores (measured full width: digits 98.05 -> 97.77 %, mnist1d 97.5 -> 97.4 %
    # int8, TFLM/ref agreement 100 %); the conversion path is the same.
    return train(student(digits, 0.5), digits, epochs=6)


@pytest.fixture(scope="session")
def mnist1d_student(mnist1d):
    return train(student(mnist1d, 0.5), mnist1d, epochs=6)


class Converted:
    def __init__(self, result, wall_s: float, cpu_s: float):
        self.result = result
        self.wall_s = wall_s
        self.cpu_s = cpu_s
        self.int8 = result.int8_path.read_bytes()
        self.float = result.float_path.read_bytes() if result.float_path else None


def _convert(module, ds, out, kind="cortex-m", **kw) -> Converted:
    from pipeline.convert import convert_torch

    w, c = time.perf_counter(), time.process_time()
    res = convert_torch(module, out, ds.x_calib, ds.input_shape, kind=kind, **kw)
    return Converted(res, time.perf_counter() - w, time.process_time() - c)


@pytest.fixture(scope="session")
def convert():
    return _convert


@pytest.fixture(scope="session")
def digits_converted(digits_student, digits, tmp_path_factory):
    return _convert(digits_student, digits, tmp_path_factory.mktemp("digits_convert"))


@pytest.fixture(scope="session")
def mnist1d_converted(mnist1d_student, mnist1d, tmp_path_factory):
    return _convert(mnist1d_student, mnist1d, tmp_path_factory.mktemp("mnist1d_convert"))
