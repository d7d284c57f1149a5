"""The heavy family's lowerings refuse what their kernels would compute unlike TFLite Micro
(pipeline/aot/ops/heavy.py): one line naming the op and its operator index."""
from dataclasses import replace

import numpy as np
import pytest

from pipeline.aot.compile.lower import lower
from pipeline.errors import PipelineError
from pipeline.tflite import read_model


def _first(m, op):
    return next(o for o in m.operators if o.op == op)


def _requantized(m, t, scale, zp):
    q = replace(m.tensors[t].quantization, scale=np.array([scale], np.float32), zero_point=np.array([zp]))
    tensors = list(m.tensors)
    tensors[t] = replace(tensors[t], quantization=q)
    return replace(m, tensors=tuple(tensors))


def _refused(m, op, why):
    with pytest.raises(PipelineError, match=rf"operator {op.index} \({op.op}\).*{why}"):
        lower(m)


def test_transpose_conv_activation_that_clamps_is_refused(zoo_models):
    m = read_model(zoo_models["heavy_upsample"].read_bytes())
    op = _first(m, "TRANSPOSE_CONV")
    op.options["fused_activation"] = "RELU_N1_TO_1"   # [-1, 1] of an output wider than that
    _refused(m, op, "narrows the int8 range")


def test_resize_that_would_rescale_is_refused(zoo_models):
    m = read_model(zoo_models["heavy_upsample"].read_bytes())
    op = _first(m, "RESIZE_BILINEAR")
    _refused(_requantized(m, op.outputs[0], 0.5, 3), op, "quantization differ")


@pytest.mark.parametrize("op_name, why", [("LOG_SOFTMAX", "16/256"), ("L2_NORMALIZATION", "1/128")])
def test_fixed_output_quantization_is_checked(zoo_models, op_name, why):
    m = read_model(zoo_models["heavy_norms"].read_bytes())
    op = _first(m, op_name)
    _refused(_requantized(m, op.outputs[0], 0.1, 0), op, why)


def test_batch_matmul_inner_dims_must_agree(zoo_models):
    m = read_model(zoo_models["heavy_attention"].read_bytes())
    op = _first(m, "BATCH_MATMUL")
    op.options["adj_x"] = not op.options["adj_x"]    # lhs [.., 5, 8] read as [.., 8, 5]
    _refused(m, op, "inner dims")
