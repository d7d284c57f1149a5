"""The `report` stage: merges bench/verify/training outputs; tolerates unfinished upstream stages."""
from __future__ import annotations

import json
import math

import pytest

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.report.io import read_report, validate
from pipeline.stages import report as stage
from pipeline.stages.base import Artifact, Context
from pipeline.stages.progress import Progress
from pipeline.targets import load_all

from .examples import cortex_m, rpi


def _bench_of(report: dict) -> dict:
    """What an adapter writes to bench.json: the device-side sections of a report."""
    keys = ("device", "runtime", "latency", "accuracy", "memory")
    return {k: json.loads(json.dumps(report[k])) for k in keys}


VERIFY = {
    "metric": "top1", "n": 1000, "float_accuracy": 0.984, "int8_accuracy": 0.981,
    "agreement": {"tflm": 1.0},
    "layers": [{"name": "conv1", "op": "CONV_2D", "snr_db": math.inf, "max_abs_error": 0.0},
               {"name": "fc", "op": "FULLY_CONNECTED", "snr_db": 24.5, "max_abs_error": 0.03, "extra": 1}],
    "model": {"sha256": "cd" * 32, "bytes": 53_248, "params": 22_700, "macs": 2_660_000,
              "quantization": "int8", "input_shape": [1, 40, 1], "output_shape": [1, 10], "path": "m.tflite"},
}
TRAINING = {"teacher": {"accuracy": 0.99, "params": 310_000, "macs": 40_000_000, "epochs": 20},
            "distill": {"accuracy": 0.984, "params": 22_700, "macs": 2_660_000}}


def test_make_report_merges_everything(targets):
    bench = _bench_of(cortex_m())
    del bench["accuracy"]["float_reference"]
    r = stage.make_report(targets.get("cortex-m4"), bench, VERIFY, TRAINING, VERIFY["model"],
                          config_hash="0123456789abcdef", dataset_hash="fe" * 32)
    validate(r)
    assert r["status"] == "complete"
    assert r["target"] == {"id": "cortex-m4", "name": targets.get("cortex-m4").name, "kind": "cortex-m",
                           "core": "cortex-m4", "arch": "armv7e-m"}
    assert r["accuracy"]["value"] == 0.98 and r["accuracy"]["float_reference"] == 0.984  # device + verify
    assert r["throughput"]["macs_per_unit"] == pytest.approx(2_660_000 / 4_120_000)
    assert r["quantization_layers"][0]["snr_db"] == stage.SNR_CAP_DB  # inf is capped, JSON-safe
    assert "extra" not in r["quantization_layers"][1] and "path" not in r["model"]
    assert r["training"] == {"teacher": {"accuracy": 0.99, "params": 310_000, "macs": 40_000_000},
                             "distilled": {"accuracy": 0.984, "params": 22_700, "macs": 2_660_000}}
    assert r["provenance"]["config_hash"] == "0123456789abcdef"


# The shape `pipeline.verify.verify_models` returns (trimmed): per_layer is worst first.
VERIFY_MODELS = {
    "samples": 1000, "reference": "float_torch", "reference_accuracy": 0.984, "int8_accuracy": 0.979,
    "accuracy": {"float_torch": 0.984, "float_onnx": None, "float_tflite": 0.984, "int8_xnnpack": 0.979,
                 "int8_ref": 0.979, "int8_tflm": 0.979},
    "agreement": {"tflm_vs_ref": 1.0, "tflm_vs_xnnpack": 0.998, "ref_vs_xnnpack": 0.998},
    "per_layer": [
        {"op_index": 3, "op": "FULLY_CONNECTED", "tensor": "model/dense/MatMul;model/dense/BiasAdd" * 3,
         "shape": [1, 10], "snr_db": 18.2, "snr_drop_db": 9.1, "max_abs_err": 0.2, "scale": 0.1},
        {"op_index": 0, "op": "CONV_2D", "tensor": "model/conv", "shape": [1, 40, 8], "snr_db": 120.0,
         "snr_drop_db": 0.0, "max_abs_err": 0.0, "scale": 0.02},
    ],
}


def test_make_report_from_verify_models_output(targets):
    bench = _bench_of(rpi())
    del bench["accuracy"]
    r = stage.make_report(targets.get("rpi4"), bench, VERIFY_MODELS, None, VERIFY["model"], "", "")
    validate(r)
    assert r["accuracy"] == {"metric": "top1", "value": 0.979, "float_reference": 0.984, "n": 1000}
    assert [(x["name"][:12], x["snr_db"]) for x in r["quantization_layers"]] == [
        ("#0 model/con", 120.0), ("#3 model/den", 18.2)]  # model order, not worst first
    assert r["quantization_layers"][1]["max_abs_error"] == 0.2


def test_make_report_without_bench_is_incomplete_but_valid(targets):
    r = stage.make_report(targets.get("rpi4"), None, VERIFY, None, None, config_hash="", dataset_hash="")
    validate(r)
    assert r["status"] == "incomplete"
    assert r["error"] == "no benchmark results yet: device, runtime, latency, model"
    assert r["accuracy"] == {"metric": "top1", "value": 0.981, "n": 1000, "float_reference": 0.984,
                             "agreement": {"tflm": 1.0}}  # verified on the host


def test_make_report_keeps_an_adapter_error(targets):
    r = stage.make_report(targets.get("rpi4"), {"status": "incomplete", "error": "qemu-aarch64-static not found"},
                          None, None, None, config_hash="", dataset_hash="")
    validate(r)
    assert r["error"] == "qemu-aarch64-static not found"


def test_a_typo_in_bench_json_is_caught_by_name(targets):
    bench = _bench_of(rpi())
    bench["latency"]["p95"] = 1.0
    r = stage.make_report(targets.get("rpi4"), bench, None, None, VERIFY["model"], "", "")
    with pytest.raises(PipelineError, match=r"^bench: latency.p95: unknown field"):
        validate(r, "bench")


def _artifact(tmp_path, name, meta=None, files=None):
    d = tmp_path / name
    d.mkdir()
    for fname, content in (files or {}).items():
        (d / fname).write_text(content)
    return Artifact(stage=name, dir=d, meta=meta or {})


def _ctx(tmp_path, target):
    out = tmp_path / "out"
    out.mkdir()
    return Context(config=Config(), target=target, out_dir=out, build_dir=tmp_path,
                   progress=Progress(enabled=False))


def test_run_writes_report_json_and_html(tmp_path, targets):
    ctx = _ctx(tmp_path, targets.get("rpi4"))
    bench = {**_bench_of(rpi()), "model": VERIFY["model"], "raw_runs": [1, 2, 3]}  # unknown top-level: ignored
    inputs = {
        "data": _artifact(tmp_path, "data", {"name": "mnist1d"}, {"dataset.npz": "fake"}),
        "verify": _artifact(tmp_path, "verify", VERIFY),
        "bench": _artifact(tmp_path, "bench", {}, {"bench.json": json.dumps(bench)}),
    }
    art = stage.run(ctx, inputs)
    assert art.meta == {"status": "complete",
                        "publish": {"report.json": "report.json", "report.html": "report.html"}}
    r = read_report(ctx.out_dir / "report.json")
    assert r["provenance"]["config_hash"] == stage.config_hash(Config())
    assert len(r["provenance"]["dataset_hash"]) == 64  # hashed from the data files
    html = (ctx.out_dir / "report.html").read_text()
    assert "<svg" in html and "rpi4" in html
    assert sorted(p.name for p in ctx.out_dir.iterdir()) == ["report.html", "report.json"]


def test_run_with_unfinished_upstream_stages(tmp_path, targets):
    ctx = _ctx(tmp_path, targets.get("cortex-m4"))
    art = stage.run(ctx, {"verify": _artifact(tmp_path, "verify", {})})
    assert art.meta["status"] == "incomplete"
    assert read_report(ctx.out_dir / "report.json")["error"].startswith("no benchmark results yet")


def test_run_with_corrupt_bench_json(tmp_path, targets):
    ctx = _ctx(tmp_path, targets.get("cortex-m4"))
    bench = _artifact(tmp_path, "bench", {}, {"bench.json": "{oops"})
    with pytest.raises(PipelineError, match=r"bench.json: not valid JSON"):
        stage.run(ctx, {"bench": bench})
    assert list(ctx.out_dir.iterdir()) == []


def test_stage_contract():
    assert stage.NAME == "report" and stage.INPUTS == ("data", "compress", "verify", "bench")
    cfg = Config()
    for section in stage.CONFIG_SECTIONS:
        cfg.section(section)  # every declared section exists
    assert set(stage.TARGET_FIELDS) <= set(load_all().get("rpi4").model_dump())
