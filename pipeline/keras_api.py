"""Which Keras, by name — never whatever `tf.keras` happens to be.

`tf.keras` is a lazy alias that TensorFlow resolves the first time it is touched: to Keras 3 when
`TF_USE_LEGACY_KERAS` is unset, to tf_keras (Keras 2) when it is "1". onnx2tf 1.28.8 sets that
variable in `os.environ` on import, so every process started after it (a test's `python -m
benchmarks.fuzz_suite`, a worker) inherited Keras 2, and `tf.keras.ops` — Keras 3 only — failed
there and nowhere else (issue #16: it depended on test order, not on the code).

So:
- every model this project builds with Keras uses Keras 3, imported as `keras` (`keras3()`);
  `tf.lite.TFLiteConverter.from_keras_model` converts Keras 3 models whichever way `tf.keras`
  resolved (checked with TF 2.21 both ways);
- onnx2tf, which is written against tf_keras, is imported only through `onnx2tf()`: `tf.keras`
  is resolved while the variable is set (so onnx2tf gets the Keras it expects, unless something
  in this process already resolved it), then the variable is restored so nothing started later
  inherits the choice.
"""
from __future__ import annotations

import os
from types import ModuleType

_LEGACY = "TF_USE_LEGACY_KERAS"


def keras3() -> ModuleType:
    """Keras 3 itself (the `keras` package), whatever `tf.keras` points at in this process."""
    import keras

    if not keras.__version__.startswith("3."):
        raise ImportError(f"keras {keras.__version__} is installed where Keras 3 is required")
    return keras


def onnx2tf() -> ModuleType:
    """The onnx2tf module, imported without leaking its `TF_USE_LEGACY_KERAS=1` into os.environ."""
    before = os.environ.get(_LEGACY)
    try:
        os.environ[_LEGACY] = "1"
        import onnx2tf as module
        import tensorflow as tf

        getattr(tf.keras, "layers", None)  # resolve the lazy alias now, while the variable is set
    finally:
        if before is None:
            os.environ.pop(_LEGACY, None)
        else:
            os.environ[_LEGACY] = before
    return module


def tf_keras() -> ModuleType:
    """tf_keras (Keras 2), for the one place that needs it: clearing onnx2tf's graph state."""
    import tf_keras as module

    return module
