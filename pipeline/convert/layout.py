"""Input layouts: what the model itself takes decides, the dataset is checked against it.

Two families of models:
- channels-first (PyTorch, ONNX exported from it): a sample is [F], [T, F], [C, L] or [C, H, W]
  as the model takes it; onnx2tf moves the channel axis last for inputs of rank >= 3 (with the
  batch), so the TFLite model takes [1, F], [1, F, T]... that move is `to_channels_last`.
- channels-last (Keras, TFLite): the sample goes in exactly as the model takes it ([H, W, C]).

`model_input(ref)` reads the input shape from the file (ONNX graph input, the ExportedProgram's
placeholder, the TFLite input tensor, the Keras model's input); `fit_samples` makes the dataset's
arrays that shape (only by adding/dropping size-1 axes or moving the channel axis between first and
last) or raises one line showing both shapes and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PipelineError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def to_channels_last(x: np.ndarray) -> np.ndarray:
    """[N, C, H, W] -> [N, H, W, C]; [N, C, L] -> [N, L, C]; [N, F] unchanged. float32, contiguous."""
    x = np.asarray(x, np.float32)
    if x.ndim >= 3:
        x = np.moveaxis(x, 1, -1)
    return np.ascontiguousarray(x)


def channels_last_shape(input_shape: tuple[int, ...] | list[int]) -> tuple[int, ...]:
    """Channels-first per-sample shape (C, H, W) / (C, L) -> the TFLite input shape with batch 1."""
    s = tuple(int(d) for d in input_shape)
    if len(s) >= 2:
        s = (*s[1:], s[0])
    return (1, *s)


def to_model_layout(x: np.ndarray, channels_last: bool) -> np.ndarray:
    """Dataset samples (the source model's own layout) -> what the TFLite model takes."""
    return np.ascontiguousarray(np.asarray(x, np.float32)) if channels_last else to_channels_last(x)


def tflite_input_shape(sample: tuple[int, ...], channels_last: bool) -> tuple[int, ...]:
    return (1, *sample) if channels_last else channels_last_shape(sample)


@dataclass(frozen=True)
class ModelInput:
    """The model's input: dims with the batch (None = dynamic), whose layout, and where read."""

    dims: tuple[int | None, ...]
    channels_last: bool
    what: str  # "--model M.onnx", for messages

    def sample(self) -> tuple[int, ...]:
        """Per-sample shape; a dynamic dim other than the batch is one line asking for a fixed one."""
        if not self.dims:
            raise PipelineError(f"{self.what}: the model input is a scalar; a batch dimension is required")
        rest = self.dims[1:]
        for axis, d in enumerate(rest, start=1):
            if d is None:
                shown = ["batch", *("?" if v is None else str(v) for v in rest)]
                raise PipelineError(
                    f"{self.what}: input dimension {axis} is dynamic ([{', '.join(shown)}]); "
                    "only the batch may be: export the model with a fixed sequence length / size "
                    "(an example input of that length, and no dynamic axis for it)")
        return tuple(int(d) for d in rest)

    def describe(self) -> str:
        dims = ["batch" if i == 0 and d in (None, 1) else "?" if d is None else str(d)
                for i, d in enumerate(self.dims)]
        return f"[{', '.join(dims)}]"


def model_input(ref: str | Path) -> ModelInput | None:
    """The input of a --model file, read from the file; None where the file has no shape
    (a pickled module or a Python factory: the dataset's shape is used, channels-first)."""
    p = Path(str(ref))
    suffix = p.suffix.lower()
    what = f"--model {ref}"
    if suffix == ".onnx":
        from .result import onnx_io

        _, dims, _ = onnx_io(p)
        return ModelInput(tuple(d if isinstance(d, int) and d > 0 else None for d in dims), False, what)
    if suffix == ".pt2":
        return ModelInput(_pt2_dims(p, what), False, what)
    if suffix == ".tflite":
        from ..tflite import read_model

        m = read_model(p)
        t = m.tensor(m.inputs[0])
        return ModelInput(tuple(int(d) for d in t.shape), True, what)
    if suffix in KERAS_SUFFIXES or (p.is_dir() and (p / "saved_model.pb").exists()):
        from .keras_model import keras_input_dims

        return ModelInput(keras_input_dims(p), True, what)
    return None


def _pt2_dims(p: Path, what: str) -> tuple[int | None, ...]:
    import torch

    try:
        ep = torch.export.load(str(p))
    except Exception as err:  # noqa: BLE001
        msg = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        raise PipelineError(f"{what}: cannot load the exported program: {msg}") from None
    user = [s.arg.name for s in ep.graph_signature.input_specs if s.kind.name == "USER_INPUT"]
    nodes = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    if len(user) != 1:
        raise PipelineError(f"{what}: the exported program takes {len(user)} inputs; a classifier "
                            "with exactly one input is required")
    val = nodes[user[0]].meta.get("val")
    if val is None:
        raise PipelineError(f"{what}: the exported program records no input shape")
    return tuple(int(d) if isinstance(d, int) else None for d in val.shape)


def fit_samples(x: np.ndarray, sample: tuple[int, ...], channels_last: bool, data_name: str,
                model: ModelInput) -> np.ndarray:
    """The dataset's arrays [N, ...] in the model's per-sample shape, or one line saying why not.

    Allowed, because they keep every value where it belongs: adding or dropping size-1 axes
    ([N, 20] for [1, 20]; [N, 8, 8] for [8, 8, 1]) and moving the channel axis between last
    (image files, [N, H, W, C]) and first ([C, H, W], PyTorch) -- nothing else is guessed."""
    x = np.asarray(x)
    have = tuple(int(d) for d in x.shape[1:])
    if have == sample:
        return x
    squeeze = tuple(d for d in have if d != 1)
    if squeeze == tuple(d for d in sample if d != 1):
        return x.reshape((x.shape[0], *sample))
    if len(have) == len(sample) >= 3:
        for src, dst in ((-1, 1), (1, -1)):
            moved = np.moveaxis(x, src, dst)
            if tuple(moved.shape[1:]) == sample:
                return np.ascontiguousarray(moved)
    order = "channels-last" if channels_last else "channels-first"
    raise PipelineError(
        f"dataset '{data_name}' has samples of shape {list(have)}, but {model.what} takes "
        f"{model.describe()} ({order}); give x_train/x_test as [N, {', '.join(map(str, sample))}]")
