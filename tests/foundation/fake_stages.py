"""Tiny real stage modules for testing the build mechanism (cache, atomicity, manifest).

They follow the stage contract exactly; `slow` sleeps so a test can kill a build inside it.
"""
from __future__ import annotations

import os
import time
import types

import numpy as np


def make(name: str, inputs: tuple[str, ...] = (), seconds: float = 0.0, sections: tuple[str, ...] = ()):
    mod = types.ModuleType(f"fake_stage_{name}")
    mod.__file__ = __file__
    mod.NAME = name
    mod.INPUTS = inputs
    mod.CONFIG_SECTIONS = sections
    mod.TARGET_FIELDS = ()

    def run(ctx, ins):
        total = sum(int(a.meta.get("value", 0)) for a in ins.values())
        # Write part of the output, then (maybe) take a while: a kill here leaves a partial dir.
        np.save(ctx.out_dir / "part1.npy", np.arange(1000) + total)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.environ.get("FAKE_STAGE_MARK"):
                open(os.environ["FAKE_STAGE_MARK"], "w").write(name)
            time.sleep(0.05)
        (ctx.out_dir / "part2.txt").write_text(f"{name} done")
        return ctx.artifact({"value": total + 1})

    mod.run = run
    return mod


def chain(slow_seconds: float = 0.0):
    return (
        make("alpha", (), 0.0, ("data",)),
        make("beta", ("alpha",), slow_seconds, ("teacher",)),
        make("gamma", ("alpha", "beta"), 0.0, ("bench",)),
    )
