"""Per-target verification gates (issue #23) on report dicts shaped like verify_models' output:
LiteRT gates the Pi/Android/host, TFLite Micro's accuracy gates Cortex-M, and TFLM's disagreement
with LiteRT is a note, never a failure."""
from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.stages import verify as verify_stage
from pipeline.verify import VerifyThresholds, check_acceptance
from pipeline.verify.core import tflm_notes

T = VerifyThresholds(1.0, 0.999)


def _report(ref=0.95, xnn=0.95, tflm=0.95, agree=1.0, runs=True, missing=(), first=None):
    return {"reference": "float_onnx", "reference_accuracy": 0.95, "int8_accuracy": tflm,
            "accuracy_drop_pt": round((0.95 - tflm) * 100, 4) if tflm is not None else None,
            "accuracy": {"int8_ref": ref, "int8_xnnpack": xnn, "int8_tflm": tflm if runs else None},
            "agreement": {"tflm_vs_ref": agree} if runs else {},
            "tflm": {"runs": runs, "error": None if runs else "TFLite Micro cannot load the model",
                     "missing_ops": list(missing), "first_differing_op": first},
            "worst_layer": None}


def test_verify_is_keyed_by_target_kind():
    assert verify_stage.TARGET_FIELDS == ("kind",)


def test_pi_build_never_fails_because_of_tflm():
    r = _report(tflm=None, runs=False, missing=["RELU_0_TO_1"])
    assert check_acceptance(r, T, "linux-arm")["acceptance"]["passed"]
    assert tflm_notes(r) == ["Cortex-M: not deployable — RELU_0_TO_1 (TFLite Micro lacks it)"]
    r = _report(agree=0.9933, first={"op_index": 7, "op": "TRANSPOSE_CONV"})
    assert check_acceptance(r, T, "android")["acceptance"]["passed"]
    assert tflm_notes(r) == ["TFLite Micro differs from LiteRT-ref on 0.67 % of output elements; "
                             "first differing op #7 TRANSPOSE_CONV"]


@pytest.mark.parametrize("ref, xnn", [(0.93, 0.95), (0.95, 0.93)])
def test_pi_build_fails_on_either_litert_runtime(ref, xnn):
    with pytest.raises(PipelineError) as e:
        check_acceptance(_report(ref=ref, xnn=xnn), T, "linux-arm")
    msg = str(e.value)
    assert "\n" not in msg and "2.00 pt below float_onnx 95.00%" in msg and "LiteRT" in msg, msg


def test_cortex_m_build_never_passes_without_tflm():
    with pytest.raises(PipelineError) as e:
        check_acceptance(_report(tflm=None, runs=False, missing=["RELU_0_TO_1"]), T, "cortex-m")
    assert "\n" not in str(e.value) and "lacks RELU_0_TO_1" in str(e.value)
    # TFLM rounding differently from LiteRT's reference kernels is a note: the device runs TFLM
    ok = check_acceptance(_report(agree=0.99, first={"op_index": 3, "op": "FULLY_CONNECTED"}), T, "cortex-m")
    assert ok["acceptance"]["passed"] and not ok["acceptance"]["agreement_ok"]
    assert ok["notes"] == ["TFLite Micro differs from LiteRT-ref on 1.00 % of output elements; "
                           "first differing op #3 FULLY_CONNECTED"]
    # LiteRT being fine does not rescue a TFLM accuracy drop on a microcontroller
    with pytest.raises(PipelineError):
        check_acceptance(_report(tflm=0.90), T, "cortex-m")
