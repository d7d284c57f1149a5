"""Fixtures for the Android tests: a tiny real int8 model, fake stage artifacts, a recorded device."""
from __future__ import annotations

import json
import os
import stat
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.stages.base import Artifact, Context
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

SHAPE = (2, 4, 4)  # channels-first sample: C=2 makes the channels-last transpose observable
LABELS = ["left", 'say "hi" $x', "none"]  # quotes and $ exercise the Kotlin string escaping
MEAN, STD = 0.5, 0.25


def _raw_samples(rng, n):
    """Class 0: channel 0 bright on the left; class 1: channel 1 bright on the right; 2: neither."""
    y = rng.integers(0, 3, n)
    x = rng.uniform(0.0, 0.8, (n, *SHAPE)).astype(np.float32)
    x[y == 0, 0, :, :2] += 0.3
    x[y == 1, 1, :, 2:] += 0.3
    return x, y


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A small Keras CNN, trained a few epochs and converted to full int8 (int8 in/out) with TFLite."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()

    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    x_raw, y = _raw_samples(rng, 600)
    x = (x_raw - MEAN) / STD  # the data stage stores normalised, channels-first arrays
    x_cl = np.transpose(x, (0, 2, 3, 1))
    model = keras.Sequential([
        keras.Input((4, 4, 2)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(3),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_cl[:500], y[:500], epochs=30, batch_size=32, verbose=0)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x_cl[i:i + 1]] for i in range(100))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    root = tmp_path_factory.mktemp("tiny")
    (root / "convert").mkdir()
    (root / "data").mkdir()
    model_path = root / "convert" / "model_int8.tflite"
    with warnings.catch_warnings():  # "Statistics for quantized inputs were expected": int8 I/O, on purpose
        warnings.simplefilter("ignore", UserWarning)
        model_path.write_bytes(conv.convert())
    arrays = {f"{a}_{s}": v for s, (xs, ys) in {"train": (x[:400], y[:400]), "val": (x[400:500], y[400:500]),
                                                   "test": (x[500:], y[500:]), "calib": (x[:100], y[:100])}.items()
              for a, v in (("x", xs), ("y", ys))}
    np.savez(root / "data" / "dataset.npz", **arrays)
    meta = {"name": "tiny", "labels": LABELS, "num_classes": 3, "input_shape": list(SHAPE), "layout": "image",
            "normalization": {"mean": MEAN, "std": STD}}
    return {
        "model": model_path,
        "x_test": x[500:], "y_test": y[500:], "x_raw_test": x_raw[500:],
        "inputs": {"data": Artifact(stage="data", dir=root / "data", meta=meta),
                   "convert": Artifact(stage="convert", dir=root / "convert", meta={})},
    }


@pytest.fixture
def android_target():
    return load_all().get("android-arm64")


@pytest.fixture
def make_ctx(tmp_path, android_target):
    def _make(name: str, **options) -> Context:
        out = tmp_path / name
        out.mkdir()
        return Context(config=Config(), target=android_target, out_dir=out, build_dir=tmp_path / "build",
                       progress=Progress(enabled=False), options=options)

    return _make


@pytest.fixture(scope="session")
def packaged(tiny, tmp_path_factory):
    """The package stage run once for the tiny model (its Artifact)."""
    from pipeline.adapters import android

    out = tmp_path_factory.mktemp("package")
    ctx = Context(config=Config(), target=load_all().get("android-arm64"), out_dir=out,
                  build_dir=out.parent / "build", progress=Progress(enabled=False), options={})
    return android.package(ctx, tiny["inputs"])


@dataclass
class RecordedDevice:
    """Handle on the fake adb: give it rules, read back the argument lists it received."""

    script: Path
    log: Path

    def rules(self, rules: list[dict]) -> None:
        self.script.write_text(json.dumps(rules))

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def recorded_device(tmp_path, monkeypatch) -> RecordedDevice:
    """A fake `adb` first on PATH that logs its arguments and replays recorded outputs."""
    bindir = tmp_path / "fake-bin"
    bindir.mkdir()
    exe = bindir / "adb"
    exe.write_text(f"#!{sys.executable}\n" + (Path(__file__).parent / "fake_adb.py").read_text())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    dev = RecordedDevice(script=tmp_path / "adb-script.json", log=tmp_path / "adb-log.jsonl")
    dev.rules([])
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_ADB_SCRIPT", str(dev.script))
    monkeypatch.setenv("FAKE_ADB_LOG", str(dev.log))
    return dev
