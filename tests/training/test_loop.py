from __future__ import annotations

import pytest
import torch

from pipeline.models import build_model, student_spec
from pipeline.training.loop import CHECKPOINT, CrossEntropy, TrainSettings, as_split, fit, global_batches, seed_everything


class Interrupt(Exception):
    pass


def _setup(ds):
    dev = torch.device("cpu")
    return as_split(ds.x_train, ds.y_train, dev), as_split(ds.x_val, ds.y_val, dev)


def _model(ds, seed=0):
    seed_everything(seed)
    return build_model(student_spec(ds.input_shape, ds.num_classes, "dscnn", 0.25, 2))


def test_interrupted_run_resumes_at_next_epoch(tmp_path, digits_small):
    train, val = _setup(digits_small)
    s = TrainSettings(epochs=4, batch_size=32, lr=3e-3, patience=None, seed=3)

    ref = _model(digits_small)
    fit(CrossEntropy(ref), train, val, s)

    def stop_after_2(epoch, record):
        if epoch == 2:
            raise Interrupt

    m1 = _model(digits_small)
    with pytest.raises(Interrupt):
        fit(CrossEntropy(m1), train, val, s, resume_dir=tmp_path, on_epoch_end=stop_after_2)
    assert (tmp_path / CHECKPOINT).exists()

    seen = []
    m2 = _model(digits_small, seed=123)  # different init: the checkpoint must override it
    r = fit(CrossEntropy(m2), train, val, s, resume_dir=tmp_path, on_epoch_end=lambda e, rec: seen.append(e))
    assert r.resumed_from == 2
    assert seen == [3, 4]
    assert r.epochs_run == 4 and len(r.history) == 4
    for a, b in zip(ref.state_dict().values(), m2.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)

    # a finished run is not trained again
    seen.clear()
    m3 = _model(digits_small)
    r3 = fit(CrossEntropy(m3), train, val, s, resume_dir=tmp_path, on_epoch_end=lambda e, rec: seen.append(e))
    assert seen == [] and r3.epochs_run == 4


def test_changed_settings_ignore_old_checkpoint(tmp_path, digits_small):
    train, val = _setup(digits_small)
    fit(CrossEntropy(_model(digits_small)), train, val, TrainSettings(epochs=1, batch_size=32), resume_dir=tmp_path)
    seen = []
    r = fit(CrossEntropy(_model(digits_small)), train, val, TrainSettings(epochs=2, batch_size=32, lr=1e-3),
            resume_dir=tmp_path, on_epoch_end=lambda e, rec: seen.append(e))
    assert r.resumed_from == 0 and seen == [1, 2]


def test_early_stopping_restores_best(digits_small):
    train, val = _setup(digits_small)
    m = _model(digits_small)
    r = fit(CrossEntropy(m), train, val, TrainSettings(epochs=30, batch_size=32, lr=1.0, optimizer="sgd", patience=2))
    assert r.stopped_early and r.epochs_run < 30
    assert r.best_epoch <= r.epochs_run - 2


def test_global_batches_deterministic_and_world_independent():
    a = global_batches(100, 32, seed=1, epoch=0)
    b = global_batches(100, 32, seed=1, epoch=0)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert [len(x) for x in a] == [32, 32, 32]  # a last batch of 4 (< half) is dropped
    assert not torch.equal(a[0], global_batches(100, 32, seed=1, epoch=1)[0])
