"""The convert and verify stages through the stage contract (Context in, Artifact out)."""
from __future__ import annotations

import json

import pytest

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.stages import convert as convert_stage
from pipeline.stages import data as data_stage
from pipeline.stages import verify as verify_stage
from pipeline.stages.base import Artifact, Context
from pipeline.stages.progress import Progress
from pipeline.targets import load_all
from pipeline.verify import VerifyThresholds, check_acceptance


def _ctx(tmp_path, name, target="cortex-m4", model_path=None, config=None):
    out = tmp_path / name
    out.mkdir(parents=True, exist_ok=True)
    return Context(config=config or Config(), target=load_all().get(target), out_dir=out, build_dir=tmp_path,
                   progress=Progress(enabled=False), model_path=model_path)


@pytest.fixture(scope="module")
def data_artifact(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stages")
    return data_stage.run(_ctx(tmp, "data"), {})


def test_stage_contract():
    assert convert_stage.NAME == "convert" and verify_stage.NAME == "verify"
    assert "kind" in convert_stage.TARGET_FIELDS
    assert "convert" in convert_stage.CONFIG_SECTIONS and verify_stage.CONFIG_SECTIONS == ("verify",)
    assert set(verify_stage.INPUTS) >= {"data", "convert"}


@pytest.mark.slow
def test_convert_then_verify(data_artifact, digits_student, tmp_path):
    from pipeline.models import save_model

    comp_dir = tmp_path / "compress"
    comp_dir.mkdir()
    save_model(digits_student, digits_student.spec, comp_dir / "student.pt")
    compress = Artifact(stage="compress", dir=comp_dir, meta={})
    conv = convert_stage.run(_ctx(tmp_path, "convert"), {"data": data_artifact, "compress": compress})
    m = conv.meta
    for key in ("source", "target_kind", "files", "int8_bytes", "float_bytes", "ops", "op_counts", "input_shape",
                "input_layout", "input_quant", "output_quant", "normalization", "int8", "float", "times"):
        assert key in m, key
    assert m["source"] == "student" and m["target_kind"] == "cortex-m"
    assert m["files"] == {"int8": "model_int8.tflite", "float": "model_float.tflite", "onnx": "model.onnx",
                          "log": "convert.log"}
    for f in m["files"].values():
        assert (conv.dir / f).exists()
    assert m["int8_bytes"] == (conv.dir / "model_int8.tflite").stat().st_size
    json.dumps(m)  # JSON-able

    ver = verify_stage.run(_ctx(tmp_path, "verify"), {"data": data_artifact, "compress": compress, "convert": conv})
    v = ver.meta
    report = json.loads((ver.dir / "verify.json").read_text())
    assert v["acceptance"]["passed"] and report["acceptance"]["passed"]
    assert v["accuracy"]["float_torch"] is not None and v["accuracy"]["int8_tflm"] is not None
    assert v["agreement"]["tflm_vs_ref"] >= 0.999
    assert report["per_layer"] and v["worst_layers"] == report["per_layer"][:5]
    json.dumps(v)


@pytest.mark.slow
def test_byom_tflite_skips_training(data_artifact, digits_converted, tmp_path):
    p = tmp_path / "ready.tflite"
    p.write_bytes(digits_converted.int8)
    conv = convert_stage.run(_ctx(tmp_path, "convert", model_path=p), {"data": data_artifact})
    assert conv.meta["source"] == "tflite" and conv.meta["files"]["float"] is None
    ver = verify_stage.run(_ctx(tmp_path, "verify", model_path=p), {"data": data_artifact, "convert": conv})
    assert ver.meta["reference"] is None and ver.meta["accuracy"]["int8_tflm"] > 0.85
    assert ver.meta["acceptance"]["passed"]


def test_convert_without_student_or_model(data_artifact, tmp_path):
    with pytest.raises(PipelineError, match="--model"):
        convert_stage.run(_ctx(tmp_path, "convert"), {"data": data_artifact})


def _report(drop, agree):
    return {"accuracy_drop_pt": drop, "agreement": {"tflm_vs_ref": agree}, "reference": "float_torch",
            "reference_accuracy": 0.95, "int8_accuracy": 0.95 - (drop or 0) / 100,
            "worst_layer": {"op_index": 3, "op": "CONV_2D", "channel_snr_drop_db": 21.5}}


def test_acceptance_failures_are_one_line_with_both_numbers():
    t = VerifyThresholds(1.0, 0.999)
    assert check_acceptance(_report(0.5, 1.0), t)["acceptance"]["passed"]
    with pytest.raises(PipelineError) as e:
        check_acceptance(_report(2.5, 1.0), t)
    msg = str(e.value)
    assert "\n" not in msg and "2.50 pt" in msg and "95.00%" in msg and "92.50%" in msg and "op #3" in msg
    # TFLM vs LiteRT-ref disagreement is reported, not gated: the device runs TFLM's arithmetic
    ok = check_acceptance(_report(0.0, 0.998), t)["acceptance"]
    assert ok["passed"] and not ok["agreement_ok"]
    assert any("0.20 % of output elements" in n for n in ok["notes"]), ok["notes"]
