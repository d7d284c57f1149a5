"""Acceptance 1 and 5: default-family students on digits and mnist1d keep their accuracy in int8,
TFLite Micro agrees with LiteRT's reference kernels, conversion is fast and writes what it says."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.opsets import CORTEX_M_OPS
from pipeline.verify import VerifyThresholds, check_acceptance, verify_models

pytestmark = pytest.mark.slow


def _verify(conv, ds, module):
    report = verify_models(conv.int8, ds.x_test, ds.y_test, float_tflite=conv.float,
                           onnx_path=conv.result.onnx_path, torch_module=module)
    check_acceptance(report, VerifyThresholds(max_accuracy_drop_pt=1.0, min_agreement=0.999))
    return report


@pytest.mark.parametrize("name", ["digits", "mnist1d"])
def test_int8_within_one_point_and_tflm_matches_reference(name, request):
    ds = request.getfixturevalue(name)
    module = request.getfixturevalue(f"{name}_student")
    conv = request.getfixturevalue(f"{name}_converted")
    r = _verify(conv, ds, module)
    acc = r["accuracy"]
    print(name, json.dumps({k: r[k] for k in ("accuracy", "agreement", "max_lsb_diff", "accuracy_drop_pt")}))
    assert r["reference"] == "float_torch"
    assert acc["float_torch"] > 0.85
    # float TFLite / ONNX are the same function as torch
    assert abs(acc["float_tflite"] - acc["float_torch"]) <= 0.005
    assert abs(acc["float_onnx"] - acc["float_torch"]) <= 0.005
    assert r["accuracy_drop_pt"] <= 1.0
    assert r["agreement"]["tflm_vs_ref"] >= 0.999
    assert r["acceptance"]["passed"]
    assert r["output_elements"] == len(ds.y_test) * ds.num_classes
    assert 0.0 <= r["agreement"]["tflm_vs_xnnpack"] <= 1.0
    assert r["per_layer"] and r["worst_layer"] == r["per_layer"][0]


def test_artifacts_and_meta(digits_converted, digits):
    res = digits_converted.result
    for p in (res.int8_path, res.float_path, res.onnx_path):
        assert p.exists() and p.stat().st_size > 0
    assert not (res.int8_path.parent / "_saved_model").exists()
    meta = res.meta
    int8 = meta["int8"]
    assert int8["bytes"] == len(digits_converted.int8)
    assert int8["input"]["dtype"] == "int8" and int8["output"]["dtype"] == "int8"
    assert int8["input"]["shape"] == [1, 8, 8, 1] and int8["input_layout"] == "NHWC"
    assert int8["output"]["shape"] == [1, digits.num_classes]
    assert isinstance(int8["input"]["scale"], float) and -128 <= int8["input"]["zero_point"] <= 127
    assert set(int8["ops"]) <= CORTEX_M_OPS
    assert "TRANSPOSE" not in int8["ops"]
    assert meta["float"]["input"]["dtype"] == "float32"
    # The classifier head became a 1x1 conv (TFLM and LiteRT-ref agree bit for bit on CONV_2D).
    assert meta["rewrites"]["dense_head_as_conv"] == 1


def test_weights_per_channel(digits_converted):
    from pipeline.tflite import read_model

    m = read_model(digits_converted.int8)
    for op in m.operators:
        if op.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = m.tensor(op.inputs[1])
            assert w.dtype == "int8" and w.quantization.per_channel, (op.index, op.op)


def test_mnist1d_layout(mnist1d_converted):
    int8 = mnist1d_converted.result.meta["int8"]
    assert int8["input"]["shape"] == [1, 40, 1] and int8["input_layout"] == "NLC"
    assert set(int8["ops"]) <= CORTEX_M_OPS


_COLD = r"""
import json, sys, time
import numpy as np
import torch
from pipeline.models import load_model
module = load_model(sys.argv[1])
z = np.load(sys.argv[2])
w, c = time.perf_counter(), time.process_time()
from pipeline.convert import convert_torch          # imports TensorFlow and onnx2tf: counted
convert_torch(module, sys.argv[3], z["calib"], tuple(z["shape"]), kind="cortex-m")
print("COLD " + json.dumps({"wall_s": time.perf_counter() - w, "cpu_s": time.process_time() - c}))
"""


def test_conversion_time(digits_student, digits, convert, tmp_path):
    """<= 20 s for a default student on 2 cores, measured in a fresh process (TensorFlow and
    onnx2tf imports included). The machine's 2 cores are shared with other jobs, so the check is
    on CPU time (what 2 dedicated cores would need at most); wall time is printed and loosely
    bounded. A warm conversion (libraries already imported) is checked on wall time."""
    import subprocess
    import sys

    from pipeline.models import save_model

    save_model(digits_student, digits_student.spec, tmp_path / "student.pt")
    np.savez(tmp_path / "calib.npz", calib=digits.x_calib, shape=np.array(digits.input_shape))
    r = subprocess.run([sys.executable, "-c", _COLD, str(tmp_path / "student.pt"), str(tmp_path / "calib.npz"),
                        str(tmp_path / "cold")], capture_output=True, text=True, timeout=600)
    line = [x for x in r.stdout.splitlines() if x.startswith("COLD ")]
    assert line, r.stderr[-2000:]
    cold = json.loads(line[0][5:])
    print(f"cold conversion (fresh process): wall {cold['wall_s']:.1f} s, cpu {cold['cpu_s']:.1f} s")
    assert cold["cpu_s"] <= 20.0
    assert cold["wall_s"] <= 90.0
    warm = convert(digits_student, digits, tmp_path / "warm")
    print(f"warm conversion: wall {warm.wall_s:.1f} s, cpu {warm.cpu_s:.1f} s")
    assert warm.wall_s <= 20.0
    # same inputs, same bytes: conversion is deterministic (the stage cache relies on it)
    assert warm.int8 == (tmp_path / "cold" / "model_int8.tflite").read_bytes()


def test_dense_without_rewrite_still_converts(digits_student, digits, convert, tmp_path):
    plain = convert(digits_student, digits, tmp_path, dense_as_conv=False)
    assert "FULLY_CONNECTED" in plain.result.meta["int8"]["ops"]
    assert plain.result.meta["rewrites"]["dense_head_as_conv"] == 0
