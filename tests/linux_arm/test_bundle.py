"""The bundle: contents, determinism, and its runner/bench on the host's plain python + LiteRT."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from pipeline.adapters import linux_arm

from .conftest import host_accuracy
from .tiny import LABELS

pytestmark = pytest.mark.slow

EXPECTED = {"model_int8.tflite", "model_float.tflite", "labels.json", "preprocess.json", "test_x.npy",
            "test_y.npy", "runner.py", "bench.py", "requirements.txt", "install.sh",
            "pipeline-bench.service", "README.md"}


def test_bundle_contents(packaged, artifacts):
    b = packaged.dir / "bundle"
    assert {p.name for p in b.iterdir()} == EXPECTED
    assert (packaged.dir / "bundle.tar.gz").is_file()
    pre = json.loads((b / "preprocess.json").read_text())
    assert pre["transpose"] == [0, 2, 3, 1] and pre["sample_shape"] == [1, 8, 8]
    assert pre["model_input_shape"] == [1, 8, 8, 1] and pre["input_dtype"] == "int8"
    assert pre["mean"] == [0.5] and pre["std"] == [0.25] and pre["input_scale"] > 0
    assert json.loads((b / "labels.json").read_text()) == LABELS
    with np.load(artifacts["data"].path("dataset.npz")) as z:
        assert np.array_equal(np.load(b / "test_x.npy"), z["x_test"])
    assert (b / "model_int8.tflite").read_bytes() == artifacts["convert"].path("model_int8.tflite").read_bytes()
    assert packaged.meta["files"]["model_int8.tflite"]
    for script in ("runner.py", "bench.py", "install.sh"):
        assert (b / script).stat().st_mode & 0o100
    # the bundle stands alone: nothing in it imports the pipeline package
    for py in b.glob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+pipeline\b", py.read_text(), re.M), py
    assert "ai_edge_litert" in (b / "runner.py").read_text() and "tflite_runtime" in (b / "runner.py").read_text()


def test_package_is_deterministic(artifacts, rpi4, make_ctx, packaged):
    again = linux_arm.package(make_ctx(rpi4, "again"), artifacts)
    assert (again.dir / "bundle.tar.gz").read_bytes() == (packaged.dir / "bundle.tar.gz").read_bytes()


def _py(bundle_dir, *args, stdin=None):
    return subprocess.run([sys.executable, *args], cwd=bundle_dir, input=stdin, capture_output=True,
                          timeout=120)


def test_runner_on_host_file_and_stdin(packaged):
    b = packaged.dir / "bundle"
    x = np.load(b / "test_x.npy")[:3]
    np.save(b.parent / "three.npy", x)
    by_file = _py(b, "runner.py", str(b.parent / "three.npy"), "--top-k", "2", "--json")
    assert by_file.returncode == 0, by_file.stderr
    res = json.loads(by_file.stdout)
    assert len(res) == 3 and all(len(r) == 2 and r[0]["label"] in LABELS for r in res)
    buf = (b.parent / "three.npy").read_bytes()
    by_stdin = _py(b, "runner.py", "-", "--top-k", "2", "--json", stdin=buf)
    assert json.loads(by_stdin.stdout) == res
    bad = _py(b, "runner.py", "-", stdin=b"not an npy file")
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1


def test_bench_on_host_matches_host_accuracy(packaged, artifacts, tmp_path):
    b = packaged.dir / "bundle"
    out = tmp_path / "bench.json"
    proc = _py(b, "bench.py", "--runs", "3", "--warmup", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(out.read_text())
    assert set(rep) >= {"device", "runtime", "latency", "accuracy", "memory"}
    assert rep["runtime"] == {"name": "ai-edge-litert", "version": "2.3.0", "engine": "reference", "threads": 4}
    lat = rep["latency"]
    assert lat["unit"] == "us" and lat["runs"] == 3 and lat["inputs"] == 5 and lat["warmup"] == 1
    assert 0 < lat["min"] <= lat["median"] <= lat["max"] and lat["min"] <= lat["p90"] <= lat["max"]
    assert lat["comparable"] is True and "median of the per-input medians" in lat["note"]
    assert rep["accuracy"] == {"metric": "top1", "value": host_accuracy(artifacts), "n": 200}
    assert rep["memory"]["peak_rss_bytes"] > 1 << 20
    assert rep["model"]["input_shape"] == [1, 8, 8, 1] and len(rep["model"]["sha256"]) == 64
