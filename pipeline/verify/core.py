"""`verify_models`: every runtime on the test split, agreement, per-layer report, acceptance."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..convert.layout import to_channels_last
from ..errors import PipelineError
from . import numerics as nx
from .runtimes import run_litert, run_onnx, run_tflm, run_torch

# Order of preference for "the float model" that int8 accuracy is compared with.
FLOAT_REFERENCES = ("float_torch", "float_onnx", "float_tflite")


@dataclass(frozen=True)
class VerifyThresholds:
    max_accuracy_drop_pt: float = 1.0
    min_agreement: float = 0.999


def verify_models(int8_bytes: bytes, x_test: np.ndarray, y_test: np.ndarray, *,
                  float_tflite: bytes | None = None, onnx_path: Path | None = None, torch_module=None,
                  per_layer_samples: int = 200, progress=None) -> dict:
    """Run everything available on the test split (channels-first float32 `x_test`).

    Returns a JSON-able dict: accuracy{float_torch, float_onnx, float_tflite, int8_xnnpack,
    int8_ref, int8_tflm}, reference, reference_accuracy, int8_accuracy (TFLM), accuracy_drop_pt,
    agreement{tflm_vs_ref, tflm_vs_xnnpack, ref_vs_xnnpack} (fraction of identical int8 output
    elements), max_lsb_diff{...}, top1_agreement{...}, per_layer (worst first), worst_layer,
    samples, times.
    """
    def step(msg):
        if progress is not None:
            progress.log(f"  {msg}")

    x_cf = np.asarray(x_test, np.float32)
    y = np.asarray(y_test).astype(np.int64)
    x_cl = to_channels_last(x_cf)
    acc: dict[str, float | None] = {k: None for k in (*FLOAT_REFERENCES, "int8_xnnpack", "int8_ref", "int8_tflm")}
    times: dict[str, float] = {}

    def timed(name, fn, *a):
        t = time.perf_counter()
        out = fn(*a)
        times[name] = round(time.perf_counter() - t, 3)
        return out

    if torch_module is not None:
        acc["float_torch"] = nx.accuracy(timed("float_torch_s", run_torch, torch_module, x_cf), y)
    if onnx_path is not None and Path(onnx_path).exists():
        acc["float_onnx"] = nx.accuracy(timed("float_onnx_s", run_onnx, onnx_path, x_cf), y)
    if float_tflite is not None:
        acc["float_tflite"] = nx.accuracy(timed("float_tflite_s", run_litert, float_tflite, x_cl, "builtin"), y)
    q_xnn = timed("int8_xnnpack_s", run_litert, int8_bytes, x_cl, "xnnpack")
    q_ref = timed("int8_ref_s", run_litert, int8_bytes, x_cl, "ref")
    q_tflm = timed("int8_tflm_s", run_tflm, int8_bytes, x_cl)
    acc["int8_xnnpack"] = nx.accuracy(q_xnn, y)
    acc["int8_ref"] = nx.accuracy(q_ref, y)
    acc["int8_tflm"] = nx.accuracy(q_tflm, y)
    step("accuracy: " + ", ".join(f"{k} {v * 100:.2f}%" for k, v in acc.items() if v is not None))

    reference = next((k for k in FLOAT_REFERENCES if acc[k] is not None), None)
    ref_acc = acc[reference] if reference else None
    report: dict = {
        "samples": int(x_cf.shape[0]),
        "accuracy": acc,
        "reference": reference,
        "reference_accuracy": ref_acc,
        "int8_accuracy": acc["int8_tflm"],
        "accuracy_drop_pt": None if ref_acc is None else round((ref_acc - acc["int8_tflm"]) * 100, 4),
        "agreement": {
            "tflm_vs_ref": nx.agreement(q_tflm, q_ref),
            "tflm_vs_xnnpack": nx.agreement(q_tflm, q_xnn),
            "ref_vs_xnnpack": nx.agreement(q_ref, q_xnn),
        },
        "max_lsb_diff": {
            "tflm_vs_ref": nx.max_abs_diff(q_tflm, q_ref),
            "tflm_vs_xnnpack": nx.max_abs_diff(q_tflm, q_xnn),
        },
        "top1_agreement": {
            "tflm_vs_ref": nx.top1_agreement(q_tflm, q_ref),
            "tflm_vs_xnnpack": nx.top1_agreement(q_tflm, q_xnn),
        },
        "output_elements": int(q_tflm.size),
        "per_layer": [],
        "worst_layer": None,
    }
    a = report["agreement"]
    step(f"agreement (identical int8 outputs): TFLM vs LiteRT-ref {a['tflm_vs_ref'] * 100:.3f}%, "
         f"TFLM vs XNNPACK {a['tflm_vs_xnnpack'] * 100:.2f}%")
    if float_tflite is not None:
        rows = timed("per_layer_s", nx.per_layer_report, float_tflite, int8_bytes, x_cl, per_layer_samples,
                     onnx_path)
        report["per_layer"] = rows
        report["worst_layer"] = rows[0] if rows else None
        report["input_snr_db"] = nx.input_snr_db(int8_bytes, x_cl[:per_layer_samples])
        if rows:
            w = rows[0]
            where = f" ({w['layer']})" if w.get("layer") else ""
            step(f"worst layer: op #{w['op_index']} {w['op']}{where} loses {w['channel_snr_drop_db']:.1f} dB "
                 f"(SNR {w['snr_db']:.1f} dB, per-channel {w['channel_snr_db']:.1f} dB, "
                 f"max error {w['max_abs_err']:.3g})")
    report["times"] = times
    return report


def check_acceptance(report: dict, thresholds: VerifyThresholds) -> dict:
    """Adds `acceptance` to the report; raises a one-line PipelineError when it fails."""
    drop = report["accuracy_drop_pt"]
    agree = report["agreement"]["tflm_vs_ref"]
    acc_ok = drop is None or drop <= thresholds.max_accuracy_drop_pt + 1e-9
    agree_ok = agree >= thresholds.min_agreement
    report["acceptance"] = {
        "max_accuracy_drop_pt": thresholds.max_accuracy_drop_pt,
        "min_agreement": thresholds.min_agreement,
        "accuracy_ok": acc_ok,
        "agreement_ok": agree_ok,
        "passed": acc_ok and agree_ok,
    }
    if acc_ok and agree_ok:
        return report
    ref = report["reference_accuracy"]
    int8 = report["int8_accuracy"]
    parts = []
    if not acc_ok:
        parts.append(f"int8 top-1 {int8 * 100:.2f}% is {drop:.2f} pt below {report['reference']} "
                     f"{ref * 100:.2f}% (allowed: {thresholds.max_accuracy_drop_pt} pt)")
    else:
        parts.append(f"int8 top-1 {int8 * 100:.2f}% vs float {ref * 100:.2f}%" if ref is not None
                     else f"int8 top-1 {int8 * 100:.2f}%")
    parts.append(f"TFLM/LiteRT-ref agreement {agree * 100:.3f}% (required: {thresholds.min_agreement * 100:.1f}%)")
    w = report.get("worst_layer")
    if w:
        where = f" {w['layer']}" if w.get("layer") else ""
        parts.append(f"worst layer: op #{w['op_index']} {w['op']}{where} "
                     f"({w['channel_snr_drop_db']:.1f} dB per-channel SNR lost)")
    raise PipelineError("verification failed: " + "; ".join(parts))
