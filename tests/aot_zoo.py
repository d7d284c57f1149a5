"""Tiny seeded int8 TFLite models that cover every op the AOT engine supports.

Test data, not product: used by the self-tests (host and QEMU bit-exactness against tflite_micro;
tests/conftest.py builds them once per session) and by benchmarks/fuzz_suite.py. TensorFlow is imported lazily: only building the zoo needs it.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

import aot_zoo_binary
import aot_zoo_heavy
import aot_zoo_movement
import aot_zoo_unary
from pipeline import atomic
from pipeline.keras_api import keras3


def _layers():
    return keras3().layers


def _init(seed: int, kernel: str = "kernel"):
    init = keras3().initializers
    return {f"{kernel}_initializer": init.RandomNormal(0.0, 0.5, seed=seed),
            "bias_initializer": init.RandomNormal(0.0, 0.3, seed=seed + 1)}


def _conv_stack():
    L = _layers()
    x = inp = L.Input((9, 7, 3), batch_size=1)
    x = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", **_init(1))(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", activation="relu6", **_init(3, "depthwise"))(x)
    x = L.Conv2D(5, 1, **_init(5))(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(6, **_init(7))(x)
    return inp, L.Softmax()(x)


def _residual():
    L = _layers()
    x = inp = L.Input((8, 8, 4), batch_size=1)
    a = L.Conv2D(4, 3, padding="same", **_init(11))(x)
    b = L.Conv2D(4, 3, padding="same", activation="relu", **_init(13))(a)
    x = L.Add()([a, b])
    x = L.MaxPooling2D(2)(x)
    x = L.AveragePooling2D(2, strides=1, padding="valid")(x)
    x = L.Flatten()(x)
    x = L.Dense(3, activation="sigmoid", **_init(15))(x)
    return inp, x


def _conv1d():
    L = _layers()
    x = inp = L.Input((32, 2), batch_size=1)
    x = L.Conv1D(4, 5, strides=2, padding="same", activation="relu", **_init(21))(x)
    x = L.Conv1D(6, 3, padding="valid", dilation_rate=2, **_init(23))(x)
    x = L.MaxPooling1D(2)(x)
    x = L.GlobalAveragePooling1D()(x)
    return inp, L.Dense(4, **_init(25))(x)


def _concat_mul_pad():
    L = _layers()
    x = inp = L.Input((6, 5, 3), batch_size=1)
    p = L.ZeroPadding2D(((1, 2), (0, 1)))(x)
    a = L.Conv2D(4, 3, padding="valid", **_init(31))(p)
    b = L.DepthwiseConv2D((3, 2), strides=(1, 1), depth_multiplier=3, padding="valid", **_init(33, "depthwise"))(
        L.ZeroPadding2D(((1, 2), (0, 0)))(x))
    b = L.Conv2D(4, 1, **_init(35))(b)
    m = L.Multiply()([a, b])
    c = L.Concatenate(axis=-1)([m, a])
    c = L.AveragePooling2D((2, 3), strides=(2, 1), padding="same")(c)
    return inp, L.Activation("sigmoid")(c)


def _pad_pool():
    """A PAD the compiler cannot fold into a convolution (its reader is a pooling), so the PAD
    kernel itself runs; and one that it folds into the convolution after it."""
    L = _layers()
    x = inp = L.Input((5, 6, 4), batch_size=1)
    x = L.ZeroPadding2D(((2, 1), (1, 3)))(x)
    x = L.MaxPooling2D(2)(x)
    x = L.ZeroPadding2D(((0, 1), (1, 0)))(x)
    return inp, L.Conv2D(3, 2, strides=2, padding="valid", **_init(41))(x)


def _dense():
    L = _layers()
    x = inp = L.Input((10,), batch_size=1)
    x = L.Dense(8, activation="relu", **_init(41))(x)
    x = L.Dense(5, **_init(43))(x)
    return inp, L.Softmax()(x)


def _dw_strided():
    L = _layers()
    x = inp = L.Input((11, 6, 2), batch_size=1)
    x = L.DepthwiseConv2D((3, 2), strides=(2, 1), depth_multiplier=3, padding="same",
                          activation="relu", **_init(51, "depthwise"))(x)
    x = L.Conv2D(3, (2, 3), strides=(1, 2), padding="same", activation="relu6", **_init(53))(x)
    x = L.MaxPooling2D((3, 2), strides=(2, 2), padding="same")(x)
    return inp, L.Reshape((-1,))(x)


def _activations():
    L = _layers()
    x = inp = L.Input((4, 64), batch_size=1)
    a = L.Activation("sigmoid")(x)
    b = L.Softmax()(L.Reshape((4, 64))(x))
    return inp, L.Concatenate(axis=-1)([L.Reshape((4, 64))(a), b])


def _broadcast():
    L = _layers()
    x = inp = L.Input((5, 6, 3), batch_size=1)
    x = L.Conv2D(4, 3, padding="same", **_init(61))(x)
    m = keras3().ops.mean(x, axis=(1, 2), keepdims=True)          # MEAN keep_dims
    g = L.Activation("sigmoid")(L.Conv2D(4, 1, **_init(63))(m))     # squeeze-excite gate
    y = x + m                                                        # broadcast ADD
    y = y * g                                                        # broadcast MUL
    return inp, y + 0.5                                              # ADD with a constant


def _float_edges():
    L = _layers()
    x = inp = L.Input((12,), batch_size=1)
    x = L.Dense(7, activation="relu", **_init(71))(x)
    return inp, L.Dense(3, **_init(73))(x)


def _means():
    """Two outputs; MEAN keep_dims over n = 81 and n = 30 (30: the multiplier with 1/n folded
    in is not normalised, where a naive requantization differs from TFLM)."""
    L, ops = _layers(), keras3().ops
    a = L.Input((9, 9, 2), batch_size=1)
    b = L.Conv2D(4, (5, 4), **_init(91))(a)
    return a, [ops.mean(a, axis=(1, 2), keepdims=True), ops.mean(b, axis=(1, 2), keepdims=True)]


def _unsupported():
    """An int8 EXP, which the stock converter emits but TFLite Micro runs only on float32 (its
    Prepare refuses int8), so no Cortex-M engine can run it."""
    L = _layers()
    x = inp = L.Input((8,), batch_size=1)
    return inp, keras3().ops.exp(L.Dense(4, **_init(81))(x))


# name -> builder returning (keras input, keras output), or the .tflite bytes of a model built by
# hand (ops the stock converter never emits as int8)
ZOO: dict[str, Callable] = {
    "conv_stack": _conv_stack, "residual": _residual, "conv1d": _conv1d,
    "concat_mul_pad": _concat_mul_pad, "dense": _dense, "dw_strided": _dw_strided,
    "activations": _activations, "broadcast": _broadcast, "float_edges": _float_edges,
    "means": _means, "pad_pool": _pad_pool,
}
# each op family's models (tests/aot_zoo_<family>.py), one module per family
for _family in (aot_zoo_unary, aot_zoo_movement, aot_zoo_binary, aot_zoo_heavy):
    _clash = set(ZOO) & set(_family.ZOO)
    if _clash:
        raise ValueError(f"zoo model names defined twice: {sorted(_clash)}")
    ZOO.update(_family.ZOO)
# Models the engine must reject (and the reason it must give).
REJECTS: dict[str, Callable] = {"unsupported_exp": _unsupported}
# Models kept float at the edges: QUANTIZE in, DEQUANTIZE out.
FLOAT_IO = {"float_edges"}


def convert(inp, out, seed: int = 0, samples: int = 24, int8_io: bool = True) -> bytes:
    """Full-int8 conversion (int8 in/out) with a seeded representative dataset."""
    model = keras3().Model(inp, out)
    ins = inp if isinstance(inp, list) else [inp]
    shapes = [tuple(1 if d is None else int(d) for d in i.shape) for i in ins]   # a free batch: 1
    rng = np.random.default_rng(seed)
    return convert_model(model, [[rng.normal(0, 1, s).astype(np.float32) for s in shapes] for _ in range(samples)],
                         int8_io)


def convert_model(model, reps: list[list[np.ndarray]], int8_io: bool = True) -> bytes:
    """The stock TFLiteConverter, full int8, calibrated on `reps` (one list of inputs per sample)."""
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(reps)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def build(names: list[str] | None, out_dir: Path) -> dict[str, Path]:
    """Write <name>.tflite for each zoo model into out_dir (skips files already there)."""
    out_dir = Path(out_dir)
    paths = {}
    builders = {**ZOO, **REJECTS}
    for name in names or list(ZOO):
        path = out_dir / f"{name}.tflite"
        if not path.exists():
            keras3().utils.set_random_seed(0)
            got = builders[name]()   # (keras input, output), or a flatbuffer built by hand
            data = got if isinstance(got, bytes) else convert(*got, int8_io=name not in FLOAT_IO)
            atomic.write_bytes(path, data)
        paths[name] = path
    return paths
