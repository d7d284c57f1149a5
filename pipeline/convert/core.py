"""torch module -> ONNX -> onnx2tf float SavedModel -> TFLite (full int8 + float32).

The path and its traps are in `../shared/notes/conversion.md`: the TorchScript ONNX exporter
(`dynamo=False`, opset 17), onnx2tf for NCHW->NHWC, then TensorFlow's own converter with our
calibration split in channels-last layout, `TFLITE_BUILTINS_INT8` only (no Flex fallback), int8
input/output, per-channel weights. onnx2tf runs in-process with its output (and TensorFlow's
C++ logging) sent to a log file; it never quantizes anything itself, so it never tries to
download calibration images.
"""
from __future__ import annotations

import contextlib
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from ..errors import PipelineError
from ..op_check import check_ops
from .describe import describe_tflite, require_int8
from .layout import channels_last_shape, to_channels_last
from .quiet import quiet, tail
from .result import (FLOAT_FILE, INT8_FILE, LOG_FILE, ONNX_FILE, ConversionResult,  # noqa: F401 (re-exported)
                     first_line as _first_line, onnx_io)

# --------------------------------------------------------------------------- torch -> ONNX

def eval_mode(module):
    """`module.eval()`, except for `ExportedProgram.module()`, which refuses it (it is already
    exported in the mode it was traced in)."""
    try:
        return module.eval()
    except NotImplementedError:
        return module


def export_onnx(module, input_shape: tuple[int, ...], path: Path, opset: int = 17) -> Path:
    """Export an eval-mode torch module for a batch-1 channels-first input of `input_shape`."""
    import torch


    module = eval_mode(module)
    dummy = torch.zeros((1, *input_shape), dtype=torch.float32)
    path = Path(path)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (dummy,), str(path), opset_version=opset, dynamo=False,
                              input_names=["input"], output_names=["logits"], do_constant_folding=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types; the user needs one line
        raise PipelineError(f"PyTorch -> ONNX export failed: {_first_line(err)}") from None
    return path


# --------------------------------------------------------------------------- ONNX checks

def _check_onnx_shape(path: Path, dims: list[int | str], input_shape: tuple[int, ...]) -> list[int]:
    """[1, *input_shape] when the dataset's samples are what the ONNX input takes (a dynamic batch
    allowed), else one line with both shapes; a dynamic non-batch dim asks for a fixed one."""
    from .layout import ModelInput

    model = ModelInput(tuple(d if isinstance(d, int) and d > 0 else None for d in dims), False, str(path))
    sample = model.sample()
    if sample != tuple(input_shape):
        raise PipelineError(
            f"{path}: the ONNX model's input {model.describe()} does not match the dataset's samples "
            f"{list(input_shape)}; give x_train/x_test as [N, {', '.join(map(str, sample))}]")
    return [1, *input_shape]


# --------------------------------------------------------------------------- ONNX -> SavedModel

# onnx2tf's strict mode checks every op against onnxruntime to fix transpositions; it costs about
# 0.25 s per node (an unrolled 24-step GRU, 430 nodes: 69 s of onnx2tf). Above this many nodes it
# is skipped: verification compares the float TFLite with the float ONNX model on the test split
# anyway, so a wrong transposition still fails the build.
STRICT_MAX_NODES = 200


def _nodes(onnx_path: Path) -> int:
    import onnx

    return len(onnx.load(str(onnx_path), load_external_data=False).graph.node)


def onnx_to_saved_model(onnx_path: Path, out_dir: Path, log: Path,
                        input_shape: tuple[int, ...] | None = None) -> Path:
    """onnx2tf, in-process and quiet: ONNX (channels-first) -> float SavedModel (channels-last)."""
    name, dims, _ = onnx_io(onnx_path)
    kwargs: dict = {}
    if input_shape is not None:
        want = _check_onnx_shape(onnx_path, dims, input_shape)
        if any(not isinstance(d, int) or d <= 0 for d in dims):
            kwargs["overwrite_input_shape"] = [f"{name}:{','.join(str(d) for d in want)}"]
    # absolute: _offline_sample_images runs onnx2tf in another working directory
    onnx_path, out_dir, log = Path(onnx_path).resolve(), Path(out_dir).resolve(), Path(log).resolve()
    with quiet(log), _offline_sample_images(out_dir.parent):
        from ..keras_api import onnx2tf

        converter = onnx2tf()  # outside the try: a failed import is an environment error (cli.py)
        try:
            converter.convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(out_dir),
                              non_verbose=True, not_use_onnxsim=True,
                              disable_strict_mode=_nodes(onnx_path) > STRICT_MAX_NODES, **kwargs)
        except BaseException as err:  # noqa: BLE001 - onnx2tf calls sys.exit on some errors
            if isinstance(err, KeyboardInterrupt):
                raise
            raise PipelineError(
                f"onnx2tf could not convert {onnx_path.name}: {_first_line(err)} (log: {log})") from None
        finally:
            try:
                from ..keras_api import tf_keras

                tf_keras().backend.clear_session()
            except Exception:  # noqa: BLE001
                pass
    if not (out_dir / "saved_model.pb").exists():
        raise PipelineError(f"onnx2tf wrote no SavedModel for {onnx_path.name} (log: {log}): "
                            + " | ".join(tail(log, 3).splitlines()))
    return out_dir


# onnx2tf 1.28.8 checks a model whose inputs are all [<=20, H, W, 3] against 20 sample images it
# downloads into the working directory (`download_test_image_data`: offline it fails with
# "HTTPSConnectionPool(host='github.com'...)" -- every RGB model of the zoo did). It only compares
# its own ONNX and TF outputs on them, so seeded noise in [0, 1) under that file name serves.
_SAMPLE_IMAGES = "calibration_image_sample_data_20x128x128x3_float32.npy"


@contextlib.contextmanager
def _offline_sample_images(where: Path):
    import os

    where = Path(where)
    where.mkdir(parents=True, exist_ok=True)
    path = where / _SAMPLE_IMAGES
    np.save(path, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    cwd = os.getcwd()
    os.chdir(where)
    try:
        yield
    finally:
        os.chdir(cwd)
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- SavedModel -> TFLite

def saved_model_to_tflite(saved_model: Path, log: Path, calibration: np.ndarray | None = None,
                          per_channel_dense: bool = True) -> bytes:
    """TFLiteConverter: full int8 when `calibration` (channels-last float32 [N, ...]) is given,
    else float32.

    Conv and depthwise weights are always per-channel; FULLY_CONNECTED weights are per-channel
    when `per_channel_dense` (the default everywhere), else per-tensor.
    """
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if calibration is not None:
        calib = np.asarray(calibration, np.float32)
        if calib.shape[0] == 0:
            raise PipelineError("the calibration split is empty; int8 conversion needs calibration data")

        def representative():
            for i in range(calib.shape[0]):
                yield [calib[i:i + 1]]

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
        # Per-channel weight quantization is the converter's default; say so explicitly.
        conv._experimental_disable_per_channel = False  # noqa: SLF001
        conv._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel_dense  # noqa: SLF001
    kind = "int8" if calibration is not None else "float32"
    with quiet(log):
        try:
            data = conv.convert()
        except Exception as err:  # noqa: BLE001
            msg = _first_line(err)
            raise PipelineError(
                f"TFLite {kind} conversion failed: {msg}"
                + ("; an op has no int8 kernel (TFLITE_BUILTINS_INT8 only)" if calibration is not None else "")
                + f" (log: {log})") from None
    return bytes(data)


# --------------------------------------------------------------------------- whole paths

def convert_onnx(onnx_path: Path, out_dir: Path, calibration: np.ndarray, input_shape: tuple[int, ...],
                 kind: str = "host", *, with_float: bool = True, per_channel_dense: bool = True,
                 dense_as_conv: bool = True) -> ConversionResult:
    """ONNX -> `model_int8.tflite` (+ `model_float.tflite`) in `out_dir`.

    `calibration`: channels-first float32 [N, *input_shape] (the dataset's calibration split,
    normalised like training data). `kind`: the target kind whose op set the int8 model must fit.
    `dense_as_conv`: rewrite a GlobalAveragePool -> Flatten -> Gemm head as a 1x1 conv first
    (see `rewrite.py`: keeps TFLite Micro bit-exact with LiteRT's reference kernels).
    """
    out_dir = Path(out_dir).resolve()   # onnx2tf runs in a chdir (_offline_sample_images): no relative paths
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / LOG_FILE
    work = out_dir / "_saved_model"
    times: dict[str, float] = {}
    try:
        t = time.perf_counter()
        source = Path(onnx_path)
        onnx_io(source)  # a one-line error naming the user's file if it is not valid ONNX
        from .simplify import static_batch_folded

        try:
            source = static_batch_folded(source, out_dir / "_folded.onnx")
        except Exception as err:  # noqa: BLE001 - a clean-up only: convert as exported
            with open(log, "a") as f:
                f.write(f"constant folding skipped: {type(err).__name__}: {err}\n")
        from .portable import portable

        ported = portable(source, out_dir / "_portable.onnx", kind)
        if ported:
            source = out_dir / "_portable.onnx"
        rewritten = 0
        if dense_as_conv:
            from .rewrite import dense_head_as_conv

            tmp_onnx = out_dir / "_rewritten.onnx"
            try:
                rewritten = dense_head_as_conv(source, tmp_onnx)
            except Exception as err:  # noqa: BLE001 - an optimisation only: convert as-is
                with open(log, "a") as f:
                    f.write(f"dense_head_as_conv skipped: {type(err).__name__}: {err}\n")
                rewritten = 0
            if rewritten:
                source = tmp_onnx
        onnx_to_saved_model(source, work, log, input_shape)
        times["onnx2tf_s"] = time.perf_counter() - t
        t = time.perf_counter()
        calib = to_channels_last(calibration)
        int8 = saved_model_to_tflite(work, log, calib, per_channel_dense)
        times["int8_s"] = time.perf_counter() - t
        fbytes = None
        if with_float:
            t = time.perf_counter()
            # onnx2tf already wrote the float32 TFLite with the same TensorFlow converter from the
            # same graph; reuse it (saves a second conversion), else convert the SavedModel.
            ready = sorted(work.glob("*_float32.tflite"))
            fbytes = ready[0].read_bytes() if ready else saved_model_to_tflite(work, log, None)
            times["float_s"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for tmp in ("_rewritten.onnx", "_folded.onnx", "_portable.onnx"):
            (out_dir / tmp).unlink(missing_ok=True)
    model = require_int8(int8, "converted model")
    check_ops([(o.index, o.op) for o in model.operators], kind, "converted model")
    desc = describe_tflite(model)
    expected = list(channels_last_shape(input_shape))
    if desc["input"]["shape"] != expected:
        raise PipelineError(
            f"converted model input shape {desc['input']['shape']} is not the channels-last "
            f"{expected} expected for dataset input {list(input_shape)}")
    int8_path = out_dir / INT8_FILE
    int8_path.write_bytes(int8)
    float_path = None
    meta: dict = {"int8": desc, "times": {k: round(v, 3) for k, v in times.items()},
                  "rewrites": {"dense_head_as_conv": rewritten, **{f"portable_{k}": v for k, v in ported.items()}}}
    if fbytes is not None:
        float_path = out_dir / FLOAT_FILE
        float_path.write_bytes(fbytes)
        meta["float"] = describe_tflite(fbytes)
    return ConversionResult(int8_path=int8_path, float_path=float_path, onnx_path=Path(onnx_path), meta=meta)


def convert_torch(module, out_dir: Path, calibration: np.ndarray, input_shape: tuple[int, ...],
                  kind: str = "host", opset: int = 17, *, with_float: bool = True,
                  per_channel_dense: bool = True, dense_as_conv: bool = True) -> ConversionResult:
    """torch.nn.Module -> `model.onnx` -> `model_int8.tflite` + `model_float.tflite` in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t, cpu = time.perf_counter(), time.process_time()
    onnx_path = export_onnx(module, tuple(input_shape), out_dir / ONNX_FILE, opset)
    t_onnx = time.perf_counter() - t
    res = convert_onnx(onnx_path, out_dir, calibration, input_shape, kind, with_float=with_float,
                       per_channel_dense=per_channel_dense, dense_as_conv=dense_as_conv)
    res.meta["times"] = {"onnx_export_s": round(t_onnx, 3), **res.meta["times"],
                         "wall_s": round(time.perf_counter() - t, 3),
                         "cpu_s": round(time.process_time() - cpu, 3)}
    return res
