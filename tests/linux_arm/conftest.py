"""Fixtures for the linux-arm adapter: a tiny int8 model, fake artifacts, stage contexts."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.stages.base import Context
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

from . import tiny


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """{'convert': ..., 'data': ...} with a freshly trained + converted tiny int8 model."""
    return tiny.make_artifacts(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def rpi4():
    return load_all().get("rpi4")


@pytest.fixture
def make_ctx(tmp_path):
    def _make(target, out_name="out", **options):
        out = tmp_path / out_name
        out.mkdir(parents=True, exist_ok=True)
        return Context(config=Config(), target=target, out_dir=out, build_dir=tmp_path,
                       progress=Progress(enabled=False), options=options)
    return _make


@pytest.fixture(scope="session")
def packaged(artifacts, rpi4, tmp_path_factory):
    """The package artifact for rpi4 (bundle/ + bundle.tar.gz)."""
    from pipeline.adapters import linux_arm

    out = tmp_path_factory.mktemp("package")
    ctx = Context(config=Config(), target=rpi4, out_dir=out, build_dir=out.parent,
                  progress=Progress(enabled=False))
    return linux_arm.package(ctx, artifacts)



def host_accuracy(artifacts, kernels="reference") -> float:
    import numpy as np

    model = artifacts["convert"].path("model_int8.tflite")
    with np.load(artifacts["data"].path("dataset.npz")) as z:
        x, y = z["x_test"], z["y_test"]
    out = tiny.host_reference(model, tiny.quantize_nhwc(model, x), kernels)
    return float((out.argmax(1) == y).mean())


def one_line(err: BaseException) -> bool:
    return "\n" not in str(err) and len(str(err)) > 0


REPO = Path(__file__).resolve().parents[2]
