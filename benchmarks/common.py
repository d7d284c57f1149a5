"""Shared helpers for suites: build the default student through the real pipeline, stats."""
from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.build import run_build
from pipeline.config import Config
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

BUILD_DIR = Path(__file__).resolve().parent.parent / "build" / "bench"


def zoo_module():
    """The zoo of small Keras models (tests/aot_zoo.py): test data, which the fuzz seeds and the perf
    baseline also build, so they import it from the tests folder rather than from the package."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import aot_zoo
    return aot_zoo


def byom_zoo_module():
    """The BYOM zoo (tests/byom_zoo.py: ordinary PyTorch and Keras models), from the tests folder
    like `zoo_module`."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import byom_zoo
    return byom_zoo


def built_artifacts(target: str, dataset: str, until: str, progress: Progress, **sections) -> dict:
    """Artifacts of the real build chain (cached across suites and runs in build/bench)."""
    cfg = Config().with_overrides(build={"dir": str(BUILD_DIR)}, data={"dataset": dataset}, **sections)
    return run_build(load_all().get(target), cfg, until=until, progress=progress).artifacts


def interleaved_timings(runners: dict[str, Callable[[], None]], rounds: int, warmup: int = 3) -> dict[str, list[float]]:
    """Time each runner once per round, in turn, so drift (thermal, other load) hits all alike."""
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, fn in runners.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e6)
    return times


def summary_us(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"median_us": statistics.median(s), "p90_us": s[int(0.9 * (len(s) - 1))], "min_us": s[0], "n": len(s)}
