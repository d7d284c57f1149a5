"""Shared fixtures for the reliability sweep: tiny real int8 models and a CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PIPELINE = str(Path(sys.executable).parent / "pipeline")


def one_line(text: str) -> str:
    """The single non-empty line of `text` (fails on tracebacks or multi-line errors)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    assert "Traceback" not in text
    return lines[0]


def error_line(stderr: str) -> str:
    """For commands that log progress on stderr (build): exactly one `error:` line, and it is last."""
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    return errors[0]


def cli(*args, cwd=None, env=None, timeout=600, replace_env=False):
    full = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
    return subprocess.run([PIPELINE, *map(str, args)], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """{dense, conv1d}: zoo int8 models; float: a float-only model (no quantization at all)."""
    import aot_zoo as zoo

    base = tmp_path_factory.getbasetemp() / "zoo"
    paths = dict(zoo.build(["dense", "conv1d"], base))
    flt = base / "float_only.tflite"
    if not flt.exists():
        import tensorflow as tf
        from pipeline.keras_api import keras3
        keras = keras3()

        keras.utils.set_random_seed(0)
        inp = keras.layers.Input((16,), batch_size=1)
        out = keras.layers.Dense(4)(inp)
        data = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out)).convert()
        flt.write_bytes(data)
    paths["float"] = flt
    return paths
