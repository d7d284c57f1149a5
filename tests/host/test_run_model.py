"""`pipeline run` on the host target: LiteRT on this machine, reference kernels by default."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.adapters import host
from pipeline.errors import PipelineError
from pipeline.targets import load_all

from linux_arm import tiny  # tests/ is on sys.path (rootdir conftest, packages without tests/__init__)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    arts = tiny.make_artifacts(tmp_path_factory.mktemp("tiny"))
    with np.load(arts["data"].path("dataset.npz")) as z:
        x = z["x_test"][:16]
    m = arts["convert"].path("model_int8.tflite")
    return m, tiny.quantize_nhwc(m, x), arts["convert"].path("model_float.tflite")


@pytest.fixture(scope="module")
def target():
    return load_all().get("host")


def test_outputs_equal_reference_kernels(model, target, tmp_path):
    m, x, _ = model
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "odd dir;$(touch pwned)" / "y.npy"
    host.run_model(target, m, tmp_path / "x.npy", out, None, {})
    y = np.load(out)
    ref = tiny.host_reference(m, x)
    assert y.dtype == np.int8 and y.shape == (16, 4) and y.tobytes() == ref.tobytes()
    assert not list(tmp_path.rglob("pwned"))
    host.run_model(target, m, tmp_path / "x.npy", tmp_path / "yx.npy", "local", {"kernels": "xnnpack"})
    assert np.load(tmp_path / "yx.npy").shape == (16, 4)


def test_float_model_and_npz_outputs(model, target, tmp_path):
    _, x, f = model
    xf = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", xf)
    host.run_model(target, f, tmp_path / "x.npy", tmp_path / "y.npz", None, {})
    with np.load(tmp_path / "y.npz") as z:
        (arr,) = z.values()
    assert arr.dtype == np.float32 and arr.shape == (5, 4)


@pytest.mark.parametrize("bad, match", [
    (lambda x: x.astype(np.float32), "dtype float32, model input .* expects int8"),
    (lambda x: x[:, :4], r"shape \[16, 4, 8, 1\], model input .* expects \[N, 8, 8, 1\]"),
    (lambda x: x[0], "expects"),
])
def test_wrong_inputs_are_one_line_errors(model, target, tmp_path, bad, match):
    m, x, _ = model
    np.save(tmp_path / "x.npy", bad(x))
    with pytest.raises(PipelineError, match=match) as err:
        host.run_model(target, m, tmp_path / "x.npy", tmp_path / "y.npy", None, {})
    assert "\n" not in str(err.value)
    assert not (tmp_path / "y.npy").exists()


def test_bad_options(model, target, tmp_path):
    m, x, _ = model
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(PipelineError, match="kernels 'fast' unknown"):
        host.run_model(target, m, tmp_path / "x.npy", tmp_path / "y.npy", None, {"kernels": "fast"})
    with pytest.raises(PipelineError, match="allowed: local"):
        host.run_model(target, m, tmp_path / "x.npy", tmp_path / "y.npy", "emulator", {})
    with pytest.raises(PipelineError, match="no such file"):
        host.run_model(target, m, tmp_path / "missing.npy", tmp_path / "y.npy", None, {})


def test_several_outputs_go_to_npz(target, tmp_path):
    m = tiny.two_output_model(tmp_path / "two.tflite")
    x = np.random.default_rng(1).integers(-128, 128, size=(7, 6)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(PipelineError, match="has 2 outputs: give an .npz"):
        host.run_model(target, m, tmp_path / "x.npy", tmp_path / "y.npy", None, {})
    host.run_model(target, m, tmp_path / "x.npy", tmp_path / "y.npz", None, {})
    with np.load(tmp_path / "y.npz") as z:
        shapes = sorted(a.shape for a in z.values())
        assert all(a.dtype == np.int8 for a in z.values())
    assert shapes == [(7, 2), (7, 3)]
