from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CONFIG = """
[data]
dataset = "digits"
max_train_samples = 300
[teacher]
epochs = 2
width = 8
optimizer = "sgd"
lr = 0.05
"""


def _run(cmd, cwd):
    env = dict(os.environ, PIPELINE_TORCH_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_ddp_two_processes_equal_single_process(tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    cfg = tmp_path / "pipeline.toml"
    cfg.write_text(CONFIG)
    repo = Path(__file__).resolve().parents[2]
    _run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "pipeline.training.cli",
          "--out", str(tmp_path / "ddp"), "--config", str(cfg)], repo)
    _run([sys.executable, "-m", "pipeline.training.cli", "--out", str(tmp_path / "single"), "--config", str(cfg)], repo)
    a = torch.load(tmp_path / "single" / "teacher.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "ddp" / "teacher.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-5, rtol=1e-4), k
    assert not (tmp_path / "ddp" / "checkpoints").exists()
    import json

    meta = json.loads((tmp_path / "ddp" / "teacher.json").read_text())
    assert meta["world_size"] == 2
