"""Acceptance 3: the per-layer report ranks layers and points at a deliberately damaged layer."""
from __future__ import annotations

import copy

import pytest

from pipeline.convert import to_channels_last
from pipeline.tflite import read_model
from pipeline.verify import per_layer_report

pytestmark = pytest.mark.slow


def _nth(int8: bytes, op: str, n: int) -> int:
    return [o.index for o in read_model(int8).operators if o.op == op][n]


def test_report_points_at_damaged_layer(digits_student, digits, convert, tmp_path):
    damaged = copy.deepcopy(digits_student)
    conv = damaged.blocks[1].pw.conv          # the 3rd CONV_2D: stem, block0.pw, block1.pw
    w = conv.weight.data
    w.view(-1)[0] = 50 * w.abs().max()        # one huge outlier weight
    c = convert(damaged, digits, tmp_path)
    rows = per_layer_report(c.float, c.int8, to_channels_last(digits.x_test), onnx_path=c.result.onnx_path)
    target = _nth(c.int8, "CONV_2D", 2)
    assert rows[0]["op_index"] == target, rows[:3]
    assert rows[0]["op"] == "CONV_2D"
    assert rows[0]["layer"] == "blocks.1.pw.conv"   # named as in the PyTorch module
    assert rows[0]["channel_snr_drop_db"] > 10.0
    # ranked worst first
    drops = [r["channel_snr_drop_db"] for r in rows]
    assert drops == sorted(drops, reverse=True)


def test_undamaged_model_has_no_such_drop(digits_converted, digits):
    rows = per_layer_report(digits_converted.float, digits_converted.int8, to_channels_last(digits.x_test))
    ops = {o.index for o in read_model(digits_converted.int8).operators}
    assert {r["op_index"] for r in rows} <= ops
    assert len(rows) >= 8
    for r in rows:
        assert set(r) >= {"op_index", "op", "tensor", "shape", "snr_db", "snr_drop_db", "channel_snr_db",
                          "channel_snr_drop_db", "max_abs_err"}
        assert r["snr_db"] > 15.0
    target = _nth(digits_converted.int8, "CONV_2D", 2)
    damaged_like = [r for r in rows if r["op_index"] == target][0]
    assert damaged_like["channel_snr_drop_db"] < 10.0

