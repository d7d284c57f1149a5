"""Three structurally different int8 models (and one float one) for the inspect tests, each
converted once per session. Untrained weights are enough: arena sizes and op lists do not
depend on training."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from shared_helpers import ExpNet


class _PoolCNN(nn.Module):
    """conv -> maxpool -> conv -> avgpool -> linear: MAX_POOL_2D, AVERAGE_POOL_2D."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        x = nn.functional.avg_pool2d(torch.relu(self.c2(x)), 4)
        return self.fc(torch.flatten(x, 1))



@dataclass
class Model:
    name: str
    path: Path
    data: bytes


def _models():
    from pipeline.models import build_model, student_spec

    torch.manual_seed(0)
    return {
        "dscnn": ((1, 8, 8), build_model(student_spec((1, 8, 8), 10, "dscnn", width_multiplier=0.25, depth=2))),
        "cnn1d": ((1, 40), build_model(student_spec((1, 40), 10, "cnn1d", width_multiplier=0.5, depth=3))),
        "mlp": ((1, 40), build_model(student_spec((1, 40), 10, "mlp", width_multiplier=0.25, depth=2))),
        "poolcnn": ((1, 8, 8), _PoolCNN()),
        "exp": ((1, 8, 8), ExpNet()),
    }


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Model]:
    from pipeline.convert import convert_torch

    out = {}
    rng = np.random.default_rng(0)
    for name, (shape, module) in _models().items():
        d = tmp_path_factory.mktemp(name)
        calib = rng.standard_normal((64, *shape)).astype(np.float32)
        res = convert_torch(module.eval(), d, calib, shape, kind="host" if name == "exp" else "cortex-m")
        out[name] = Model(name, res.int8_path, res.int8_path.read_bytes())
        out[name + "_float"] = Model(name + "_float", res.float_path, res.float_path.read_bytes())
    return out
