from __future__ import annotations

import math

import numpy as np
import torch

from pipeline.models import build_model, student_spec, teacher_spec
from pipeline.training.distill import Distillation, feature_map_shape, kd_loss, teacher_outputs


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_kd_loss_matches_hand_computation():
    zs = np.array([[1.0, 2.0, 0.5]])
    zt = np.array([[2.0, 0.0, 1.0]])
    y = np.array([1])
    T, a = 3.0, 0.6
    pt, ps = _softmax(zt[0] / T), _softmax(zs[0] / T)
    kl = float(np.sum(pt * (np.log(pt) - np.log(ps))))
    ce = -math.log(_softmax(zs[0])[1])
    expected = a * T * T * kl + (1 - a) * ce
    got = kd_loss(torch.tensor(zs), torch.tensor(zt), torch.tensor(y), T, a)
    assert got.shape == (1,)
    assert abs(float(got[0]) - expected) < 1e-6


def test_kd_loss_alpha_zero_is_cross_entropy_and_averages_teachers():
    zs = torch.randn(4, 5)
    y = torch.randint(0, 5, (4,))
    ce = torch.nn.functional.cross_entropy(zs, y, reduction="none")
    assert torch.allclose(kd_loss(zs, torch.randn(4, 5), y, 4.0, 0.0), ce)
    t1, t2 = torch.randn(4, 5), torch.randn(4, 5)
    T = 2.0
    p = (torch.softmax(t1 / T, 1) + torch.softmax(t2 / T, 1)) / 2
    kl = (p * (p.log() - torch.log_softmax(zs / T, 1))).sum(1)
    assert torch.allclose(kd_loss(zs, [t1, t2], y, T, 1.0), T * T * kl, atol=1e-6)


def test_kd_loss_zero_when_student_equals_teacher():
    z = torch.randn(3, 4)
    y = z.argmax(1)
    assert float(kd_loss(z, z, y, 4.0, 1.0).abs().max()) < 1e-6


def test_hint_distillation_objective_runs_and_trains_adapter():
    shape = (1, 8, 8)
    teacher = build_model(teacher_spec(shape, 10, width=8)).eval()
    student = build_model(student_spec(shape, 10, "dscnn", 0.25, 2))
    x = torch.randn(20, *shape)
    y = torch.randint(0, 10, (20,))
    smap = feature_map_shape(student, shape)
    logits, feats = teacher_outputs([teacher], x, hint_from=teacher, student_map=smap)
    assert logits.shape == (1, 20, 10)
    obj = Distillation(student, logits, 4.0, 0.7, teacher_features=feats, hint_weight=1.0, student_map_shape=smap)
    idx = torch.arange(8)
    loss = obj(x[idx], y[idx], idx)
    assert loss.shape == (8,)
    loss.sum().backward()
    assert obj.adapter.weight.grad is not None
    assert "adapter.weight" in obj.state_dict() and not any("teacher" in k for k in obj.state_dict())


def test_hint_1d_student():
    shape = (1, 40)
    teacher = build_model(teacher_spec(shape, 10, width=8)).eval()
    student = build_model(student_spec(shape, 10, "cnn1d", 0.25, 3))
    x = torch.randn(6, *shape)
    smap = feature_map_shape(student, shape)
    logits, feats = teacher_outputs([teacher], x, hint_from=teacher, student_map=smap)
    obj = Distillation(student, logits, 2.0, 0.5, teacher_features=feats, student_map_shape=smap)
    assert obj(x, torch.zeros(6, dtype=torch.long), torch.arange(6)).shape == (6,)
