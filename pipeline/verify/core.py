"""`verify_models`: every runtime on the test split, agreement, per-layer report, acceptance."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..convert.layout import to_model_layout
from ..errors import PipelineError
from . import numerics as nx
from .runtimes import run_litert, run_onnx, run_tflm, run_torch

# Order of preference for "the float model" that int8 accuracy is compared with.
FLOAT_REFERENCES = ("float_torch", "float_onnx", "float_tflite")


@dataclass(frozen=True)
class VerifyThresholds:
    max_accuracy_drop_pt: float = 1.0
    min_agreement: float = 0.999


# What a target kind runs, so what gates its build (issue #23): a Pi or a phone runs LiteRT
# (XNNPACK by default, the reference kernels in the bundle's exactness check), a microcontroller
# TFLite Micro's arithmetic (our engine is proven bit-exact with it). Everything else is reported.
GATED_RUNTIMES = {"cortex-m": ("int8_tflm",)}
LITERT_RUNTIMES = ("int8_ref", "int8_xnnpack")


def gated_runtimes(kind: str) -> tuple[str, ...]:
    return GATED_RUNTIMES.get(kind, LITERT_RUNTIMES)


def verify_models(int8_bytes: bytes, x_test: np.ndarray, y_test: np.ndarray, *,
                  float_tflite: bytes | None = None, onnx_path: Path | None = None, torch_module=None,
                  per_layer_samples: int = 200, progress=None, kind: str = "cortex-m",
                  channels_last: bool = False, log_path: Path | None = None) -> dict:
    """Run everything available on the test split (float32 `x_test` in the source model's layout:
    channels-first for PyTorch/ONNX, as the TFLite model takes it when `channels_last`).

    TFLite Micro always runs where it can load the model; when it cannot (an op it lacks) that is
    recorded in `tflm` and gates only a Cortex-M build.

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
    x_cl = to_model_layout(x_cf, channels_last)
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
    tflm = {"runs": True, "error": None, "missing_ops": [], "first_differing_op": None}
    try:
        q_tflm = timed("int8_tflm_s", run_tflm, int8_bytes, x_cl)
    except PipelineError as err:
        from .divergence import tflm_missing_ops

        q_tflm = None
        tflm.update(runs=False, error=str(err),
                    missing_ops=tflm_missing_ops(int8_bytes, log_path))
    acc["int8_xnnpack"] = nx.accuracy(q_xnn, y)
    acc["int8_ref"] = nx.accuracy(q_ref, y)
    acc["int8_tflm"] = None if q_tflm is None else nx.accuracy(q_tflm, y)
    step("accuracy: " + ", ".join(f"{k} {v * 100:.2f}%" for k, v in acc.items() if v is not None))

    reference = next((k for k in FLOAT_REFERENCES if acc[k] is not None), None)
    ref_acc = acc[reference] if reference else None
    gated = gated_runtimes(kind)
    gated_acc = [acc[k] for k in gated if acc[k] is not None]
    int8_acc = min(gated_acc) if gated_acc else None
    report: dict = {
        "samples": int(x_cf.shape[0]),
        "target_kind": kind,
        "gated_runtimes": list(gated),
        "accuracy": acc,
        "reference": reference,
        "reference_accuracy": ref_acc,
        "int8_accuracy": int8_acc,
        "accuracy_drop_pt": (None if ref_acc is None or int8_acc is None
                             else round((ref_acc - int8_acc) * 100, 4)),
        "agreement": {"ref_vs_xnnpack": nx.agreement(q_ref, q_xnn)},
        "max_lsb_diff": {},
        "top1_agreement": {},
        "output_elements": int(q_ref.size),
        "tflm": tflm,
        "per_layer": [],
        "worst_layer": None,
    }
    if q_tflm is not None:
        for other, q in (("ref", q_ref), ("xnnpack", q_xnn)):
            report["agreement"][f"tflm_vs_{other}"] = nx.agreement(q_tflm, q)
            report["max_lsb_diff"][f"tflm_vs_{other}"] = nx.max_abs_diff(q_tflm, q)
            report["top1_agreement"][f"tflm_vs_{other}"] = nx.top1_agreement(q_tflm, q)
        if report["agreement"]["tflm_vs_ref"] < 1.0:
            from .divergence import first_differing_op

            tflm["first_differing_op"] = first_differing_op(int8_bytes, x_cl, q_tflm, q_ref)
        a = report["agreement"]
        step(f"agreement (identical int8 outputs): TFLM vs LiteRT-ref {a['tflm_vs_ref'] * 100:.3f}%, "
             f"TFLM vs XNNPACK {a['tflm_vs_xnnpack'] * 100:.2f}%")
    report["notes"] = tflm_notes(report)
    for note in report["notes"]:
        step(note)
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


def tflm_notes(report: dict) -> list[str]:
    """What a LiteRT build reports about TFLite Micro instead of failing on it."""
    t = report.get("tflm") or {}
    if not t.get("runs", True):
        ops = t.get("missing_ops") or []
        what = ", ".join(ops) + (" (TFLite Micro lacks it)" if len(ops) == 1 else " (TFLite Micro lacks them)") \
            if ops else (t.get("error") or "TFLite Micro cannot load it")
        return [f"Cortex-M: not deployable — {what}"]
    agree = report["agreement"].get("tflm_vs_ref")
    if agree is None or agree >= 1.0:
        return []
    note = f"TFLite Micro differs from LiteRT-ref on {(1 - agree) * 100:.2f} % of output elements"
    first = t.get("first_differing_op")
    if first:
        note += f"; first differing op #{first['op_index']} {first['op']}"
    return [note]


def check_acceptance(report: dict, thresholds: VerifyThresholds, kind: str | None = None) -> dict:
    """Adds `acceptance` to the report; raises a one-line PipelineError when it fails.

    Cortex-M: TFLite Micro's int8 top-1 vs float (our engine is proven bit-exact with TFLM; its
    agreement with LiteRT's reference kernels is a note). Other kinds: LiteRT's reference and
    XNNPACK int8 top-1 vs float; TFLite Micro findings are notes, never a failure."""
    kind = kind or report.get("target_kind", "cortex-m")
    return (_check_tflm if kind == "cortex-m" else _check_litert)(report, thresholds)


def _check_litert(report: dict, thresholds: VerifyThresholds) -> dict:
    ref = report["reference_accuracy"]
    drops = {k: (ref - report["accuracy"][k]) * 100 for k in LITERT_RUNTIMES
             if ref is not None and report["accuracy"].get(k) is not None}
    bad = {k: d for k, d in drops.items() if d > thresholds.max_accuracy_drop_pt + 1e-9}
    report["acceptance"] = {"max_accuracy_drop_pt": thresholds.max_accuracy_drop_pt, "gated": list(LITERT_RUNTIMES),
                            "accuracy_ok": not bad, "agreement_ok": True, "passed": not bad,
                            "notes": report.get("notes", [])}
    if not bad:
        return report
    parts = [f"int8 top-1 on LiteRT {k[5:]} {report['accuracy'][k] * 100:.2f}% is {d:.2f} pt below "
             f"{report['reference']} {ref * 100:.2f}%" for k, d in bad.items()]
    w = report.get("worst_layer")
    if w:
        parts.append(f"worst layer: op #{w['op_index']} {w['op']} ({w['channel_snr_drop_db']:.1f} dB per-channel SNR lost)")
    raise PipelineError("verification failed: " + "; ".join(parts)
                        + f" (allowed: {thresholds.max_accuracy_drop_pt} pt)")


def _check_tflm(report: dict, thresholds: VerifyThresholds) -> dict:
    """Cortex-M: what the target runs is TFLite Micro's arithmetic (our engine is proven bit-exact
    with it on every build), so TFLM's int8 top-1 against float is the gate. Where TFLM and LiteRT's
    reference kernels round differently (FULLY_CONNECTED: 0.3-0.5 % of outputs on small MLPs; GRU,
    LSTM and attention blocks, whose 1-LSB differences compound: 5-12 %), that is a note naming
    the first differing op, not a failure."""
    t = report.get("tflm") or {}
    if not t.get("runs", True):
        ops = t.get("missing_ops") or []
        raise PipelineError(
            "verification failed: TFLite Micro cannot run the model"
            + (f" (it lacks {', '.join(ops)})" if ops else f": {t.get('error')}")
            + "; a Cortex-M build needs TFLite Micro's numbers")
    drop = report["accuracy_drop_pt"]
    agree = report["agreement"]["tflm_vs_ref"]
    acc_ok = drop is None or drop <= thresholds.max_accuracy_drop_pt + 1e-9
    agree_ok = agree >= thresholds.min_agreement
    notes = list(report.get("notes", []))
    if not agree_ok:
        notes += [n for n in tflm_notes(report) if n not in notes]   # the same note a Pi build gives
        report["notes"] = notes
    report["acceptance"] = {
        "max_accuracy_drop_pt": thresholds.max_accuracy_drop_pt,
        "min_agreement": thresholds.min_agreement,
        "gated": ["int8_tflm"],
        "accuracy_ok": acc_ok,
        "agreement_ok": agree_ok,
        "passed": acc_ok,
        "notes": notes,
    }
    if acc_ok:
        return report
    ref = report["reference_accuracy"]
    int8 = report["int8_accuracy"]
    parts = [f"int8 top-1 {int8 * 100:.2f}% is {drop:.2f} pt below {report['reference']} "
             f"{ref * 100:.2f}% (allowed: {thresholds.max_accuracy_drop_pt} pt)"]
    w = report.get("worst_layer")
    if w:
        where = f" {w['layer']}" if w.get("layer") else ""
        parts.append(f"worst layer: op #{w['op_index']} {w['op']}{where} "
                     f"({w['channel_snr_drop_db']:.1f} dB per-channel SNR lost)")
    raise PipelineError("verification failed: " + "; ".join(parts))
