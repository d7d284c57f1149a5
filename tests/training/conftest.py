from __future__ import annotations

import pytest
import torch

from pipeline import config as config_mod
from pipeline import data, targets
from pipeline.stages.base import Artifact, Context
from pipeline.stages.progress import Progress

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    return data.load(config_mod.DataConfig(dataset="digits"))


@pytest.fixture(scope="session")
def digits_small():
    return data.load(config_mod.DataConfig(dataset="digits", max_train_samples=300))


def make_ctx(tmp_path, stage: str, cfg=None, target: str = "cortex-m4") -> Context:
    out = tmp_path / "out" / stage
    out.mkdir(parents=True, exist_ok=True)
    return Context(config=cfg or config_mod.Config(), target=targets.load_all().get(target), out_dir=out,
                   build_dir=tmp_path / "build", progress=Progress(enabled=False))


def run_stage(module, tmp_path, cfg, inputs: dict, target: str = "cortex-m4") -> Artifact:
    ctx = make_ctx(tmp_path, module.NAME, cfg, target)
    return module.run(ctx, inputs)


@pytest.fixture
def run():
    """run(stage_module, tmp_path, config, inputs, target="cortex-m4") -> Artifact"""
    return run_stage
