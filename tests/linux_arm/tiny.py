"""A tiny full-int8 TFLite classifier and fake upstream artifacts, made in seconds for adapter tests.

Dataset: 8x8 single-channel images, channels first [N, 1, 8, 8] like the real data stage; the class
is the brightest quadrant (4 classes). The int8 model takes channels last [1, 8, 8, 1].
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipeline.stages.base import Artifact

LABELS = ["top-left", "top-right", "bottom-left", "bottom-right"]
MEAN, STD = 0.5, 0.25


def dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.6, size=(n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, size=n)
    for i, c in enumerate(y):
        r, col = divmod(int(c), 2)
        x[i, 0, r * 4:(r + 1) * 4, col * 4:(col + 1) * 4] += 0.4
    return ((x - MEAN) / STD).astype(np.float32), y.astype(np.int64)


def make_artifacts(root: Path) -> dict[str, Artifact]:
    """Train 3 epochs, convert to full int8; returns {'convert': ..., 'data': ...} artifacts."""
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()

    keras.utils.set_random_seed(0)
    x_train, y_train = dataset(512, 1)
    x_test, y_test = dataset(200, 2)
    to_nhwc = lambda a: a.transpose(0, 2, 3, 1)  # noqa: E731
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu"),
        keras.layers.AveragePooling2D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(4),
    ])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(to_nhwc(x_train), y_train, epochs=8, batch_size=32, verbose=0)

    def rep():
        for i in range(64):
            yield [to_nhwc(x_train[i:i + 1])]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    int8 = conv.convert()
    fconv = tf.lite.TFLiteConverter.from_keras_model(model)

    cdir, ddir = root / "convert", root / "data"
    cdir.mkdir(parents=True)
    ddir.mkdir(parents=True)
    (cdir / "model_int8.tflite").write_bytes(int8)
    (cdir / "model_float.tflite").write_bytes(fconv.convert())
    np.savez(ddir / "dataset.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    meta = {"labels": LABELS, "normalization": {"mean": [MEAN], "std": [STD]},
            "input_shape": [1, 8, 8], "layout": "NCHW"}
    (ddir / "meta.json").write_text(json.dumps({"meta": meta}))
    return {"convert": Artifact(stage="convert", dir=cdir, meta={}),
            "data": Artifact(stage="data", dir=ddir, meta=meta)}


def host_reference(model: Path, x: np.ndarray, kernels: str = "reference") -> np.ndarray:
    """Outputs of the host LiteRT for an int8 batch [N, *input_shape], one sample at a time."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if kernels == "reference" else {}
    interp = Interpreter(model_path=str(model), **kw)
    interp.allocate_tensors()
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    outs = []
    for s in x:
        interp.set_tensor(i["index"], s[None])
        interp.invoke()
        outs.append(interp.get_tensor(o["index"])[0].copy())
    return np.stack(outs)


def quantize_nhwc(model: Path, x_nchw: np.ndarray) -> np.ndarray:
    """Dataset batch -> the model's int8 channels-last input, written independently of the bundle."""
    from ai_edge_litert.interpreter import Interpreter

    scale, zp = Interpreter(model_path=str(model)).get_input_details()[0]["quantization"]
    v = x_nchw.transpose(0, 2, 3, 1) / np.float32(scale)
    v = np.sign(v) * np.floor(np.abs(v) + 0.5)
    return np.clip(v + zp, -128, 127).astype(np.int8)


def two_output_model(path: Path) -> Path:
    """A full-int8 model with two outputs (for the .npz outputs path of `pipeline run`)."""
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()

    inp = keras.Input((6,))
    h = keras.layers.Dense(5, activation="relu")(inp)
    model = keras.Model(inp, [keras.layers.Dense(3, name="a")(h), keras.layers.Dense(2, name="b")(h)])
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(32):
            yield [rng.normal(size=(1, 6)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path.write_bytes(conv.convert())
    return path
