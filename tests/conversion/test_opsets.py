"""Op compatibility per target kind: an unsupported op fails at conversion time with its name,
its operator index and a hint."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from shared_helpers import ExpNet

from pipeline.errors import PipelineError
from pipeline.op_check import check_ops, supported_ops, unsupported
from pipeline.opsets import CORTEX_M_OPS, LITERT_OPS


def test_sets():
    assert CORTEX_M_OPS < LITERT_OPS
    assert supported_ops("cortex-m") == CORTEX_M_OPS
    for kind in ("linux-arm", "android", "host"):
        assert supported_ops(kind) == LITERT_OPS
    assert "EXP" in LITERT_OPS and "EXP" not in CORTEX_M_OPS
    assert "CUSTOM" not in LITERT_OPS
    with pytest.raises(PipelineError, match="unknown target kind"):
        supported_ops("gpu")


def test_check_ops_message():
    ops = [(0, "CONV_2D"), (1, "SVDF"), (2, "EXP"), (3, "FULLY_CONNECTED")]
    assert unsupported(ops, "cortex-m") == [(1, "SVDF"), (2, "EXP")]
    check_ops(ops, "host")
    with pytest.raises(PipelineError) as e:
        check_ops(ops, "cortex-m")
    msg = str(e.value)
    assert "\n" not in msg
    assert "SVDF" in msg and "operator #1" in msg and "hint:" in msg and "EXP" in msg
    assert "TFLite Micro runs it: --engine tflm" in msg   # SVDF: TFLM has it, our engine not yet



class _FlattenNet(nn.Module):
    """Flatten of an NCHW feature map before Linear: onnx2tf inserts a TRANSPOSE."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


@pytest.mark.slow
def test_exp_fails_for_cortex_m_not_for_host(digits, convert, tmp_path):
    torch.manual_seed(0)
    model = ExpNet().eval()
    with pytest.raises(PipelineError) as e:
        convert(model, digits, tmp_path / "m", kind="cortex-m")
    msg = str(e.value)
    assert "\n" not in msg and "EXP" in msg and "operator #" in msg and "hint:" in msg
    assert not (tmp_path / "m" / "model_int8.tflite").exists()  # failed before writing the model
    ok = convert(model, digits, tmp_path / "h", kind="host")
    assert "EXP" in ok.result.meta["int8"]["ops"]


@pytest.mark.slow
def test_transpose_converts_for_cortex_m(digits, convert, tmp_path):
    """The AOT engine runs TRANSPOSE (pipeline/aot/ops/movement.py), so the check lets it through."""
    torch.manual_seed(0)
    ok = convert(_FlattenNet().eval(), digits, tmp_path, kind="cortex-m")
    assert "TRANSPOSE" in ok.result.meta["int8"]["ops"]
