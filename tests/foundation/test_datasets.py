"""Datasets: built-ins, users' folder:/npz: data generated on the fly, and every bad-data error."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline import data
from pipeline.config import DataConfig
from pipeline.errors import PipelineError


def _load(spec: str, **kw) -> data.Dataset:
    return data.load(DataConfig(dataset=spec, **kw))


def test_digits_is_deterministic_and_normalised():
    a, b = _load("digits"), _load("digits")
    assert a.input_shape == (1, 8, 8) and a.num_classes == 10 and a.layout == "image"
    assert a.meta["sha256"] == b.meta["sha256"]
    assert abs(float(a.x_train.mean())) < 1e-3 and abs(float(a.x_train.std()) - 1) < 1e-3
    n = len(a.y_train) + len(a.y_val) + len(a.y_test)
    assert n == 1797
    assert len(a.x_calib) == 256 and a.x_calib.dtype == np.float32
    # A different seed gives different splits.
    assert _load("digits", seed=1).meta["sha256"] != a.meta["sha256"]


@pytest.mark.slow
def test_mnist1d_is_generated_offline(monkeypatch):
    import mnist1d.data

    def no_download(*a, **k):  # get_dataset would fetch a pickle from the internet
        raise AssertionError("mnist1d must be generated, never downloaded")

    monkeypatch.setattr(mnist1d.data, "get_dataset", no_download)
    ds = _load("mnist1d")
    assert ds.input_shape == (1, 40) and ds.layout == "signal"
    assert len(ds.y_test) == 1000 and len(ds.y_train) + len(ds.y_val) == 4000


@pytest.mark.slow
def test_mnist1d_hard_is_generated_offline_and_harder(monkeypatch):
    import mnist1d.data

    def no_download(*a, **k):
        raise AssertionError("mnist1d-hard must be generated, never downloaded")

    monkeypatch.setattr(mnist1d.data, "get_dataset", no_download)
    hard = _load("mnist1d-hard")
    assert hard.input_shape == (1, 40) and hard.num_classes == 10 and hard.name == "mnist1d-hard"
    assert len(hard.y_train) + len(hard.y_val) == 2000 and len(hard.y_test) == 4000
    assert "make_dataset(" in hard.meta["source"] and "iid_noise_scale=0.05" in hard.meta["source"]
    assert _load("mnist1d-hard").meta["sha256"] == hard.meta["sha256"]  # deterministic
    # Harder than mnist1d: the same nearest-class-mean classifier does worse on it.
    def ncm(ds):
        means = np.stack([ds.x_train[ds.y_train == c].reshape(-1, 40).mean(0) for c in range(10)])
        d = ((ds.x_test.reshape(-1, 1, 40) - means[None]) ** 2).sum(-1)
        return float((d.argmin(1) == ds.y_test).mean())
    assert ncm(hard) < ncm(_load("mnist1d"))


def _write_images(root, classes=("cat", "dog"), per_class=6, size=(12, 10), mode="L", seed=0):
    rng = np.random.default_rng(seed)
    for c_index, cls in enumerate(classes):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = (size[0], size[1]) if mode == "L" else (size[0], size[1], 3)
            arr = (rng.integers(0, 50, shape) + 100 * c_index).astype(np.uint8)
            Image.fromarray(arr, mode=None).save(root / cls / f"{i}.png")


def test_folder_dataset_with_seeded_split(tmp_path):
    _write_images(tmp_path / "imgs", per_class=10)
    ds = _load(f"folder:{tmp_path / 'imgs'}")
    assert ds.labels == ["cat", "dog"] and ds.input_shape == (1, 12, 10)
    assert len(ds.y_test) == 4 and sorted(set(ds.y_test.tolist())) == [0, 1]  # stratified
    assert _load(f"folder:{tmp_path / 'imgs'}").meta["sha256"] == ds.meta["sha256"]


def test_folder_dataset_with_train_and_test_and_rgb(tmp_path):
    _write_images(tmp_path / "d" / "train", per_class=8, mode="RGB")
    _write_images(tmp_path / "d" / "test", per_class=3, mode="RGB", seed=1)
    ds = _load(f"folder:{tmp_path / 'd'}")
    assert ds.input_shape == (3, 12, 10) and len(ds.y_test) == 6


def test_folder_dataset_mixed_sizes_is_an_error_unless_resized(tmp_path):
    _write_images(tmp_path / "m", per_class=5)
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "m" / "dog" / "big.png")
    with pytest.raises(PipelineError, match="mixed image sizes.*big.png.*image_size"):
        _load(f"folder:{tmp_path / 'm'}")
    ds = _load(f"folder:{tmp_path / 'm'}", image_size=(8, 8))
    assert ds.input_shape == (1, 8, 8)


def test_folder_dataset_unreadable_image(tmp_path):
    _write_images(tmp_path / "u", per_class=5)
    (tmp_path / "u" / "cat" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(PipelineError, match="unreadable image .*broken.png"):
        _load(f"folder:{tmp_path / 'u'}")


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return f"npz:{path}"


def test_npz_dataset_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    spec = _npz(tmp_path / "d.npz", x_train=rng.normal(size=(60, 16)), y_train=np.arange(60) % 3,
                x_test=rng.normal(size=(15, 16)), y_test=np.arange(15) % 3, labels=np.array(["a", "b", "c"]))
    ds = _load(spec)
    assert ds.labels == ["a", "b", "c"] and ds.input_shape == (1, 16) and len(ds.y_test) == 15


def test_npz_nhwc_images_become_channels_first(tmp_path):
    rng = np.random.default_rng(0)
    spec = _npz(tmp_path / "d.npz", x_train=rng.normal(size=(40, 6, 5, 3)), y_train=np.arange(40) % 2,
                x_test=rng.normal(size=(10, 6, 5, 3)), y_test=np.arange(10) % 2)
    assert _load(spec).input_shape == (3, 6, 5)


@pytest.mark.parametrize(
    "arrays, message",
    [
        (dict(y_train=np.zeros(40, int)), "only one class"),
        (dict(x_train=np.full((40, 8), np.nan)), "NaN/Inf"),
        (dict(y_train=np.arange(39) % 2), "40 samples but y_train has 39"),
        (dict(x_test=np.zeros((0, 8)), y_test=np.zeros(0, int)), "test split is empty"),
        (dict(y_train=np.arange(40) % 2 + 5), "labels must be 0..K-1"),
        (dict(y_test=np.full(10, 7)), "never occur in training"),
        (dict(x_test=np.zeros((10, 9))), "train samples have shape"),
    ],
)
def test_bad_npz_data_gets_one_line_error(tmp_path, arrays, message):
    base = dict(x_train=np.random.default_rng(0).normal(size=(40, 8)), y_train=np.arange(40) % 2,
                x_test=np.random.default_rng(1).normal(size=(10, 8)), y_test=np.arange(10) % 2)
    base.update(arrays)
    with pytest.raises(PipelineError, match=message) as info:
        _load(_npz(tmp_path / "bad.npz", **base))
    assert "\n" not in str(info.value)


def test_npz_missing_arrays_and_not_an_npz(tmp_path):
    with pytest.raises(PipelineError, match="missing arrays"):
        _load(_npz(tmp_path / "a.npz", x_train=np.zeros((4, 2))))
    (tmp_path / "b.npz").write_bytes(b"garbage")
    with pytest.raises(PipelineError, match="not a readable .npz"):
        _load(f"npz:{tmp_path / 'b.npz'}")


def test_unknown_dataset_suggests():
    with pytest.raises(PipelineError, match="did you mean 'mnist1d'"):
        _load("mnist1")
