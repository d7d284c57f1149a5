"""Stage `teacher` (issue #3)."""
from __future__ import annotations

from ..errors import NotImplementedYet
from .base import Artifact, Context

NAME = "teacher"
INPUTS = ("data",)
CONFIG_SECTIONS = ("teacher",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    raise NotImplementedYet("stage 'teacher' is not implemented yet (issue #3)")
