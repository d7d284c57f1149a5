"""What the phone does to an input, derived from the int8 model and the data stage's meta.

The data stage stores x_test normalised and channels-first (like PyTorch); the int8 TFLite model
takes channels-last int8. The generated Kotlin `Preprocess` and `prepare` below do the same steps
in the same float32 arithmetic, so a phone and this host see identical int8 inputs
(tests/android/test_kotlin_jvm.py runs that Kotlin on a JVM and compares the bytes):
  1. (x - mean) / std          raw inputs only: the bundled test vectors are already normalised
  2. channels-first -> channels-last
  3. q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127)   (TFLite QUANTIZE)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..convert.describe import describe_tflite, quantize
from ..errors import PipelineError

SCHEMA = "pipeline-android-preprocess/1"


def _per_sample_perm(sample_shape: tuple[int, ...], model_shape: tuple[int, ...]) -> list[int] | None:
    """Axes taking one dataset sample to the model's layout; None when they already agree."""
    if sample_shape == model_shape:
        return None
    perm = [*range(1, len(sample_shape)), 0]  # (C, H, W) -> (H, W, C); (C, L) -> (L, C)
    if len(sample_shape) >= 2 and tuple(sample_shape[p] for p in perm) == model_shape:
        return perm
    raise PipelineError(
        f"dataset sample shape {list(sample_shape)} fits neither the model input {list(model_shape)} "
        "nor its channels-last form; re-run the convert stage for this dataset")


def _stat(value, name: str) -> list[float]:
    values = [float(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
    if not values or (name == "std" and any(v == 0 for v in values)):
        raise PipelineError(f"data meta normalization.{name} = {value!r} is not usable (std must be non-zero)")
    return values


def build_spec(model: Path, data_meta: dict, sample_shape: tuple[int, ...] | None = None) -> dict:
    """The preprocess.json the app ships: everything the Kotlin side needs, nothing it must guess."""
    desc = describe_tflite(Path(model))
    inp, out = desc["input"], desc["output"]
    for role, t in (("input", inp), ("output", out)):
        if t["dtype"] != "int8" or t["scale"] is None:
            raise PipelineError(
                f"{model}: the Android package needs a full-int8 model, but its {role} is {t['dtype']}; "
                "use the convert stage's model_int8.tflite")
    shape = tuple(int(d) for d in (sample_shape or data_meta.get("input_shape") or ()))
    if not shape:
        raise PipelineError("data meta has no input_shape: re-run the data stage")
    model_shape = tuple(int(d) for d in inp["shape"])
    perm = _per_sample_perm(shape, model_shape[1:])
    norm = data_meta.get("normalization") or {}
    mean, std = _stat(norm.get("mean", 0.0), "mean"), _stat(norm.get("std", 1.0), "std")
    channels = shape[0]
    for name, v in (("mean", mean), ("std", std)):
        if len(v) not in (1, channels):
            raise PipelineError(f"normalization.{name} has {len(v)} values; expected 1 or {channels} (one per channel)")
    num_classes = int(np.prod(out["shape"]))
    labels = [str(x) for x in (data_meta.get("labels") or range(num_classes))]
    if len(labels) != num_classes:
        raise PipelineError(f"{len(labels)} labels in the data meta but the model has {num_classes} outputs")
    return {
        "schema": SCHEMA,
        "generated_from": desc["sha256"],
        "model": "model_int8.tflite",
        "model_sha256": desc["sha256"],
        "model_bytes": desc["bytes"],
        "layout": str(data_meta.get("layout") or ("image" if len(shape) == 3 else "signal")),
        "input_shape": list(shape),             # one sample, channels-first, as the dataset stores it
        "input_layout": "channels_first",
        "model_input_shape": list(model_shape),  # batch 1, channels-last
        "model_input_layout": desc["input_layout"],
        "transpose": perm,                       # axes of one sample: dataset -> model
        "normalization": {"mean": mean, "std": std, "formula": "(x - mean) / std, per channel when lists"},
        "input": {"name": inp["name"], "dtype": "int8", "scale": inp["scale"], "zero_point": inp["zero_point"],
                  "rounding": "half_away_from_zero"},
        "output": {"name": out["name"], "dtype": "int8", "shape": [int(d) for d in out["shape"]],
                   "scale": out["scale"], "zero_point": out["zero_point"]},
        "num_classes": num_classes,
        "labels": labels,
    }


def normalize(x: np.ndarray, spec: dict) -> np.ndarray:
    """Raw channels-first batch -> normalised, in float32 like the Kotlin side."""
    x = np.asarray(x, np.float32)
    shape = [1, -1] + [1] * (x.ndim - 2)
    mean = np.asarray(spec["normalization"]["mean"], np.float32)
    std = np.asarray(spec["normalization"]["std"], np.float32)
    return (x - (mean.reshape(shape) if mean.size > 1 else mean[0])) / (std.reshape(shape) if std.size > 1 else std[0])


def prepare(x_normalized: np.ndarray, spec: dict) -> np.ndarray:
    """Normalised channels-first batch [N, *input_shape] -> int8 batch in the model's layout."""
    x = np.asarray(x_normalized, np.float32)
    if tuple(x.shape[1:]) != tuple(spec["input_shape"]):
        want = ", ".join(map(str, spec["input_shape"]))
        raise PipelineError(f"inputs have shape {list(x.shape)}; expected [N, {want}]")
    if spec["transpose"]:
        x = x.transpose([0, *(p + 1 for p in spec["transpose"])])
    return quantize(np.ascontiguousarray(x), spec["input"]["scale"], spec["input"]["zero_point"])


def host_top1(model: Path, x_normalized: np.ndarray, spec: dict, kernels: str = "reference") -> np.ndarray:
    """Top-1 class of every sample with this host's LiteRT: the reference a phone must agree with."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kwargs = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if kernels == "reference" else {}
    interp = Interpreter(model_path=str(model), **kwargs)
    interp.allocate_tensors()
    i_idx = interp.get_input_details()[0]["index"]
    o_idx = interp.get_output_details()[0]["index"]
    q = prepare(x_normalized, spec)
    top = np.empty(len(q), np.int32)
    for n in range(len(q)):
        interp.set_tensor(i_idx, q[n:n + 1])
        interp.invoke()
        top[n] = int(np.argmax(interp.get_tensor(o_idx).reshape(-1)))  # first max, like the Kotlin side
    return top
