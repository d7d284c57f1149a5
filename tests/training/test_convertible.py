"""The pruned and QAT-exported students still convert to full-int8 TFLite (torch -> ONNX -> onnx2tf ->
TFLiteConverter, the path of ../shared/notes/conversion.md) with only MCU-friendly ops."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.models import build_model, student_spec
from pipeline.training import qat
from pipeline.training.prune import prune

ALLOWED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "PAD", "RESHAPE"}


def _convert(model, shape, tmp_path) -> tuple[bytes, set[str]]:
    import tensorflow as tf

    from pipeline.keras_api import onnx2tf

    model.eval()
    onnx_path = tmp_path / "m.onnx"
    torch.onnx.export(model, torch.zeros(1, *shape), str(onnx_path), dynamo=False, opset_version=17)
    onnx2tf().convert(input_onnx_file_path=str(onnx_path), output_folder_path=str(tmp_path / "sm"), non_verbose=True)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(tmp_path / "sm"))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    order = (0, 2, 3, 1) if len(shape) == 3 else (0, 2, 1)
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(16):
            yield [np.transpose(rng.normal(size=(1, *shape)).astype(np.float32), order)]

    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    blob = conv.convert()
    interp = tf.lite.Interpreter(model_content=blob)
    return blob, {op["op_name"] for op in interp._get_ops_details()}


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40)])
def test_pruned_and_qat_students_convert_to_int8_tflite(tmp_path, shape):
    torch.manual_seed(0)
    model = build_model(student_spec(shape, 10, "auto", 0.5, 4))
    pruned = prune(model, 0.3, 0.1).model
    q = qat.prepare(pruned)
    qat.calibrate(q, torch.randn(32, *shape))
    for name, m in (("pruned", pruned), ("qat", qat.export(q))):
        d = tmp_path / name
        d.mkdir()
        blob, ops = _convert(m, shape, d)
        assert ops <= ALLOWED, (name, ops)
        assert len(blob) > 0
