"""Bring your own model: .onnx, PyTorch references / exported programs / saved modules, ready int8
.tflite; and the one-line errors for files that are none of these."""
from __future__ import annotations

import textwrap

import pytest
import torch

from pipeline.convert import convert_user_model, export_onnx, model_kind
from pipeline.errors import PipelineError

pytestmark = pytest.mark.slow


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert msg and "\n" not in msg
    return msg


def _conv(ref, ds, out, kind="cortex-m"):
    return convert_user_model(ref, out, ds.x_calib, ds.input_shape, kind=kind)


def test_onnx(digits_student, digits, tmp_path):
    src = export_onnx(digits_student, digits.input_shape, tmp_path / "mine.onnx")
    res = _conv(src, digits, tmp_path / "out")
    assert res.meta["source"] == "onnx"
    assert res.int8_path.exists() and res.float_path.exists()
    assert res.meta["int8"]["input"]["dtype"] == "int8"
    assert (tmp_path / "mine.onnx").read_bytes() == src.read_bytes()  # the user's file is untouched


def test_pt2_exported_program(digits_student, digits, tmp_path):
    ep = torch.export.export(digits_student, (torch.zeros(1, *digits.input_shape),))
    torch.export.save(ep, tmp_path / "mine.pt2")
    res = _conv(tmp_path / "mine.pt2", digits, tmp_path / "out")
    assert res.meta["source"] == "torch" and res.int8_path.exists()


def test_saved_pipeline_model(digits_student, digits, tmp_path):
    from pipeline.models import save_model

    save_model(digits_student, digits_student.spec, tmp_path / "student.pt")
    res = _conv(tmp_path / "student.pt", digits, tmp_path / "out")
    assert res.int8_path.exists()


def test_python_reference(digits, tmp_path):
    (tmp_path / "mymodel.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn

        def make():
            torch.manual_seed(0)
            return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten(), nn.Linear(8, 10))
    """))
    ref = f"{tmp_path / 'mymodel.py'}:make"
    assert model_kind(ref) == "torch"
    res = _conv(ref, digits, tmp_path / "out")
    assert res.int8_path.exists()
    assert res.meta["rewrites"]["dense_head_as_conv"] == 1  # GlobalAveragePool -> Flatten -> Gemm


def test_ready_int8_tflite(digits_converted, digits, tmp_path):
    p = tmp_path / "ready.tflite"
    p.write_bytes(digits_converted.int8)
    res = _conv(p, digits, tmp_path / "out")
    assert res.meta["source"] == "tflite"
    assert res.float_path is None and res.onnx_path is None
    assert res.int8_path.read_bytes() == digits_converted.int8


def test_float_tflite_rejected(digits_converted, digits, tmp_path):
    p = tmp_path / "float.tflite"
    p.write_bytes(digits_converted.float)
    with pytest.raises(PipelineError) as e:
        _conv(p, digits, tmp_path / "out")
    assert "float-only model where int8 is required" in _one_line(e)


def test_tflite_wrong_input_shape(mnist1d_converted, digits, tmp_path):
    p = tmp_path / "other.tflite"
    p.write_bytes(mnist1d_converted.int8)
    with pytest.raises(PipelineError) as e:
        _conv(p, digits, tmp_path / "out")
    assert "input shape" in _one_line(e)


@pytest.mark.parametrize("content", [b"", b"TFL3", b"hello world, not a model at all" * 4, "truncated", "corrupt"])
def test_bad_tflite_files(content, digits_converted, digits, tmp_path):
    if content == "truncated":
        content = digits_converted.int8[: len(digits_converted.int8) // 3]
    elif content == "corrupt":
        b = bytearray(digits_converted.int8)
        b[8:72] = b"\xff" * 64
        content = bytes(b)
    p = tmp_path / "bad.tflite"
    p.write_bytes(content)
    with pytest.raises(PipelineError) as e:
        _conv(p, digits, tmp_path / "out")
    _one_line(e)


def test_bad_onnx_and_torch_files(digits, tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(PipelineError) as e:
        _conv(tmp_path / "bad.onnx", digits, tmp_path / "o1")
    assert "not a valid ONNX model" in _one_line(e)
    torch.save({"weight": torch.zeros(3)}, tmp_path / "weights.pt")
    with pytest.raises(PipelineError) as e:
        _conv(tmp_path / "weights.pt", digits, tmp_path / "o2")
    assert "state_dict" in _one_line(e)
    (tmp_path / "model.xyz").write_bytes(b"x")
    with pytest.raises(PipelineError) as e:
        _conv(tmp_path / "model.xyz", digits, tmp_path / "o3")
    assert "unknown model file type" in _one_line(e) and ".keras" in str(e.value)
    (tmp_path / "model.h5").write_bytes(b"x")  # a Keras file now (issue #23), but not a readable one
    with pytest.raises(PipelineError) as e:
        _conv(tmp_path / "model.h5", digits, tmp_path / "o3b")
    assert "cannot load the Keras model" in _one_line(e)
    with pytest.raises(PipelineError) as e:
        _conv(tmp_path / "missing.onnx", digits, tmp_path / "o4")
    assert "not found" in _one_line(e)
    with pytest.raises(PipelineError) as e:
        _conv("no_such_module_xyz:make", digits, tmp_path / "o5")
    _one_line(e)


def test_onnx_wrong_input_shape(mnist1d_student, mnist1d, digits, tmp_path):
    src = export_onnx(mnist1d_student, mnist1d.input_shape, tmp_path / "sig.onnx")
    with pytest.raises(PipelineError) as e:
        _conv(src, digits, tmp_path / "out")
    assert "does not match" in _one_line(e) or "rank" in str(e.value)


def test_build_cli_bad_models_exit_2(digits_converted, tmp_path, run_cli):
    """`pipeline build --model` with a float-only or broken .tflite: one line, exit 2."""
    (tmp_path / "float.tflite").write_bytes(digits_converted.float)
    (tmp_path / "empty.tflite").write_bytes(b"")
    (tmp_path / "trunc.tflite").write_bytes(digits_converted.int8[:100])
    for name, expect in (("float.tflite", "float-only model where int8 is required"), ("empty.tflite", "empty"),
                         ("trunc.tflite", "")):
        r = run_cli("build", "-t", "cortex-m4", "--model", name, cwd=tmp_path)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        err = [x for x in lines if x.startswith("error")]
        assert len(err) == 1 and expect in err[0], r.stderr
