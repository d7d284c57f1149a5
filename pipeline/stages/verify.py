"""Stage `verify` (issue #4)."""
from __future__ import annotations

from ..errors import NotImplementedYet
from .base import Artifact, Context

NAME = "verify"
INPUTS = ("data", "compress", "convert",)
CONFIG_SECTIONS = ("verify",)
TARGET_FIELDS: tuple[str, ...] = ()


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    raise NotImplementedYet("stage 'verify' is not implemented yet (issue #4)")
