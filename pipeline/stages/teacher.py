"""Stage `teacher`: train the server-side teacher (ResNet-style CNN for images, 1-D ResNet for signals).

Files: `teacher.pt` (`pipeline.models.load_model`). Meta: family, spec, accuracy (test split),
val_accuracy, params, macs, epochs, best_epoch, wall_s, device. An interrupted run resumes from
`<build>/checkpoints/teacher/` (a checkpoint after every epoch).
"""
from __future__ import annotations

import shutil

from ..models import save_model
from ..training import api
from ..training.dist import pick_device
from .base import Artifact, Context
from .data import load_dataset

NAME = "teacher"
INPUTS = ("data",)
CONFIG_SECTIONS = ("teacher",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    api.configure_threads()
    ds = load_dataset(inputs["data"])
    api.check_dataset(ds)
    device = pick_device()
    splits = api.Splits(ds, device)
    resume = ctx.build_dir / "checkpoints" / NAME
    model, rec = api.train_teacher(splits, ctx.config.teacher, resume_dir=resume / f"seed{ctx.config.teacher.seed}",
                                   progress=ctx.progress)
    save_model(model, model.spec, ctx.out_dir / "teacher.pt")
    ctx.progress.log(
        f"  teacher {rec['family']}: {rec['params']:,} params, {rec['macs']:,} MACs, test accuracy "
        f"{rec['accuracy']:.4f} after {rec['epochs']} epochs ({rec['wall_s']:.0f} s on {device.type})"
    )
    shutil.rmtree(resume, ignore_errors=True)
    return ctx.artifact({**rec, "spec": model.spec, "device": device.type, "file": "teacher.pt"})
