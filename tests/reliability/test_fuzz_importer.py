"""Fuzz read_model + compile_model with hypothesis mutations of real int8 models: every input
compiles or raises a one-line PipelineError (never another exception, never a hang).

The ≥ 100,000-input run is benchmarks/fuzz_suite.py (`python -m benchmarks.fuzz_suite`)."""
from __future__ import annotations

import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import REPO


def _suite():
    """benchmarks/fuzz_suite.py by path (tests/benchmarks shadows the `benchmarks` package here)."""
    import importlib.util
    import sys

    if "pipeline_fuzz_suite" not in sys.modules:
        spec = importlib.util.spec_from_file_location("pipeline_fuzz_suite", REPO / "benchmarks" / "fuzz_suite.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["pipeline_fuzz_suite"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["pipeline_fuzz_suite"]


check, mutate = _suite().check, _suite().mutate

_SEEDS: dict[str, bytes] = {}


@pytest.fixture(scope="module")
def seeds(models):
    import aot_zoo as zoo

    paths = zoo.build(["dense", "conv1d", "conv_stack", "residual"], models["dense"].parent)
    _SEEDS.update({k: p.read_bytes() for k, p in paths.items()})
    return _SEEDS


_edit = st.tuples(st.integers(0, 1 << 20), st.sampled_from([0, 1, 2, 3, 4, 5]),
                  st.integers(0, (1 << 32) - 1))


def _apply(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for pos, op, val in edits:
        if not b:
            break
        pos %= len(b)
        if op == 0:
            b[pos] = val & 0xFF
        elif op == 1:  # a 32-bit offset / length / index
            b[pos:pos + 4] = struct.pack("<I", val)[: len(b) - pos]
        elif op == 2:
            b[pos:pos + 2] = struct.pack("<H", val & 0xFFFF)[: len(b) - pos]
        elif op == 3:
            del b[pos:pos + val % 16 + 1]
        elif op == 4:
            b[pos:pos] = val.to_bytes(4, "little")
        else:
            del b[max(8, pos):]
    return bytes(b)


def _run(seeds, n):
    names = sorted(seeds)

    @settings(max_examples=n, deadline=2000, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(names), st.lists(_edit, min_size=1, max_size=6))
    def inner(name, edits):
        check(_apply(seeds[name], edits))

    inner()


def test_fuzz_importer_quick(seeds):
    _run(seeds, 600)


@pytest.mark.slow
def test_fuzz_importer_ci(seeds):
    _run(seeds, 3000)


def test_fuzz_suite_mutator_small_run(seeds):
    """The benchmark's own engine (same check) on 500 inputs: zero crashes, zero hangs."""
    res = _suite().fuzz(500, seeds, time_limit=5.0, seed=1)
    assert res["crashes"] == 0, res["crash_examples"]
    assert res["hangs"] == 0
    assert res["compiled"] + res["clean_errors"] == 500


def test_fuzz_suite_splits_over_processes():
    """What `make bench` runs, as a user runs it (`python -m benchmarks.fuzz_suite N` from the repo):
    the engine on one spawned process per core, each its own seed; the counts add up to N."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "benchmarks.fuzz_suite", "300"], cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    rows = dict(line.strip("|").split("|")[:2] for line in res.stdout.splitlines() if line.startswith("| "))
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert rows["inputs"] == "300" and rows["crashes (other exceptions)"] == "0" and rows["hangs (> 2 s CPU)"] == "0"
    assert int(rows["compiled"].replace(",", "")) + int(rows["clean PipelineError"].replace(",", "")) == 300
    assert int(rows["processes (seed, seed + 1, ...)"]) >= 1


def test_random_mutator_is_deterministic(seeds):
    a = [mutate(seeds["dense"], random.Random(3), []) for _ in range(3)]
    b = [mutate(seeds["dense"], random.Random(3), []) for _ in range(3)]
    assert a == b


FINDINGS = sorted((REPO / "tests" / "reliability" / "fuzz_findings").glob("*.tflite"))


@pytest.mark.parametrize("path", FINDINGS, ids=[p.stem for p in FINDINGS])
def test_inputs_the_fuzzer_once_crashed_on_fail_cleanly(path):
    """Regression corpus: each file crashed the importer in a `make bench` fuzz run (e.g. a CONV_2D
    whose bias is longer than its output channels raised a numpy ValueError while packing)."""
    from pipeline.aot.compile.compiler import compile_model
    from pipeline.errors import PipelineError
    from pipeline.tflite import read_model

    with pytest.raises(PipelineError) as err:
        compile_model(read_model(path.read_bytes()))
    assert "\n" not in str(err.value)
    if path.stem.startswith("conv_bias"):
        assert "bias has 6 values for 4 output channels" in str(err.value)
