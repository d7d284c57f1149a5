"""Stage `report`: merge the bench, verify and training outputs into one schema-valid report.

Writes `report.json` (validated, schema `pipeline/report/schema/report-v1.json`) and a
self-contained `report.html`. Written defensively: while other stages are unfinished, their
artifacts may lack keys; a missing benchmark gives an `incomplete` report that says why rather
than a crash. What each input may hold (all optional):

  bench (bench.json, else the artifact meta): device, runtime, latency, accuracy, memory,
        throughput, model, quantization_layers, toolchain {name: version}, started_at,
        finished_at, status, error  -- sections in the report schema's own shape.
  verify (verify.json, else the meta; the dict `pipeline.verify.verify_models` returns):
        int8_accuracy, reference_accuracy (or float_accuracy), accuracy {float_*, int8_*},
        samples (or n), metric, per_layer
        [{op_index, op, tensor, snr_db, max_abs_err}] (or layers / quantization_layers in the
        report's shape), agreement {tflm, host} only when it is the device's, model {sha256,
        bytes, params, macs, quantization, input_shape, output_shape}
  train, or teacher / distill / compress (meta): accuracy, params, macs, sparsity; or named
        entries {teacher, scratch, distilled, pruned, qat: {accuracy, params, macs, sparsity}}
  data (meta): sha256 / dataset_hash, else the data files are hashed.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from ..atomic import sha256_file, write_text
from ..errors import PipelineError
from ..report.io import build_report, validate, write_report
from .base import Artifact, Context

NAME = "report"
INPUTS = ("data", "compress", "verify", "bench")
# Every section that shapes an artifact: config_hash covers them, so the report re-runs when it changes.
CONFIG_SECTIONS = ("data", "teacher", "student", "distill", "prune", "quantize", "convert", "verify", "bench")
TARGET_FIELDS = ("id", "name", "kind", "core", "arch")

SNR_CAP_DB = 200.0  # the schema's cap: a bit-exact layer has infinite SNR, which JSON cannot hold
_MODEL_KEYS = ("sha256", "bytes", "params", "macs", "quantization", "input_shape", "output_shape")
_TRAIN_KEYS = ("accuracy", "params", "macs", "sparsity", "val_accuracy")
# The distill stage's choice between the distilled and the scratch student (schema `training_selection`).
_SELECTION_KEYS = ("kept", "metric", "distilled_val_accuracy", "scratch_val_accuracy", "margin_pt", "temperature",
                   "alpha", "student_size", "params_ratio")
_TRAIN_NAMES = {"teacher": "teacher", "scratch": "scratch", "distill": "distilled", "distilled": "distilled",
                "prune": "pruned", "pruned": "pruned", "qat": "qat"}


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    bench = _json_of(inputs.get("bench"), "bench.json")
    verify = _json_of(inputs.get("verify"), "verify.json")
    model_info = bench.get("model") or verify.get("model") or _model_from_files(inputs)
    report = make_report(
        ctx.target, bench, verify, _training(inputs), model_info,
        config_hash=config_hash(ctx.config), dataset_hash=_dataset_hash(inputs.get("data")),
    )
    validate(report, f"report for target '{ctx.target.id}'")
    write_report(ctx.out_dir / "report.json", report)

    from ..report.render_html import render  # matplotlib: imported only when a report is drawn
    from ..report.table import build_table

    names = [ctx.target.id]
    write_text(ctx.out_dir / "report.html", render([report], names, build_table([report], names)))
    ctx.progress.log(f"  report: {report['status']} -> report.json, report.html")
    # `publish`: the build copies them to build/<target>/report.json and report.html.
    return ctx.artifact({"status": report["status"],
                         "publish": {"report.json": "report.json", "report.html": "report.html"}})


def make_report(target: Any, bench: dict | None, verify: dict | None, training: dict | None,
                model_info: dict | None, config_hash: str, dataset_hash: str) -> dict:
    """The standard report (not yet validated: `write_report` validates) from the stage outputs.

    `target` is a `pipeline.targets.Target` or a dict with its fields.
    """
    bench, verify = dict(bench or {}), dict(verify or {})
    tgt = target if isinstance(target, dict) else target.model_dump()
    target_section = {k: tgt[k] for k in TARGET_FIELDS if tgt.get(k) is not None}

    device = bench.get("device")
    if device is not None and "arch" not in device and tgt.get("arch"):
        device = {**device, "arch": tgt["arch"]}
    model = {k: model_info[k] for k in _MODEL_KEYS if model_info and model_info.get(k) is not None} or None
    latency = bench.get("latency")
    throughput = bench.get("throughput")
    if throughput is None and latency and model and model.get("macs") and latency.get("median"):
        throughput = {"macs_per_unit": model["macs"] / latency["median"]}

    error = bench.get("error")
    missing = [k for k, v in (("device", device), ("runtime", bench.get("runtime")), ("latency", latency),
                              ("model", model)) if not v]
    status = bench.get("status") or ("incomplete" if missing or error else "complete")
    if status == "incomplete" and not error:
        error = ("no benchmark results yet: " if not bench else "benchmark is missing ") + ", ".join(missing)
    provenance = {
        "config_hash": config_hash or None, "dataset_hash": dataset_hash or None,
        "toolchain": bench.get("toolchain") or {},
        "started_at": bench.get("started_at"), "finished_at": bench.get("finished_at"),
    }
    return build_report(
        status=status, error=error if status == "incomplete" else None,
        target=target_section, device=device, model=model, runtime=bench.get("runtime"),
        latency=latency, throughput=throughput,
        accuracy=_accuracy(bench.get("accuracy"), verify),
        memory=bench.get("memory"),
        training=_training_section(training),
        quantization_layers=_layers(bench.get("quantization_layers") or _first(
            verify, "quantization_layers", "layers", "per_layer")),
        provenance=provenance,
    )


def config_hash(config: Any) -> str:
    data = {s: config.section(s) for s in CONFIG_SECTIONS}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _first(d: dict, *keys: str) -> Any:
    for k in keys:
        if d.get(k) is not None:
            return d[k]
    return None


def _json_of(art: Artifact | None, name: str) -> dict:
    """The stage's JSON file when it wrote one, else its meta ({} when the stage has not run)."""
    if art is None:
        return {}
    path = art.dir / name
    if not path.exists():
        return dict(art.meta)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


_FLOAT_KEYS = ("float", "float_torch", "float_onnx", "float_tflite")  # verify's order of preference
_INT8_KEYS = ("int8", "int8_tflm", "int8_ref", "int8_xnnpack")


def _accuracy(bench_acc: dict | None, verify: dict) -> dict | None:
    """Device accuracy from the bench; the float reference (and, without a device number, the
    host-verified int8 accuracy) from verify."""
    per_runtime = verify.get("accuracy") if isinstance(verify.get("accuracy"), dict) else {}
    acc = dict(bench_acc or {})
    if "value" not in acc:
        # No on-device accuracy: the verified int8 accuracy is the same model's, scored on the host.
        value = _first(verify, "int8_accuracy")
        value = value if value is not None else _first(per_runtime, *_INT8_KEYS)
        if value is None:
            return acc or None  # a bench accuracy without a value then fails validation, by name
        acc["value"] = value
    acc.setdefault("metric", verify.get("metric", "top1"))
    float_ref = _first(verify, "float_accuracy", "reference_accuracy")
    float_ref = float_ref if float_ref is not None else _first(per_runtime, *_FLOAT_KEYS)
    agreement = verify.get("agreement")
    if not (isinstance(agreement, dict) and agreement and set(agreement) <= {"tflm", "host"}):
        agreement = None  # verify's own agreement is between host runtimes, not the device's
    for key, src in (("float_reference", float_ref), ("n", _first(verify, "n", "samples")), ("agreement", agreement)):
        if key not in acc and src is not None:
            acc[key] = src
    return acc


def _layers(layers: Any) -> list[dict] | None:
    """Per-layer SNR rows in model order; verify's rows ({op_index, op, tensor, snr_db,
    max_abs_err}, worst first) and schema-shaped rows ({name, op, snr_db, max_abs_error}) both work."""
    if not layers:
        return None
    rows = sorted(layers, key=lambda r: r.get("op_index", 0)) if all("op_index" in r for r in layers) else layers
    out = []
    for row in rows:
        name = row.get("name") or row.get("tensor") or f"op {row.get('op_index', len(out))}"
        if "op_index" in row:
            name = f"#{row['op_index']} {name}"
        entry = {"name": name, "op": row.get("op"), "snr_db": row.get("snr_db"),
                 "max_abs_error": _first(row, "max_abs_error", "max_abs_err")}
        entry = {k: v for k, v in entry.items() if v is not None}
        snr = entry.get("snr_db")
        if isinstance(snr, (int, float)) and not math.isnan(snr):
            entry["snr_db"] = max(-SNR_CAP_DB, min(SNR_CAP_DB, float(snr)))
        out.append(entry)
    return out


def _training(inputs: dict[str, Artifact]) -> dict | None:
    """The training summary: the compress stage's train.json ({"teacher": {...}, "scratch": {...},
    "distilled": {...}, "pruned": {...}}); None for a build of a user's model (no training)."""
    compress = inputs.get("compress")
    if compress is None or not (compress.dir / "train.json").is_file():
        return None
    return {k: v for k, v in json.loads((compress.dir / "train.json").read_text()).items() if isinstance(v, dict)}


def _training_section(training: dict | None) -> dict | None:
    if not training:
        return None
    out = {}
    for name, entry in training.items():
        if name in _TRAIN_NAMES and isinstance(entry, dict):
            picked = {k: entry[k] for k in _TRAIN_KEYS if entry.get(k) is not None}
            if picked:
                out[_TRAIN_NAMES[name]] = picked
    sel = training.get("selection")
    if isinstance(sel, dict) and sel.get("kept") in ("distilled", "scratch"):
        out["selection"] = {k: sel[k] for k in _SELECTION_KEYS if sel.get(k) is not None}
    return out or None


def _dataset_hash(art: Artifact | None) -> str:
    if art is None:
        return ""
    given = _first(art.meta, "dataset_hash", "sha256", "hash")
    if isinstance(given, str) and given:
        return given
    h = hashlib.sha256()
    for f in art.files():  # content hash: the same data gives the same hash on any machine
        h.update(f.relative_to(art.dir).as_posix().encode() + b"\0" + sha256_file(f).encode())
    return h.hexdigest()


def _model_from_files(inputs: dict[str, Artifact]) -> dict | None:
    for stage in ("bench", "verify"):   # the report's INPUTS that hold a model file
        art = inputs.get(stage)
        if art is None:
            continue
        models = sorted(art.dir.rglob("*.tflite"), key=lambda p: ("int8" not in p.name, p.name))
        if models:
            m: Path = models[0]
            return {"sha256": sha256_file(m), "bytes": m.stat().st_size,
                    "quantization": "int8" if "int8" in m.name else None}
    return None
