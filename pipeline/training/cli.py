"""`train_command`: train the teacher on the configured dataset, single process or under torchrun.

    torchrun --nproc_per_node 2 -m pipeline.training.cli --out DIR [--config pipeline.toml]
    python -m pipeline.training.cli --out DIR

Under torchrun (WORLD_SIZE > 1) it trains with DDP (gloo on CPU, nccl on GPU); the result equals
the single-process run up to float rounding (see `pipeline.training.dist`). Rank 0 writes
`DIR/teacher.pt` and `DIR/teacher.json`; checkpoints go to `DIR/checkpoints/` (resumed when present,
removed on success).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .. import data as datasets
from ..atomic import write_json
from ..config import Config
from ..errors import PipelineError
from ..models import save_model
from . import api
from .dist import barrier, cleanup, setup


def train_command(config: Config, out_dir: Path, *, progress=None, on_epoch_end=None) -> None:
    """Train the teacher described by `config` (sections data + teacher) and write `out_dir/teacher.pt`."""
    out_dir = Path(out_dir)
    api.configure_threads()
    info = setup()
    try:
        ds = datasets.load(config.data)
        api.check_dataset(ds)
        splits = api.Splits(ds, info.device)
        resume = out_dir / "checkpoints"
        model, rec = api.train_teacher(splits, config.teacher, dist=info, resume_dir=resume,
                                       progress=progress if info.is_main else None, on_epoch_end=on_epoch_end)
        if info.is_main:
            save_model(model, model.spec, out_dir / "teacher.pt")
            write_json(out_dir / "teacher.json", {**rec, "spec": model.spec, "world_size": info.world,
                                                  "device": info.device.type, "dataset": ds.name})
        barrier(info)
        if info.is_main:
            shutil.rmtree(resume, ignore_errors=True)
    finally:
        cleanup(info)


def main(argv: list[str] | None = None) -> int:
    from ..config import load

    p = argparse.ArgumentParser(prog="python -m pipeline.training.cli", description="train the teacher (DDP-aware)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--dataset", default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--max-train-samples", type=int, default=None)
    a = p.parse_args(argv)
    try:
        cfg = load(a.config)
        data = {}
        if a.dataset:
            data["dataset"] = a.dataset
        if a.max_train_samples:
            data["max_train_samples"] = a.max_train_samples
        teacher = {"epochs": a.epochs} if a.epochs else {}
        if data or teacher:
            cfg = cfg.with_overrides(data=data, teacher=teacher)
        train_command(cfg, a.out)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
