"""Keras models (`--model model.keras | model.h5 | saved_model_dir/`) straight to full-int8 TFLite.

No ONNX hop: TensorFlow's own TFLiteConverter reads the model with the calibration split as its
representative dataset (the same converter settings as the ONNX path, `saved_model_to_tflite`'s:
TFLITE_BUILTINS_INT8 only, int8 input/output, per-channel weights), and the float32 TFLite from the
same model is the float reference. Keras models are channels-last: the samples go in as the model
takes them ([H, W, C], [T, F], [F]).

Keras by name (pipeline/keras_api.py): `.keras` and `.h5` load with Keras 3 (`keras3()`), never
through `tf.keras`, which resolves to tf_keras once onnx2tf has been imported in the process. A
SavedModel directory needs no Keras at all (`from_saved_model`).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import PipelineError
from ..op_check import check_ops
from .describe import describe_tflite, require_int8
from .quiet import quiet


def is_saved_model(p: Path) -> bool:
    return Path(p).is_dir() and (Path(p) / "saved_model.pb").exists()


def _first_line(err: BaseException) -> str:
    return ((str(err).strip().splitlines() or [type(err).__name__])[0])[:300]


def load_keras(p: Path):
    from ..keras_api import keras3

    keras = keras3()
    try:
        with quiet():
            return keras.models.load_model(str(p), compile=False)
    except Exception as err:  # noqa: BLE001 - Keras raises many types; the user needs one line
        raise PipelineError(f"--model {p}: cannot load the Keras model: {_first_line(err)}") from None


def _saved_model_signature(p: Path):
    import tensorflow as tf

    try:
        with quiet():
            loaded = tf.saved_model.load(str(p))
    except Exception as err:  # noqa: BLE001
        raise PipelineError(f"--model {p}: cannot load the SavedModel: {_first_line(err)}") from None
    sig = loaded.signatures.get("serving_default")
    if sig is None:
        raise PipelineError(f"--model {p}: the SavedModel has no 'serving_default' signature")
    return sig


def keras_input_dims(p: Path) -> tuple[int | None, ...]:
    """The model's input dims with the batch (None where dynamic)."""
    p = Path(p)
    if is_saved_model(p):
        specs = [s for s in _saved_model_signature(p).structured_input_signature[1].values()]
        shapes = [tuple(s.shape) for s in specs]
    else:
        model = load_keras(p)
        shapes = [tuple(t.shape) for t in model.inputs]
    if len(shapes) != 1:
        raise PipelineError(f"--model {p}: the model has {len(shapes)} inputs; a classifier with exactly one "
                            "input is required")
    return tuple(None if d is None else int(d) for d in shapes[0])


def _converter(p: Path, sample: tuple[int, ...]):
    import tensorflow as tf

    if is_saved_model(p):
        return tf.lite.TFLiteConverter.from_saved_model(str(p))
    # from_keras_model freezes the variables (a concrete function of a Keras 3 model does not:
    # READ_VARIABLE then fails during calibration); a dynamic batch becomes 1 in the TFLite input.
    return tf.lite.TFLiteConverter.from_keras_model(load_keras(p))


def convert_keras(p: Path, out_dir: Path, calibration: np.ndarray, sample: tuple[int, ...],
                  kind: str, per_channel_dense: bool = True):
    """Keras / SavedModel -> `model_int8.tflite` + `model_float.tflite` in `out_dir`."""
    import tensorflow as tf

    from .result import FLOAT_FILE, INT8_FILE, LOG_FILE, ConversionResult

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / LOG_FILE
    calib = np.ascontiguousarray(np.asarray(calibration, np.float32))
    if calib.shape[0] == 0:
        raise PipelineError("the calibration split is empty; int8 conversion needs calibration data")
    times = {}

    def convert(int8: bool) -> bytes:
        conv = _converter(p, sample)
        if int8:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = lambda: ([calib[i:i + 1]] for i in range(calib.shape[0]))
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            conv._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel_dense  # noqa: SLF001
        with quiet(log):
            try:
                return bytes(conv.convert())
            except Exception as err:  # noqa: BLE001
                raise PipelineError(
                    f"TFLite {'int8' if int8 else 'float32'} conversion of {p} failed: {_first_line(err)}"
                    + ("; an op has no int8 kernel (TFLITE_BUILTINS_INT8 only)" if int8 else "")
                    + f" (log: {log})") from None

    t = time.perf_counter()
    int8 = convert(True)
    times["int8_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    fbytes = convert(False)
    times["float_s"] = round(time.perf_counter() - t, 3)
    model = require_int8(int8, "converted model")
    check_ops([(o.index, o.op) for o in model.operators], kind, "converted model")
    desc = describe_tflite(model)
    if desc["input"]["shape"] != [1, *sample]:
        raise PipelineError(f"converted model input shape {desc['input']['shape']} is not the model's "
                            f"{[1, *sample]}")
    (out_dir / INT8_FILE).write_bytes(int8)
    (out_dir / FLOAT_FILE).write_bytes(fbytes)
    return ConversionResult(int8_path=out_dir / INT8_FILE, float_path=out_dir / FLOAT_FILE, onnx_path=None,
                            meta={"int8": desc, "float": describe_tflite(fbytes), "times": times, "rewrites": {}})
