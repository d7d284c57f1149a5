"""Bad data, config and target files through `pipeline build`: one line, exit 2, no stage cached.

The loaders themselves are unit-tested in tests/foundation/test_datasets.py (one class, NaN/Inf,
labels, empty split, unreadable image, mixed sizes); here every case goes through the real CLI.
"""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from pipeline.targets import targets_dir

from .conftest import cli, one_line


def _npz(path, **over):
    rng = np.random.default_rng(0)
    arrays = dict(x_train=rng.normal(size=(40, 8)), y_train=np.arange(40) % 2,
                  x_test=rng.normal(size=(10, 8)), y_test=np.arange(10) % 2)
    arrays.update(over)
    np.savez(path, **arrays)
    return path


NPZ = [
    (dict(y_train=np.zeros(40, int)), "only one class"),
    (dict(x_train=np.full((40, 8), np.nan)), "NaN/Inf"),
    (dict(x_train=np.full((40, 8), np.inf)), "NaN/Inf"),
    (dict(y_train=np.arange(39) % 2), "40 samples but y_train has 39"),
    (dict(x_test=np.zeros((0, 8)), y_test=np.zeros(0, int)), "test split is empty"),
    (dict(y_train=np.arange(40) % 2 + 5), "labels must be 0..K-1"),
    (dict(y_test=np.full(10, 7)), "never occur in training"),
]


def _assert_clean_failure(res, tmp_path, message):
    assert res.returncode == 2, res.stderr[-2000:]
    line = one_line("\n".join(ln for ln in res.stderr.splitlines() if ln.startswith("error:")) or res.stderr)
    assert "Traceback" not in res.stderr and message in line
    cache = tmp_path / "build" / "cache"
    if cache.is_dir():  # nothing half-written: no temporary or incomplete cache entry
        for entry in cache.glob("*/*"):
            assert (entry / "meta.json").is_file(), entry


@pytest.mark.parametrize("over,message", NPZ, ids=[m for _, m in NPZ])
def test_bad_npz_dataset_through_build(over, message, tmp_path):
    path = _npz(tmp_path / "bad.npz", **over)
    res = cli("build", "--target", "host", "--dataset", f"npz:{path}", cwd=tmp_path, timeout=300)
    _assert_clean_failure(res, tmp_path, message)


def test_not_an_npz_through_build(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a zip file")
    res = cli("build", "--target", "host", "--dataset", f"npz:{tmp_path / 'bad.npz'}", cwd=tmp_path)
    assert res.returncode == 2 and "bad.npz" in one_line(res.stderr.strip().splitlines()[-1])


def _folder(root, sizes, classes=2, bad=None):
    from PIL import Image

    for c in range(classes):
        d = root / f"class{c}"
        d.mkdir(parents=True)
        for i, size in enumerate(sizes):
            Image.fromarray(np.full((*size, 3), 40 * i + c, np.uint8)).save(d / f"{i}.png")
    if bad:
        (root / "class0" / "broken.png").write_bytes(bad)
    return root


@pytest.mark.parametrize("case,message", [("unreadable", "broken.png"), ("mixed", "image_size"),
                                          ("one_class", "class")])
def test_bad_folder_dataset_through_build(case, message, tmp_path):
    if case == "unreadable":
        root = _folder(tmp_path / "imgs", [(8, 8)] * 6, bad=b"\x89PNG\r\n\x1a\n garbage")
    elif case == "mixed":
        root = _folder(tmp_path / "imgs", [(8, 8)] * 3 + [(9, 7)] * 3)
    else:
        root = _folder(tmp_path / "imgs", [(8, 8)] * 6, classes=1)
    res = cli("build", "--target", "host", "--dataset", f"folder:{root}", cwd=tmp_path, timeout=300)
    _assert_clean_failure(res, tmp_path, message)


# -- config and targets ---------------------------------------------------------------------

@pytest.mark.parametrize("text,needles", [
    ("[teacher]\nepoch = 3\n", ["teacher.epoch", "did you mean 'epochs'"]),
    ("[teachr]\nepochs = 3\n", ["teachr"]),
    ("[teacher]\nepochs = \"many\"\n", ["teacher.epochs", "'many'"]),
    ("[teacher]\nepochs = 0\n", ["teacher.epochs"]),
    ("[distill]\nalpha = 1.5\n", ["distill.alpha"]),
    ("[data]\nseed = [1, 2]\n", ["data.seed"]),
    ("[teacher\nepochs = 3\n", ["pipeline.toml"]),   # not TOML at all
    ("teacher = 3\n", ["teacher"]),                  # a section given as a scalar
])
def test_bad_config(text, needles, tmp_path):
    (tmp_path / "pipeline.toml").write_text(text)
    res = cli("build", "--target", "host", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    line = one_line(res.stderr)
    for n in needles:
        assert n in line, (n, line)


def test_config_file_missing_or_a_directory(tmp_path):
    for path in (tmp_path / "nope.toml", tmp_path):
        res = cli("build", "--target", "host", "--config", path, cwd=tmp_path)
        assert res.returncode == 2 and one_line(res.stderr).startswith("error: ")


def test_unknown_target(tmp_path):
    for verb in (["build"], ["bench"], ["flash"]):
        res = cli(*verb, "--target", "raspberry", cwd=tmp_path)
        assert res.returncode == 2 and "unknown target 'raspberry'" in one_line(res.stderr)


@pytest.fixture
def targets_copy(tmp_path):
    d = tmp_path / "targets"
    shutil.copytree(targets_dir(), d)
    return d


@pytest.mark.parametrize("edit,needles", [
    (lambda t: t.replace('kind = "cortex-m"', 'kind = "fpga"'), ["cortex-m7.toml", "'fpga'"]),
    (lambda t: t + "\nturbo = true\n", ["cortex-m7.toml", "turbo"]),
    (lambda t: t.replace("ram_kb = ", "ram_kb = \"lots\" #"), ["cortex-m7.toml", "ram_kb"]),
    (lambda t: t.replace("clock_mhz = ", "clock_mhz = -"), ["cortex-m7.toml", "clock_mhz"]),
    (lambda t: t.replace("[", "[[", 1), ["cortex-m7.toml"]),
    (lambda t: "\x00\xff garbage", ["cortex-m7.toml"]),
], ids=["unknown-kind", "unknown-key", "wrong-type", "negative", "not-toml", "binary"])
def test_bad_target_file(edit, needles, targets_copy, tmp_path):
    f = targets_copy / "cortex-m7.toml"
    f.write_text(edit(f.read_text()))
    for args in (["targets"], ["build", "--target", "cortex-m7"], ["build", "--target", "host"]):
        res = cli(*args, cwd=tmp_path, env={"PIPELINE_TARGETS_DIR": str(targets_copy)})
        assert res.returncode == 2, (args, res.stderr)
        line = one_line(res.stderr)
        for n in needles:
            assert n in line, (args, n, line)


def test_duplicate_target_id(targets_copy, tmp_path):
    shutil.copy(targets_copy / "cortex-m7.toml", targets_copy / "copy.toml")
    res = cli("targets", cwd=tmp_path, env={"PIPELINE_TARGETS_DIR": str(targets_copy)})
    assert res.returncode == 2 and "cortex-m7" in one_line(res.stderr)


def test_targets_dir_missing(tmp_path):
    res = cli("targets", cwd=tmp_path, env={"PIPELINE_TARGETS_DIR": str(tmp_path / "nope")})
    assert res.returncode == 2 and one_line(res.stderr).startswith("error: ")
