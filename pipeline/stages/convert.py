"""Stage `convert` (issue #4)."""
from __future__ import annotations

from ..errors import NotImplementedYet
from .base import Artifact, Context

NAME = "convert"
INPUTS = ("data", "compress",)
CONFIG_SECTIONS = ("convert", "quantize",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    raise NotImplementedYet("stage 'convert' is not implemented yet (issue #4)")
