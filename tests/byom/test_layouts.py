"""Layouts come from the model's own input (issue #23): the dataset is fitted to it or refused in
one line showing both shapes; a dynamic sequence length asks for a fixed one; `pipeline run` says
in one line what it takes. Small hand-made ONNX models: no training, no conversion."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pipeline import data as datasets
from pipeline.config import DataConfig
from pipeline.convert.layout import ModelInput, fit_samples, model_input
from pipeline.errors import PipelineError


def _onnx(tmp_path, module, shape, dynamic=None, name="m.onnx"):
    path = tmp_path / name
    torch.onnx.export(module.eval(), (torch.zeros(shape),), str(path), opset_version=17, dynamo=False,
                      input_names=["input"], output_names=["logits"], dynamic_axes=dynamic)
    return path


def _npz(tmp_path, x_shape, name="d.npz"):
    rng = np.random.default_rng(0)
    n = 40
    y = np.arange(n) % 2
    path = tmp_path / name
    np.savez(path, x_train=rng.normal(size=(n, *x_shape)).astype(np.float32), y_train=y,
             x_test=rng.normal(size=(n, *x_shape)).astype(np.float32), y_test=y)
    return path


class Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def forward(self, x):  # [N, T, F]
        return self.fc(x.mean(1))


@pytest.mark.parametrize("x_shape, model, model_shape", [
    ((20,), nn.Linear(20, 2), (1, 20)),                          # features [F]: no axis added
    ((12, 8), Seq(), (1, 12, 8)),                                 # sequences [T, F]: not an image
    ((64,), nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.LazyLinear(2)), (1, 1, 64)),  # [L] -> [1, L]
])
def test_dataset_takes_the_models_shape(x_shape, model, model_shape, tmp_path):
    with torch.no_grad():
        model(torch.zeros(model_shape))  # materialise lazy layers
    onnx = _onnx(tmp_path, model, model_shape, dynamic={"input": {0: "batch"}, "logits": {0: "batch"}})
    mi = model_input(onnx)
    assert mi.dims == (None, *model_shape[1:]) and not mi.channels_last
    ds = datasets.load(DataConfig(dataset=f"npz:{_npz(tmp_path, x_shape)}"), onnx)
    assert ds.input_shape == model_shape[1:] and ds.x_test.shape[1:] == model_shape[1:]


def test_disagreeing_data_is_one_line_with_both_shapes(tmp_path):
    onnx = _onnx(tmp_path, Seq(), (1, 12, 8))
    with pytest.raises(PipelineError) as e:
        datasets.load(DataConfig(dataset=f"npz:{_npz(tmp_path, (20,))}"), onnx)
    msg = str(e.value)
    assert "\n" not in msg and "[20]" in msg and "[batch, 12, 8]" in msg and "[N, 12, 8]" in msg, msg


def test_dynamic_sequence_length_asks_for_a_fixed_one(tmp_path):
    onnx = _onnx(tmp_path, Seq(), (1, 12, 8), dynamic={"input": {0: "batch", 1: "time"}, "logits": {0: "batch"}})
    with pytest.raises(PipelineError) as e:
        datasets.load(DataConfig(dataset=f"npz:{_npz(tmp_path, (12, 8))}"), onnx)
    msg = str(e.value)
    assert "\n" not in msg and "dimension 1 is dynamic" in msg and "fixed sequence length" in msg, msg


def test_pt2_with_a_fixed_sequence_length(tmp_path):
    ep = torch.export.export(Seq().eval(), (torch.zeros(1, 12, 8),))
    torch.export.save(ep, tmp_path / "seq.pt2")
    assert model_input(tmp_path / "seq.pt2").dims == (1, 12, 8)
    ds = datasets.load(DataConfig(dataset=f"npz:{_npz(tmp_path, (12, 8))}"), tmp_path / "seq.pt2")
    assert ds.input_shape == (12, 8)
    from pipeline.convert import export_onnx, load_torch

    export_onnx(load_torch(tmp_path / "seq.pt2"), ds.input_shape, tmp_path / "seq.onnx")  # no guard failure


def test_fit_samples_moves_channels_only_between_first_and_last():
    chw = ModelInput((None, 3, 8, 8), False, "--model m.onnx")
    hwc = ModelInput((None, 8, 8, 3), True, "--model m.keras")
    x = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    assert np.array_equal(fit_samples(x, (3, 8, 8), False, "d", chw), np.moveaxis(x, -1, 1))
    assert fit_samples(x, (8, 8, 3), True, "d", hwc) is x
    assert fit_samples(x[..., :1].reshape(2, 8, 8), (8, 8, 1), True, "d", hwc).shape == (2, 8, 8, 1)
    with pytest.raises(PipelineError):
        fit_samples(x.reshape(2, 24, 8), (3, 8, 8), False, "d", chw)


def test_run_says_in_one_line_what_it_takes(tmp_path, run_cli):
    onnx = _onnx(tmp_path, nn.Linear(20, 2), (1, 20))
    np.save(tmp_path / "x.npy", np.zeros((1, 20), np.float32))
    r = run_cli("run", "-t", "rpi", "--model", str(onnx), "--inputs", "x.npy", "--outputs", "y.npy")
    err = [x for x in r.stderr.strip().splitlines() if x.startswith("error")]
    assert r.returncode == 2 and len(err) == 1, r.stderr
    assert "takes an int8 .tflite" in err[0] and "pipeline build --target rpi4 --model" in err[0], err[0]
