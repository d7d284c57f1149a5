"""The stage contract. Every stage is one module with:

    NAME: str                      # e.g. "teacher"
    INPUTS: tuple[str, ...]        # upstream stage names whose artifacts `run` receives
    CONFIG_SECTIONS: tuple[str, ...]  # config sections it reads; only these enter its cache key
    TARGET_FIELDS: tuple[str, ...] # target fields it reads (e.g. "flash_kb"); () = target-independent
    OPTION_KEYS: tuple[str, ...]   # optional: CLI options that enter the key ("device", "engine")
    def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact

`run` writes its files into `ctx.out_dir` (a temporary directory that becomes the cache entry
atomically when `run` returns) and returns `ctx.artifact(meta)`. It must not write anywhere else
except through `ctx.out_dir`: a killed build then leaves no partial cache entry.
The cache key is sha256(stage code + CONFIG_SECTIONS values + TARGET_FIELDS values + input
artifact digests), so changing a stage's code or config re-runs it and everything after it. The
stage code is derived from its imports (pipeline/code_closure.py), never listed by hand.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..options import BuildOptions

if TYPE_CHECKING:
    from ..config import Config
    from ..targets import Target
    from .progress import Progress

META_FILE = "meta.json"


@dataclass(frozen=True)
class Artifact:
    """A finished stage output: a directory of files plus a JSON-able `meta` dict."""

    stage: str
    dir: Path
    meta: dict[str, Any] = field(default_factory=dict)
    key: str = ""  # the cache key it was stored under ("" while being built)

    def path(self, name: str) -> Path:
        """A file of this artifact; raises if the stage did not write it."""
        p = self.dir / name
        if not p.exists():
            raise FileNotFoundError(f"artifact '{self.stage}' has no file '{name}'")
        return p

    def files(self) -> list[Path]:
        return sorted(p for p in self.dir.rglob("*") if p.is_file() and p.name != META_FILE)

    @classmethod
    def load(cls, stage: str, directory: Path, key: str = "") -> Artifact:
        meta = json.loads((directory / META_FILE).read_text())
        return cls(stage=stage, dir=directory, meta=meta.get("meta", {}), key=key)


@dataclass
class Context:
    """What a stage may read: the config, the target, its output dir, and UI helpers."""

    config: Config
    target: Target
    out_dir: Path
    build_dir: Path
    progress: Progress
    # Set by `pipeline build --model PATH`: training stages are skipped (see issue #4).
    model_path: Path | None = None
    options: BuildOptions = field(default_factory=lambda: BuildOptions())  # device, engine, ... (frozen)

    def __post_init__(self):
        self.options = BuildOptions.of(self.options)   # a dict from a caller: validated by name

    def artifact(self, meta: dict[str, Any] | None = None) -> Artifact:
        return Artifact(stage=self.out_dir.name, dir=self.out_dir, meta=dict(meta or {}))
