"""BYOM zoo (issue #23): per model and format, conversion time to full-int8 TFLite and int8 top-1
vs float on its task (LiteRT reference kernels and XNNPACK: what a Pi / Android build is gated
by; TFLite Micro where it loads the model).

Each model is trained for seconds on its synthetic task (tests/byom_zoo.py), exported as the user
would (.onnx / .pt2, or Keras), then goes through the data and convert stages' own functions for a
linux-arm target. Every number comes from this run.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

TITLE = "BYOM zoo: conversion time and int8 vs float top-1 per model"


def _one(zoo, files: dict, fmt: str, out: Path) -> dict:
    from pipeline import data as datasets
    from pipeline.config import DataConfig
    from pipeline.convert import convert_user_model
    from pipeline.errors import PipelineError
    from pipeline.verify import verify_models

    try:
        ds = datasets.load(DataConfig(dataset=f"npz:{files['npz']}"), files[fmt])
        t = time.perf_counter()
        res = convert_user_model(files[fmt], out, ds.x_calib, ds.input_shape, "linux-arm")
        convert_s = time.perf_counter() - t
        rep = verify_models(res.int8_path.read_bytes(), ds.x_test, ds.y_test, float_tflite=res.float_path.read_bytes(),
                            onnx_path=res.onnx_path, per_layer_samples=10, kind="linux-arm",
                            channels_last=res.meta["channels_last"])
    except PipelineError as err:
        return {"error": str(err)}
    acc = rep["accuracy"]
    return {"convert_s": round(convert_s, 2), "float": rep["reference_accuracy"], "reference": rep["reference"],
            "int8_ref": acc["int8_ref"], "int8_xnnpack": acc["int8_xnnpack"], "int8_tflm": acc["int8_tflm"],
            "drop_pt": rep["accuracy_drop_pt"], "int8_bytes": res.meta["int8"]["bytes"],
            "ops": len(res.meta["int8"]["ops"]), "notes": rep.get("notes", [])}


def run(progress) -> dict:
    from .common import byom_zoo_module

    zoo = byom_zoo_module()
    root = Path(tempfile.mkdtemp(prefix="byom-bench-"))
    rows = []
    try:
        for name in (*zoo.ZOO, *zoo.KERAS_ZOO):
            keras = name in zoo.KERAS_ZOO
            files = (zoo.write_keras if keras else zoo.write)(name, root / name)
            for fmt in (("keras",) if keras else ("onnx", "pt2")):
                progress.log(f"   {name} ({fmt})")
                row = {"model": name, "format": fmt, "train_s": files["train_s"],
                       **_one(zoo, files, fmt, root / name / f"out-{fmt}")}
                rows.append(row)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"models": rows}


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.2f}"


def markdown(result: dict) -> str:
    lines = ["| model | format | convert s | float % | int8 ref % | int8 XNNPACK % | int8 TFLM % | drop pt | notes |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["models"]:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['format']} | — | — | — | — | — | — | failed: {r['error'][:120]} |")
            continue
        lines.append(f"| {r['model']} | {r['format']} | {r['convert_s']:.1f} | {_pct(r['float'])} | "
                     f"{_pct(r['int8_ref'])} | {_pct(r['int8_xnnpack'])} | {_pct(r['int8_tflm'])} | "
                     f"{r['drop_pt']:.2f} | {'; '.join(r['notes'])} |")
    return "\n".join(lines) + "\n"
