"""Stage `verify` (issue #4): the converted model's numbers, on the test split.

Accuracy of float torch (when a student exists), float ONNX, float TFLite, int8 on LiteRT
(XNNPACK and reference kernels) and int8 on the TFLite Micro host interpreter; element-wise
agreement of the int8 outputs between runtimes; per-layer SNR / max error of every int8 tensor
vs the float model (worst first). Writes `verify.json` (everything) and fails with one line
when what the target runs falls short (issue #23): for Cortex-M, TFLM's int8 top-1 drops more
than `verify.max_accuracy_drop_pt` below float or TFLM and LiteRT's reference kernels agree on
fewer than `verify.min_agreement` of the output elements; for the Pi, Android and host, LiteRT's
(reference and XNNPACK) int8 top-1 does. TFLite Micro findings on those are notes, not failures.
"""
from __future__ import annotations

import json

from ..atomic import atomic_path
from ..convert import FLOAT_FILE, INT8_FILE, ONNX_FILE, load_torch
from ..verify import VerifyThresholds, check_acceptance, verify_models
from .base import Artifact, Context
from .data import load_dataset

NAME = "verify"
INPUTS = ("data", "compress", "convert",)
CONFIG_SECTIONS = ("verify",)
TARGET_FIELDS: tuple[str, ...] = ("kind",)  # what gates the build is what the target runs

REPORT_FILE = "verify.json"


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    ds = load_dataset(inputs["data"])
    conv = inputs["convert"]
    cfg = ctx.config.verify
    int8 = conv.path(INT8_FILE).read_bytes()
    float_path = conv.dir / FLOAT_FILE
    onnx_path = conv.dir / ONNX_FILE
    module = None
    compress = inputs.get("compress")
    if compress is not None and ctx.model_path is None and (compress.dir / "student.pt").exists():
        module = load_torch(compress.dir / "student.pt")
    with ctx.progress.status("verifying int8 numerics (LiteRT XNNPACK / reference, TFLite Micro)"):
        report = verify_models(int8, ds.x_test, ds.y_test,
                               float_tflite=float_path.read_bytes() if float_path.exists() else None,
                               onnx_path=onnx_path if onnx_path.exists() else None,
                               torch_module=module, per_layer_samples=cfg.per_layer_samples,
                               progress=ctx.progress, kind=ctx.target.kind,
                               channels_last=conv.meta.get("channels_last", False),
                               log_path=ctx.out_dir / "tflm.log")
    try:
        check_acceptance(report, VerifyThresholds(cfg.max_accuracy_drop_pt, cfg.min_agreement), ctx.target.kind)
    finally:
        # Written even when acceptance fails (the stage then raises and the entry is discarded,
        # but a `--debug` user can still read it from the temporary directory).
        with atomic_path(ctx.out_dir / REPORT_FILE) as tmp:
            tmp.write_text(json.dumps(report, indent=2))
    meta = {k: report[k] for k in ("samples", "accuracy", "reference", "reference_accuracy", "int8_accuracy",
                                   "accuracy_drop_pt", "agreement", "max_lsb_diff", "top1_agreement",
                                   "acceptance", "times", "target_kind", "gated_runtimes", "tflm", "notes")}
    meta["worst_layers"] = report["per_layer"][:5]
    meta["report"] = REPORT_FILE
    return ctx.artifact(meta)
