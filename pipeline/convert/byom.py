"""Bring your own model (`pipeline build --model PATH`).

Accepted, by what PATH looks like:
- `model.tflite`   a ready model: validated with our reader, must be full int8 (in/out int8)
                   and fit the target kind's op set; copied as-is (no float reference).
- `model.onnx`     quantized here with the dataset's calibration split (float TFLite too).
- `model.keras`, `model.h5`, a SavedModel directory
                   straight to TensorFlow's TFLiteConverter (no ONNX hop; keras_model.py).
- `model.pt2`      a `torch.export` ExportedProgram (`torch.export.save`).
- `model.pt/.pth`  a module saved with `pipeline.models` (`load_model`) or `torch.save(module)`.
- `pkg.mod:factory` or `path/to/file.py:factory`
                   a Python callable returning a trained `torch.nn.Module`.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from ..errors import PipelineError
from ..op_check import check_ops
from .core import INT8_FILE, ConversionResult, convert_onnx, convert_torch, eval_mode
from .describe import describe_tflite, require_int8

TORCH_SUFFIXES = (".pt", ".pth", ".pt2")


def model_kind(ref: str | Path) -> str:
    """'tflite' | 'onnx' | 'torch' for a --model value; raises one line for anything else."""
    from .keras_model import is_saved_model
    from .layout import KERAS_SUFFIXES

    s = str(ref)
    p = Path(s)
    suffix = p.suffix.lower()
    if is_saved_model(p):
        return "keras"
    if suffix in KERAS_SUFFIXES:
        if not p.is_file():
            raise PipelineError(f"--model {s}: file not found")
        return "keras"
    if p.is_dir():
        raise PipelineError(f"--model {s}: a directory, but not a SavedModel (no saved_model.pb in it)")
    if suffix in (".tflite", ".onnx", *TORCH_SUFFIXES):
        if not p.is_file():
            raise PipelineError(f"--model {s}: file not found")
        return {".tflite": "tflite", ".onnx": "onnx"}.get(suffix, "torch")
    if ":" in s and not p.exists():
        return "torch"
    if p.is_file():
        raise PipelineError(
            f"--model {s}: unknown model file type '{p.suffix or '(none)'}'; expected .tflite, .onnx, "
            ".pt2, .pt/.pth, .keras, .h5, a SavedModel directory or a Python reference module.path:factory")
    raise PipelineError(f"--model {s}: file not found (nor a module.path:factory reference)")


def load_torch(ref: str | Path):
    """A torch.nn.Module from a .pt2 / .pt file or a `module:factory` reference, in eval mode."""
    import torch

    s = str(ref)
    p = Path(s)
    try:
        if p.suffix.lower() == ".pt2" and p.is_file():
            module = _Exported(torch.export.load(str(p)).module())
        elif p.suffix.lower() in (".pt", ".pth") and p.is_file():
            module = _load_pt(p)
        else:
            module = _from_reference(s)
    except PipelineError:
        raise
    except Exception as err:  # noqa: BLE001
        msg = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise PipelineError(f"--model {s}: cannot load the PyTorch model: {msg[:300]}") from None
    if not isinstance(module, torch.nn.Module):
        raise PipelineError(f"--model {s}: expected a torch.nn.Module, got {type(module).__name__}")
    return eval_mode(module)


def _exported_cls():
    import torch

    class Exported(torch.nn.Module):
        """An `ExportedProgram.module()` made exportable to ONNX: that GraphModule refuses
        `.train()/.eval()`, which the TorchScript exporter calls; it was exported in eval mode."""

        def __init__(self, gm):
            super().__init__()
            self.gm = gm

        def train(self, mode: bool = True):
            self.training = mode
            return self

        def forward(self, x):
            return self.gm(x)

    return Exported


def _Exported(gm):  # noqa: N802 - reads like the class it builds
    return _exported_cls()(gm)


def _load_pt(p: Path):
    import torch

    try:
        from ..models import load_model  # the student models' own loader (issue #3)
    except ImportError:
        load_model = None
    if load_model is not None:
        try:
            return load_model(p)
        except Exception:  # noqa: BLE001 - not saved by pipeline.models: try a plain torch.save
            pass
    obj = torch.load(str(p), map_location="cpu", weights_only=False)
    if isinstance(obj, dict):
        raise PipelineError(
            f"--model {p}: holds a state_dict (weights without an architecture); save the module "
            "itself (torch.save(model)), use torch.export, or pass module.path:factory")
    return obj


def _from_reference(s: str):
    mod_name, _, attr = s.rpartition(":")
    if not mod_name or not attr:
        raise PipelineError(f"--model {s}: a Python reference must look like module.path:factory")
    if mod_name.endswith(".py"):
        path = Path(mod_name)
        if not path.is_file():
            raise PipelineError(f"--model {s}: {mod_name} not found")
        spec = importlib.util.spec_from_file_location(f"_user_model_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        # Console scripts do not put the working directory on sys.path; a user's own package
        # next to pipeline.toml should import like it does in `python -c`.
        cwd = os.getcwd()
        if cwd not in sys.path:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(mod_name)
        except ImportError as err:
            raise PipelineError(f"--model {s}: cannot import {mod_name}: {err}") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise PipelineError(f"--model {s}: {mod_name} has no attribute '{attr}'")
    return factory() if callable(factory) and not _is_module(factory) else factory


def _is_module(obj) -> bool:
    import torch

    return isinstance(obj, torch.nn.Module)


def adopt_tflite(path: Path, out_dir: Path, kind: str, input_shape: tuple[int, ...] | None = None) -> ConversionResult:
    """Validate a ready `.tflite` (parse, full int8, target op set, input shape) and copy it.
    `input_shape`: the dataset's samples, as the model takes them (the data stage fits them to
    the model) or, from older callers, channels-first."""
    from .layout import channels_last_shape

    model = require_int8(Path(path), f"--model {path}")
    check_ops([(o.index, o.op) for o in model.operators], kind, f"--model {path}")
    desc = describe_tflite(model)
    if input_shape is not None:
        expected = list(channels_last_shape(input_shape))
        if desc["input"]["shape"] not in (expected, [1, *input_shape]):
            raise PipelineError(
                f"--model {path}: input shape {desc['input']['shape']} does not match the dataset "
                f"(expected channels-last {expected} for input {list(input_shape)})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dest = out_dir / INT8_FILE
    shutil.copyfile(path, dest)
    return ConversionResult(int8_path=dest, float_path=None, onnx_path=None, meta={"int8": desc, "times": {}})


def convert_user_model(ref: str | Path, out_dir: Path, calibration, input_shape: tuple[int, ...],
                       kind: str = "host", opset: int = 17, *, per_channel_dense: bool = True,
                       dense_as_conv: bool = True) -> ConversionResult:
    """Dispatch a --model value to the right path; records `source` in the result's meta."""
    what = model_kind(ref)
    if what == "tflite":
        res = adopt_tflite(Path(str(ref)), out_dir, kind, input_shape)
    elif what == "keras":
        from .keras_model import convert_keras

        res = convert_keras(Path(str(ref)), out_dir, calibration, tuple(input_shape), kind, per_channel_dense)
    elif what == "onnx":
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        onnx_copy = out_dir / "model.onnx"
        shutil.copyfile(str(ref), onnx_copy)
        res = convert_onnx(onnx_copy, out_dir, calibration, input_shape, kind,
                           per_channel_dense=per_channel_dense, dense_as_conv=dense_as_conv)
    else:
        module = load_torch(ref)
        res = convert_torch(module, out_dir, calibration, input_shape, kind, opset,
                            per_channel_dense=per_channel_dense, dense_as_conv=dense_as_conv)
    res.meta["source"] = what
    res.meta["source_ref"] = str(ref)
    # Keras and TFLite models take the samples as they are; ONNX/PyTorch ones channels-first.
    res.meta["channels_last"] = what in ("tflite", "keras")
    return res
