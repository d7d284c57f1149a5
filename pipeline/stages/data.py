"""Stage `data`: load the configured dataset, validate it, split it, normalise it, record how.

With `--model` the samples take that model's own input shape (its digest is in this stage's key)."""
from __future__ import annotations

from .. import data as datasets
from .base import Artifact, Context

NAME = "data"
INPUTS: tuple[str, ...] = ()
CONFIG_SECTIONS = ("data",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    with ctx.progress.status(f"loading dataset {ctx.config.data.dataset}"):
        ds = datasets.load(ctx.config.data, ctx.model_path)
    ds.save(ctx.out_dir)
    meta = ds.describe()
    sizes = meta["sizes"]
    ctx.progress.log(
        f"  {meta['name']}: {meta['num_classes']} classes, input {meta['input_shape']}, "
        f"train/val/test/calib = {sizes['train']}/{sizes['val']}/{sizes['test']}/{sizes['calib']}"
    )
    return ctx.artifact(meta)


def load_dataset(artifact: Artifact) -> datasets.Dataset:
    """For downstream stages: the Dataset behind a `data` artifact."""
    return datasets.Dataset.load(artifact.dir, artifact.meta)
