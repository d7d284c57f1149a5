"""Numerics verification of a converted model (issue #4).

    from pipeline.verify import verify_models
    report = verify_models(int8_bytes, x_test, y_test, float_tflite=..., onnx_path=..., torch_module=...)
"""
from .core import VerifyThresholds, check_acceptance, verify_models
from .numerics import accuracy, agreement, per_layer_report
from .runtimes import litert_interpreter, run_litert, run_onnx, run_tflm, run_torch, tflm_interpreter

__all__ = ["verify_models", "check_acceptance", "VerifyThresholds", "per_layer_report", "accuracy",
           "agreement", "run_litert", "run_tflm", "run_onnx", "run_torch", "litert_interpreter",
           "tflm_interpreter"]
