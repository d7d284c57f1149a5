"""The four MLPerf Tiny reference architectures, built here with Keras and converted to full int8.

    from benchmarks.mlperf_tiny import build_all, describe
    paths = build_all(progress)            # {"kws": Path(...tflite), "vww": ..., "ic": ..., "ad": ...}
    describe(paths["kws"])                 # ops, MACs (from the graph), bytes, anchor comparison

- Weights are random but realistic: He-normal kernels, and every BatchNormalization gets the real
  statistics of its input (measured layer by layer on a random batch), random
  gamma/beta around (1, 0). Activations therefore have sane, layer-to-layer comparable ranges and
  the int8 calibration is representative of a trained network's scales.
- Global pooling is AVERAGE_POOL_2D over the whole feature map followed by Flatten (a RESHAPE to
  [1, C]) before the Dense layer: no MEAN and no rank-4 FULLY_CONNECTED, so bakenn's TFLite
  importer accepts them too (shared/notes/peers.md).
- Converted with TFLiteConverter, full-integer (TFLITE_BUILTINS_INT8) with int8 input and output.
- Cached under build/bench/mlperf/<name>-<key>.tflite; the key hashes the builder's source, the
  seeds and the calibration settings, so a changed architecture is rebuilt and nothing stale is used.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline import atomic

from .common import BUILD_DIR

MLPERF_DIR = BUILD_DIR / "mlperf"
KEY_VERSION = "1"
SEED = 1234
CALIBRATION_SAMPLES = 32
BN_BATCH = 32
# The classifiers end in logits: bakenn 1.0's TFLite importer has no SOFTMAX (it accepts CONV_2D,
# DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE/MAX_POOL_2D, RESHAPE, PAD), and top-1 is the same
# on logits. Set True to build the exact MLPerf Tiny heads (then bakenn reports why it cannot).
SOFTMAX = False

# Published reference figures (shared/notes/anchors.md, MLPerf Tiny closed division) that our
# builds are checked against; these are *not* measurements of this run, only the yardstick.
ANCHORS = {
    "kws": {"task": "Keyword spotting", "model": "DS-CNN 49x10x1, 12 classes", "size_kb": 53, "macs": 2.66e6},
    "vww": {"task": "Visual wake words", "model": "MobileNetV1-0.25 96x96x3, 2 classes", "size_kb": 325, "macs": 7.5e6},
    "ic": {"task": "Image classification", "model": "ResNet-8 32x32x3, 10 classes", "size_kb": 96, "macs": 12.5e6},
    "ad": {"task": "Anomaly detection", "model": "FC autoencoder 640-128x4-8-128x4-640", "size_kb": 270, "macs": 0.26e6},
}
# Ops each converted model must consist of (order-free).
EXPECTED_OPS = {
    "kws": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED"},
    "vww": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED"},
    "ic": {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED"},
    "ad": {"FULLY_CONNECTED"},
}
if SOFTMAX:
    for _name in ("kws", "vww", "ic"):
        EXPECTED_OPS[_name] = EXPECTED_OPS[_name] | {"SOFTMAX"}
_MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


# --------------------------------------------------------------------------- architectures

def _tf():
    import tensorflow as tf
    return tf


def _keras():
    from pipeline.keras_api import keras3  # Keras 3 by name, never whatever tf.keras resolved to
    return keras3()


def _he(seed: int):
    return _keras().initializers.HeNormal(seed=seed)


class _Seeds:
    """A fresh, deterministic seed per layer."""

    def __init__(self, base: int):
        self.n = base

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _bn(s: _Seeds):
    keras = _keras()
    return keras.layers.BatchNormalization(
        gamma_initializer=keras.initializers.RandomUniform(0.6, 1.4, seed=s()),
        beta_initializer=keras.initializers.RandomNormal(0.0, 0.2, seed=s()))


def _conv_bn_relu(x, s, filters, kernel, strides=1):
    L = _keras().layers
    x = L.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, kernel_initializer=_he(s()))(x)
    return L.ReLU()(_bn(s)(x))


def _dw_bn_relu(x, s, strides=1):
    L = _keras().layers
    x = L.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, depthwise_initializer=_he(s()))(x)
    return L.ReLU()(_bn(s)(x))


def _dense(units, s):
    """Dense with He kernels and small non-zero biases (a zero bias is dropped by the converter,
    and trained classifiers never have one)."""
    keras = _keras()
    return keras.layers.Dense(units, kernel_initializer=_he(s()),
                              bias_initializer=keras.initializers.RandomNormal(0.0, 0.1, seed=s()))


def _head(x, s, classes):
    """Whole-map AVERAGE_POOL_2D + Flatten + Dense (logits). The converter folds the Flatten into
    a rank-4 FULLY_CONNECTED; `_explicit_reshape_before_fc` puts a real RESHAPE to [1, C] back."""
    L = _keras().layers
    x = L.AveragePooling2D(pool_size=tuple(int(d) for d in x.shape[1:3]))(x)
    x = L.Flatten()(x)
    x = _dense(classes, s)(x)
    return L.Softmax()(x) if SOFTMAX else x


def kws_dscnn(seed: int = SEED, batch_size: int | None = 1):
    """DS-CNN (MLPerf Tiny KWS): conv 10x4/2 64ch, 4 x (dw 3x3 + pw 1x1, 64ch), avgpool, FC 12."""
    L = _keras().layers
    s = _Seeds(seed)
    x = inp = L.Input((49, 10, 1), batch_size=batch_size)
    x = _conv_bn_relu(x, s, 64, (10, 4), strides=(2, 2))
    for _ in range(4):
        x = _dw_bn_relu(x, s)
        x = _conv_bn_relu(x, s, 64, 1)
    return inp, _head(x, s, 12)


def vww_mobilenet_v1_025(seed: int = SEED, batch_size: int | None = 1):
    """MobileNetV1 alpha 0.25 at 96x96x3 (MLPerf Tiny VWW), 2 classes."""
    L = _keras().layers
    s = _Seeds(seed)
    x = inp = L.Input((96, 96, 3), batch_size=batch_size)
    x = _conv_bn_relu(x, s, 8, 3, strides=2)
    for filters, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1), (128, 1),
                            (128, 1), (128, 1), (128, 1), (256, 2), (256, 1)):
        x = _dw_bn_relu(x, s, strides=stride)
        x = _conv_bn_relu(x, s, filters, 1)
    return inp, _head(x, s, 2)


def ic_resnet8(seed: int = SEED, batch_size: int | None = 1):
    """ResNet-8 (MLPerf Tiny IC) for 32x32x3 CIFAR-10: 16 -> 3 residual stacks (16, 32, 64)."""
    L = _keras().layers
    s = _Seeds(seed)
    x = inp = L.Input((32, 32, 3), batch_size=batch_size)
    x = _conv_bn_relu(x, s, 16, 3)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = _conv_bn_relu(x, s, filters, 3, strides=stride)
        y = L.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=_he(s()))(y)
        y = _bn(s)(y)
        if stride != 1:
            x = L.Conv2D(filters, 1, strides=stride, padding="same", kernel_initializer=_he(s()))(x)
        x = L.ReLU()(L.Add()([x, y]))
    return inp, _head(x, s, 10)


def ad_autoencoder(seed: int = SEED, batch_size: int | None = 1):
    """FC autoencoder (MLPerf Tiny AD): 640 -> 128 x4 -> 8 -> 128 x4 -> 640, BN + ReLU inside."""
    L = _keras().layers
    s = _Seeds(seed)
    x = inp = L.Input((640,), batch_size=batch_size)
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = L.Dense(units, kernel_initializer=_he(s()))(x)
        x = L.ReLU()(_bn(s)(x))
    return inp, _dense(640, s)(x)


# name -> (builder, input sampler)
def _normal(rng, shape):
    return rng.normal(0.0, 1.0, shape).astype(np.float32)


def _image(rng, shape):
    return rng.uniform(0.0, 1.0, shape).astype(np.float32)


MODELS: dict[str, tuple[Callable, Callable]] = {
    "kws": (kws_dscnn, _normal),
    "vww": (vww_mobilenet_v1_025, _image),
    "ic": (ic_resnet8, _image),
    "ad": (ad_autoencoder, _normal),
}


# --------------------------------------------------------------------------- build + cache

def _tf_version() -> str:
    from importlib import metadata
    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def cache_key(name: str) -> str:
    """Hash of everything that shapes the file: code of the builder and helpers, seeds,
    calibration settings and the TensorFlow (converter) version."""
    builder, sampler = MODELS[name]
    code = (builder, sampler, _bn, _conv_bn_relu, _dw_bn_relu, _dense, _head, convert, _set_bn_statistics,
            _explicit_reshape_before_fc)
    h = hashlib.sha256()
    for part in (KEY_VERSION, name, str(SEED), str(CALIBRATION_SAMPLES), str(BN_BATCH), str(SOFTMAX), _tf_version(),
                 *(inspect.getsource(fn) for fn in code)):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def model_path(name: str, out_dir: Path = MLPERF_DIR) -> Path:
    return Path(out_dir) / f"{name}-{cache_key(name)}.tflite"


def convert(name: str) -> bytes:
    """Build the Keras model, set real BN statistics, full-int8 convert (int8 in/out)."""
    tf, keras = _tf(), _keras()
    builder, sampler = MODELS[name]
    rng = np.random.default_rng(SEED)
    # BN statistics on a batch-agnostic copy, then the same weights into the batch-1 model that is
    # converted (static shapes in the .tflite).
    keras.utils.set_random_seed(SEED)
    inp, out = builder(SEED, batch_size=None)
    stats_model = keras.Model(inp, out)
    shape = tuple(int(d) for d in inp.shape[1:])
    _set_bn_statistics(stats_model, sampler(rng, (BN_BATCH, *shape)))
    keras.utils.set_random_seed(SEED)
    inp, out = builder(SEED, batch_size=1)
    model = keras.Model(inp, out)
    model.set_weights(stats_model.get_weights())
    reps = [sampler(rng, (1, *shape)) for _ in range(CALIBRATION_SAMPLES)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([r] for r in reps)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return _explicit_reshape_before_fc(conv.convert())


def _explicit_reshape_before_fc(model_bytes: bytes) -> bytes:
    """Give every FULLY_CONNECTED whose input is not rank 2 an explicit RESHAPE to [1, C].

    TFLiteConverter always removes a Flatten in front of a Dense (the FC kernel flattens by
    itself), which leaves FC on a [1, 1, 1, C] tensor; bakenn requires rank-2 NC activations
    there. The inserted RESHAPE (v1, int8, same quantization, constant int32 shape) is exactly
    the Flatten the Keras model has, so the numerics do not change.
    """
    import copy

    from tensorflow.lite.python import schema_py_generated as fb
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    graph = model.subgraphs[0]
    codes = model.operatorCodes

    def builtin(code) -> int:
        return max(int(code.builtinCode), int(code.deprecatedBuiltinCode))

    fc_codes = {i for i, c in enumerate(codes) if builtin(c) == fb.BuiltinOperator.FULLY_CONNECTED}
    ops = []
    for op in graph.operators:
        src = graph.tensors[op.inputs[0]] if op.opcodeIndex in fc_codes else None
        if src is not None and len(src.shape) != 2:
            reshape_code = next((i for i, c in enumerate(codes) if builtin(c) == fb.BuiltinOperator.RESHAPE), None)
            if reshape_code is None:
                code = fb.OperatorCodeT()
                code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.RESHAPE
                code.version = 1
                codes.append(code)
                reshape_code = len(codes) - 1
            flat = [1, int(np.prod(src.shape[1:]))]
            shape_buf = fb.BufferT()
            shape_buf.data = np.frombuffer(np.asarray(flat, dtype="<i4").tobytes(), dtype=np.uint8)
            model.buffers.append(shape_buf)
            shape_t = fb.TensorT()
            shape_t.shape, shape_t.type, shape_t.buffer = [2], fb.TensorType.INT32, len(model.buffers) - 1
            shape_t.name = (src.name or b"") + b"/flatten_shape" if isinstance(src.name, bytes) else \
                f"{src.name}/flatten_shape"
            flat_t = copy.deepcopy(src)
            flat_t.shape, flat_t.shapeSignature, flat_t.buffer = flat, None, 0
            flat_t.name = (src.name + b"/flatten") if isinstance(src.name, bytes) else f"{src.name}/flatten"
            graph.tensors.extend([shape_t, flat_t])
            reshape = fb.OperatorT()
            reshape.opcodeIndex = reshape_code
            reshape.inputs = [op.inputs[0], len(graph.tensors) - 2]
            reshape.outputs = [len(graph.tensors) - 1]
            reshape.builtinOptionsType = fb.BuiltinOptions.ReshapeOptions
            reshape.builtinOptions = fb.ReshapeOptionsT()
            reshape.builtinOptions.newShape = flat
            ops.append(reshape)
            op.inputs = [len(graph.tensors) - 1, *list(op.inputs)[1:]]
        ops.append(op)
    graph.operators = ops
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _set_bn_statistics(model, batch: np.ndarray) -> None:
    """Give every BatchNormalization the real mean/variance of its input, in graph order, so
    each BN sees the already-normalized activations of the ones before it."""
    keras = _keras()
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for bn in bns:
        probe = keras.Model(model.inputs, bn.input)
        acts = np.asarray(probe(batch, training=False))
        axes = tuple(range(acts.ndim - 1))
        mean, var = acts.mean(axis=axes), acts.var(axis=axes)
        gamma, beta, _, _ = bn.get_weights()
        bn.set_weights([gamma, beta, mean.astype(np.float32), np.maximum(var, 1e-6).astype(np.float32)])


def build(name: str, out_dir: Path = MLPERF_DIR, progress=None) -> Path:
    path = model_path(name, out_dir)
    if path.exists():
        return path
    if progress is not None:
        progress.log(f"   building MLPerf Tiny {name} ({ANCHORS[name]['model']}) -> {path.name}")
    atomic.write_bytes(path, convert(name))
    return path


def build_all(progress=None, names=None, out_dir: Path = MLPERF_DIR) -> dict[str, Path]:
    return {n: build(n, out_dir, progress) for n in (names or MODELS)}


# --------------------------------------------------------------------------- description

def graph_macs(model_bytes: bytes) -> dict:
    """MACs from the graph: conv / depthwise / fully-connected (the MLPerf convention) and all ops
    (pooling, ADD counted as one per output element, as `pipeline inspect` does)."""
    from pipeline.inspect import analyze
    a = analyze(model_bytes, arena=False)
    return {"macs": int(sum(o["macs"] for o in a["ops"] if o["op"] in _MAC_OPS)), "macs_all_ops": int(a["macs"]),
            "ops": sorted(a["op_counts"]), "op_counts": a["op_counts"], "params": int(a["params"]),
            "param_bytes": int(a["param_bytes"]), "model_bytes": int(a["model_bytes"]),
            "int8_io": bool(a["int8"])}


def describe(path: Path, name: str | None = None) -> dict:
    d = graph_macs(Path(path).read_bytes())
    d["path"] = str(path)
    if name in ANCHORS:
        a = ANCHORS[name]
        d["anchor"] = a
        d["macs_vs_anchor"] = round(d["macs"] / a["macs"], 3)
        d["size_vs_anchor"] = round(d["model_bytes"] / 1024 / a["size_kb"], 3)
        d["ops_as_expected"] = set(d["ops"]) == EXPECTED_OPS[name]
    return d
