"""Conversion to full-int8 TFLite (issue #4): torch / ONNX / ready .tflite -> model_int8.tflite.

    from pipeline.convert import convert_torch, convert_onnx, convert_user_model
    res = convert_torch(module, out_dir, dataset.x_calib, dataset.input_shape, kind="cortex-m")
    res.int8_path, res.float_path, res.onnx_path, res.meta
"""
from .byom import adopt_tflite, convert_user_model, load_torch, model_kind
from .core import (FLOAT_FILE, INT8_FILE, LOG_FILE, ONNX_FILE, ConversionResult, convert_onnx, convert_torch,
                   export_onnx, onnx_to_saved_model, saved_model_to_tflite)
from .describe import dequantize, describe_tflite, quantize, require_int8
from .layout import channels_last_shape, to_channels_last

__all__ = ["ConversionResult", "convert_torch", "convert_onnx", "convert_user_model", "adopt_tflite",
           "load_torch", "model_kind", "export_onnx", "onnx_to_saved_model", "saved_model_to_tflite",
           "describe_tflite", "require_int8", "quantize", "dequantize", "to_channels_last",
           "channels_last_shape", "INT8_FILE", "FLOAT_FILE", "ONNX_FILE", "LOG_FILE"]
