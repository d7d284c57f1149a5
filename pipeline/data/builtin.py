"""Datasets that need no download: sklearn's digits (bundled) and MNIST-1D (generated offline)."""
from __future__ import annotations

import numpy as np

from .dataset import RawData


def digits(spec: str) -> RawData:
    from sklearn.datasets import load_digits

    d = load_digits()  # ships inside scikit-learn: 1,797 real 8x8 handwritten digits, 16 grey levels
    x = d.images.astype(np.float32)  # [N, 8, 8]
    return RawData(name="digits", x_train=x, y_train=d.target, x_test=None, y_test=None,
                   labels=[str(i) for i in range(10)], source="sklearn.datasets.load_digits")


def mnist1d(spec: str) -> RawData:
    # make_dataset generates the data locally; get_dataset would download a pickle (never call it).
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the paper's defaults: 4,000 train / 1,000 test, 40 samples, seed 42
    d = make_dataset(args)
    return RawData(name="mnist1d", x_train=d["x"].astype(np.float32), y_train=d["y"],
                   x_test=d["x_test"].astype(np.float32), y_test=d["y_test"],
                   labels=[str(i) for i in range(10)], source="mnist1d.data.make_dataset(seed=42)")
