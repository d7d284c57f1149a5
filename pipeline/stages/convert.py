"""Stage `convert` (issue #4): student (or `--model PATH`) -> full-int8 TFLite + float32 TFLite.

Files: `model_int8.tflite` (always), `model_float.tflite` and `model.onnx` (when the source is
PyTorch or ONNX), `convert.log` (onnx2tf / TensorFlow output). The int8 model is checked against
the target kind's op set (`pipeline.opsets`), so an unsupported op fails here, before packaging.
With `--model` the training stages are skipped, so `inputs["compress"]` may be absent.
"""
from __future__ import annotations

import time

from ..convert import (FLOAT_FILE, INT8_FILE, LOG_FILE, ONNX_FILE, convert_torch, convert_user_model,
                       load_torch)
from ..errors import PipelineError
from .base import Artifact, Context
from .data import load_dataset

NAME = "convert"
INPUTS = ("data", "compress",)
CONFIG_SECTIONS = ("convert", "quantize",)
TARGET_FIELDS: tuple[str, ...] = ("kind",)

STUDENT_FILE = "student.pt"


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    ds = load_dataset(inputs["data"])
    cfg = ctx.config.convert
    kind = ctx.target.kind
    t0, cpu0 = time.perf_counter(), time.process_time()
    if ctx.model_path is not None:
        with ctx.progress.status(f"converting {ctx.model_path} to int8 TFLite"):
            res = convert_user_model(ctx.model_path, ctx.out_dir, ds.x_calib, ds.input_shape, kind,
                                     cfg.opset, per_channel_dense=cfg.per_channel_dense,
                                     dense_as_conv=cfg.dense_as_conv)
    else:
        compress = inputs.get("compress")
        if compress is None:
            raise PipelineError("convert needs a trained student (the compress stage) or --model PATH")
        module = load_torch(compress.path(STUDENT_FILE))
        with ctx.progress.status("converting the student to int8 TFLite (ONNX -> onnx2tf -> TFLite)"):
            res = convert_torch(module, ctx.out_dir, ds.x_calib, ds.input_shape, kind, cfg.opset,
                                with_float=cfg.float_model, per_channel_dense=cfg.per_channel_dense,
                                dense_as_conv=cfg.dense_as_conv)
        res.meta["source"] = "student"
    total = time.perf_counter() - t0
    int8 = res.meta["int8"]
    meta = {
        "source": res.meta.get("source", "student"),
        "source_ref": res.meta.get("source_ref"),
        "target_kind": kind,
        "files": {"int8": INT8_FILE,
                  "float": FLOAT_FILE if res.float_path else None,
                  "onnx": ONNX_FILE if res.onnx_path else None,
                  "log": LOG_FILE if (ctx.out_dir / LOG_FILE).exists() else None},
        "int8_bytes": int8["bytes"],
        "float_bytes": res.meta["float"]["bytes"] if "float" in res.meta else None,
        "ops": int8["ops"],
        "op_counts": int8["op_counts"],
        "input_shape": list(ds.input_shape),
        "input_layout": int8["input_layout"],
        "channels_last": res.meta.get("channels_last", False),  # the samples go in as they are
        "input_quant": {"scale": int8["input"]["scale"], "zero_point": int8["input"]["zero_point"]},
        "output_quant": {"scale": int8["output"]["scale"], "zero_point": int8["output"]["zero_point"]},
        "normalization": {"mean": ds.mean, "std": ds.std},
        "int8": int8,
        "float": res.meta.get("float"),
        "opset": cfg.opset,
        "per_channel_dense": cfg.per_channel_dense,
        "rewrites": res.meta.get("rewrites", {}),
        "times": {**res.meta.get("times", {}), "total_s": round(total, 3),
                  "total_cpu_s": round(time.process_time() - cpu0, 3)},
    }
    ctx.progress.log(
        f"  int8 model: {int8['bytes']:,} bytes, ops {', '.join(int8['op_counts'])}; "
        f"input {int8['input']['shape']} {int8['input_layout']} scale {int8['input']['scale']:.6g} "
        f"zp {int8['input']['zero_point']} ({total:.1f} s)")
    return ctx.artifact(meta)
