"""Stage `compress` (issue #3)."""
from __future__ import annotations

from ..errors import NotImplementedYet
from .base import Artifact, Context

NAME = "compress"
INPUTS = ("data", "teacher", "distill",)
CONFIG_SECTIONS = ("prune", "quantize", "distill",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    raise NotImplementedYet("stage 'compress' is not implemented yet (issue #3)")
