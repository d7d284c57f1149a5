"""Function matching (issue #18): consistent views for teacher and student, teacher logits per batch,
T/alpha picked on validation."""
from __future__ import annotations

import pytest
import torch

from pipeline.config import Config
from pipeline.models.spec import build_model, student_spec, teacher_spec
from pipeline.training import api
from pipeline.training.augment import Augment, mixed_ce, random_shift
from pipeline.training.distill import FunctionMatching


def test_random_shift_moves_each_sample_by_at_most_max_shift():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 20)
    x[:, 0, 10] = 1.0  # one spike per signal
    y = random_shift(x, 3)
    pos = y[:, 0].argmax(1)
    assert y.shape == x.shape and torch.all((pos - 10).abs() <= 3)
    assert len(set(pos.tolist())) > 3  # offsets differ per sample
    img = torch.zeros(64, 1, 8, 8)
    img[:, 0, 4, 4] = 1.0
    out = random_shift(img, 1)
    r, c = divmod(int(out[0, 0].argmax()), 8)
    assert abs(r - 4) <= 1 and abs(c - 4) <= 1 and float(out.sum()) == 64.0  # nothing fell off the edge


def test_mixup_mixes_views_and_labels_with_the_same_weight():
    torch.manual_seed(0)
    x = torch.randn(32, 1, 10)
    view, perm, lam = Augment(shift=0, mixup=1.0)(x)
    assert torch.all(lam >= 0.5)
    assert torch.allclose(view, lam[:, None, None] * x + (1 - lam[:, None, None]) * x[perm])
    logits, y = torch.randn(32, 4), torch.randint(0, 4, (32,))
    ce = torch.nn.functional.cross_entropy
    expect = lam * ce(logits, y, reduction="none") + (1 - lam) * ce(logits, y[perm], reduction="none")
    assert torch.allclose(mixed_ce(logits, y, perm, lam), expect)


def test_teacher_and_student_see_the_same_view():
    torch.manual_seed(0)
    shape = [1, 40]
    teacher = build_model(teacher_spec(shape, 3, width=8))
    student = build_model(student_spec(shape, 3, "cnn1d", 0.25, 2))
    seen = {}
    teacher.register_forward_hook(lambda m, i, o: seen.__setitem__("teacher", i[0].clone()))
    student.register_forward_hook(lambda m, i, o: seen.__setitem__("student", i[0].clone()))
    obj = FunctionMatching(student, [teacher], Augment(shift=4, scale=0.1, noise=0.1, mixup=1.0), 2.0, 0.9)
    obj.train()
    x = torch.randn(16, *shape)
    loss = obj(x, torch.randint(0, 3, (16,)), torch.arange(16))
    assert loss.shape == (16,) and torch.isfinite(loss).all()
    assert torch.equal(seen["teacher"], seen["student"])  # consistent: one view for both
    assert not torch.equal(seen["student"], x)  # and it is a new view, not the raw sample
    assert not teacher.training  # the teacher stays in eval mode (BN statistics untouched)
    assert all(not k.startswith("teachers") for k in obj.state_dict())  # nor is it checkpointed


@pytest.mark.slow
def test_function_matching_searches_the_grid_on_validation(digits_small):
    splits = api.Splits(digits_small, torch.device("cpu"))
    teacher = build_model(teacher_spec(digits_small.input_shape, 10, width=8))
    cfg = Config().with_overrides(student={"epochs": 2, "patience": None},
                                  distill={"temperatures": [1.0, 4.0], "alphas": [0.5, 1.0], "search_epochs": 1})
    spec = student_spec(digits_small.input_shape, 10, "dscnn", 0.25, 2)
    model, rec = api.distill_student(splits, spec, [teacher], cfg.student, cfg.distill)
    assert [(g["temperature"], g["alpha"]) for g in rec["grid"]] == [(1.0, 0.5), (1.0, 1.0), (4.0, 0.5), (4.0, 1.0)]
    best = max(rec["grid"], key=lambda g: (g["val_accuracy"], -g["val_loss"]))
    assert (rec["temperature"], rec["alpha"]) == (best["temperature"], best["alpha"])
    assert rec["recipe"] == "function_matching" and rec["epochs"] == 2
