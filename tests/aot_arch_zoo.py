"""Real architectures for the Cortex-M engine's op coverage (issue #20's zoo), built offline:
random weights (`weights=None`), one short fit on synthetic data so BatchNorm statistics are real,
then the stock TFLiteConverter, full int8. Test data, not product; small inputs keep CI minutes low.

Each model is checked bit-exact against the tflite_micro interpreter on the host build and in QEMU
(tests/aot/test_arch_zoo.py); a model that needs an op the engine lacks is a strict xfail naming it.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from aot_zoo import convert_model
from pipeline import atomic
from pipeline.keras_api import keras3


def _input(shape):
    """A batch of 1 fixed in the graph: with a free batch dimension the converter computes reshape
    targets at run time (SHAPE, STRIDED_SLICE, PACK, REDUCE_PROD, TILE), which a deployed model
    never needs."""
    return keras3().layers.Input(shape, batch_size=1)


def _mobilenet_v2():
    k = keras3()
    return k.applications.MobileNetV2(input_tensor=_input((48, 48, 3)), alpha=0.35, weights=None, classes=8)


def _mobilenet_v3_small(minimalistic: bool):
    k = keras3()
    return k.applications.MobileNetV3Small(input_tensor=_input((48, 48, 3)), alpha=0.75, minimalistic=minimalistic,
                                           weights=None, classes=8, include_preprocessing=False,
                                           dropout_rate=0.0)


def _mbconv(x, expand: int, out: int, stride: int, L):
    """EfficientNet-lite's block: expand 1x1, depthwise 3x3, project 1x1, ReLU6, no squeeze-excite
    (lite drops SE and swish for int8 accelerators)."""
    c = x.shape[-1]
    y = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(c * expand, 1, use_bias=False)(x)))
    y = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, stride, padding="same", use_bias=False)(y)))
    y = L.BatchNormalization()(L.Conv2D(out, 1, use_bias=False)(y))
    return L.Add()([x, y]) if stride == 1 and c == out else y


def _efficientnet_lite():
    L = keras3().layers
    x = inp = _input((48, 48, 3))
    x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(16, 3, 2, padding="same", use_bias=False)(x)))
    for expand, out, stride in ((1, 8, 1), (4, 16, 2), (4, 16, 1), (4, 24, 2), (4, 24, 1)):
        x = _mbconv(x, expand, out, stride, L)
    x = L.GlobalAveragePooling2D()(x)
    return keras3().Model(inp, L.Dense(8, activation="softmax")(x))


def _transformer_encoder():
    """One encoder block over 16 tokens of 32 features: multi-head attention (BATCH_MATMUL between
    activations), LayerNormalization (its int8 decomposition), a ReLU feed-forward, residual ADDs."""
    L = keras3().layers
    x = inp = _input((16, 32))
    a = L.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    x = L.LayerNormalization()(L.Add()([x, a]))
    f = L.Dense(32)(L.Dense(64, activation="relu")(x))
    x = L.LayerNormalization()(L.Add()([x, f]))
    x = L.GlobalAveragePooling1D()(x)
    return keras3().Model(inp, L.Dense(8, activation="softmax")(x))


def _kws_gru():
    """A keyword spotter over 20 frames x 10 MFCCs (MLPerf Tiny KWS uses 49; 20 keeps the unrolled
    graph, one set of gate ops per frame, small for CI); unrolled so the converter emits plain ops."""
    L = keras3().layers
    x = inp = _input((20, 10))
    x = L.GRU(24, unroll=True)(x)
    return keras3().Model(inp, L.Dense(8, activation="softmax")(x))


def _kws_lstm():
    """The LSTM keyword spotter, unrolled (Keras 3's LSTM reaches the converter as a TensorList loop
    otherwise, which it refuses)."""
    L = keras3().layers
    x = inp = _input((20, 10))
    x = L.LSTM(24, unroll=True)(x)
    return keras3().Model(inp, L.Dense(8, activation="softmax")(x))


def _unet():
    """Encoder-decoder with skips: transposed convolution, nearest and bilinear upsampling, concat."""
    L = keras3().layers
    inp = _input((32, 32, 3))
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    e2 = L.Conv2D(16, 3, padding="same", activation="relu")(L.MaxPooling2D()(e1))
    b = L.Conv2D(16, 3, padding="same", activation="relu")(L.MaxPooling2D()(e2))
    d2 = L.Concatenate()([L.Conv2DTranspose(16, 2, strides=2)(b), e2])
    d2 = L.Conv2D(16, 3, padding="same", activation="relu")(d2)
    d1 = L.Concatenate()([L.Resizing(32, 32, interpolation="nearest")(d2), e1])
    d1 = L.Conv2D(8, 3, padding="same", activation="relu")(d1)
    side = L.UpSampling2D(size=4, interpolation="bilinear")(L.Conv2D(4, 1)(b))
    out = L.Conv2D(4, 1)(L.Concatenate()([d1, side]))
    return keras3().Model(inp, out)


def _detection_head():
    """A single-scale detector: per cell 3 anchors x (4 box + 1 objectness + 3 classes); the head
    slices boxes from scores, squashes them and concatenates the result."""
    L, ops = keras3().layers, keras3().ops
    inp = _input((32, 32, 3))
    x = L.Conv2D(16, 3, 2, padding="same", activation="relu")(inp)
    x = L.Conv2D(24, 3, 2, padding="same", activation="relu")(x)
    x = L.Conv2D(3 * 8, 1)(x)
    x = L.Reshape((8 * 8 * 3, 8))(x)
    boxes = L.Activation("sigmoid")(x[:, :, :4])
    scores = L.Activation("sigmoid")(x[:, :, 4:])
    return keras3().Model(inp, ops.concatenate([boxes, scores], axis=-1))


def _leaky_prelu():
    L = keras3().layers
    x = inp = _input((16, 16, 3))
    x = L.LeakyReLU(negative_slope=0.1)(L.Conv2D(8, 3, padding="same")(x))
    x = L.PReLU(shared_axes=[1, 2])(L.Conv2D(12, 3, 2, padding="same")(x))
    x = L.GlobalAveragePooling2D()(x)
    return keras3().Model(inp, L.Dense(8, activation="softmax")(x))


# name -> builder returning a Keras model (inputs without a batch dimension; converted with batch 1)
ARCH: dict[str, Callable] = {
    "mobilenet_v2_035": _mobilenet_v2,
    "mobilenet_v3_small": lambda: _mobilenet_v3_small(False),
    "mobilenet_v3_small_minimalistic": lambda: _mobilenet_v3_small(True),
    "efficientnet_lite": _efficientnet_lite,
    "transformer_encoder": _transformer_encoder,
    "kws_gru": _kws_gru,
    "kws_lstm": _kws_lstm,
    "unet": _unet,
    "detection_head": _detection_head,
    "leaky_prelu": _leaky_prelu,
}


def _fit_briefly(model, seed: int) -> list[np.ndarray]:
    """One epoch on 32 synthetic samples, one per step (the graph's batch is 1), so BatchNorm's moving
    statistics become real ones; returns 24 of them for calibration."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])      # without the batch of 1
    x = rng.normal(0, 1, (32, *shape)).astype(np.float32)
    out = model.outputs[0].shape
    if len(out) == 2 and out[-1] == 8:
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, rng.integers(0, 8, 32), epochs=1, batch_size=1, verbose=0)
    else:
        model.compile("adam", "mse")
        model.fit(x, rng.normal(0, 1, (32, *out[1:])).astype(np.float32), epochs=1, batch_size=1, verbose=0)
    return [x[k:k + 1] for k in range(24)]


def build(names: list[str] | None, out_dir: Path) -> dict[str, Path]:
    """Write <name>.tflite for each model into out_dir (skips files already there); each model's seed
    is its place in ARCH, so a subset builds the same models as the whole zoo."""
    out_dir = Path(out_dir)
    paths = {}
    for name in names or list(ARCH):
        path = out_dir / f"{name}.tflite"
        if not path.exists():
            seed = list(ARCH).index(name)
            keras3().utils.set_random_seed(seed)
            model = ARCH[name]()
            atomic.write_bytes(path, convert_model(model, [[x] for x in _fit_briefly(model, seed)]))
        paths[name] = path
    return paths
