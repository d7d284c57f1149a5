"""Stage `package`: hand the converted model to the target kind's adapter (bundle, firmware, app)."""
from __future__ import annotations

from ..adapters import ADAPTERS
from .base import Artifact, Context

NAME = "package"
INPUTS = ("data", "convert", "verify")
CONFIG_SECTIONS: tuple[str, ...] = ()
# Everything an adapter may read from the target enters the key: a board edit re-packages.
TARGET_FIELDS = ("id", "kind", "arch", "core", "fpu", "clock_mhz", "flash_kb", "ram_kb", "threads",
                 "runtimes", "emulator", "board")


OPTION_KEYS = ("engine", "tflm_dir", "android_package")


# What users look for at the top of build/<target>/ (the Pi bundle, the Android project, firmware).
PUBLISHED = ("bundle", "bundle.tar.gz", "android", "firmware", "tflm")


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    artifact = ADAPTERS.get(ctx.target.kind).package(ctx, inputs)
    publish = artifact.meta.setdefault("publish", {})
    for name in PUBLISHED:
        if (artifact.dir / name).exists():
            publish.setdefault(name, name)
    return artifact
