"""Stage `distill` (issue #3)."""
from __future__ import annotations

from ..errors import NotImplementedYet
from .base import Artifact, Context

NAME = "distill"
INPUTS = ("data", "teacher",)
CONFIG_SECTIONS = ("student", "distill",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    raise NotImplementedYet("stage 'distill' is not implemented yet (issue #3)")
