from __future__ import annotations

import pytest
import torch

from pipeline.errors import PipelineError
from pipeline.models import (build_model, count_macs, count_params, estimate_flash_bytes,
                             estimate_peak_activation_bytes, load_model, save_model, student_spec, teacher_spec)
from pipeline.models.fit import budget_for, search
from pipeline.models.surgery import fold_batchnorm
from pipeline.stages.distill import choose_student
from pipeline.targets import load_all


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40), (3, 32, 32)])
@pytest.mark.parametrize("family", ["teacher", "auto", "mlp"])
def test_families_output_shapes(shape, family):
    spec = teacher_spec(shape, 7) if family == "teacher" else student_spec(shape, 7, family, 0.5, 3)
    model = build_model(spec).eval()
    x = torch.randn(5, *shape)
    logits, feat = model.forward_features(x)
    assert logits.shape == (5, 7)
    assert model(x).shape == (5, 7)
    assert feat.shape[0] == 5


def test_family_choice_by_layout():
    assert teacher_spec((1, 8, 8), 10)["family"] == "resnet2d"
    assert teacher_spec((1, 40), 10)["family"] == "resnet1d"
    assert student_spec((1, 8, 8), 10)["family"] == "dscnn"
    assert student_spec((1, 40), 10)["family"] == "cnn1d"
    with pytest.raises(PipelineError):
        student_spec((1, 40), 10, "dscnn")


def test_mac_count_by_hand():
    spec = {"family": "cnn1d", "input_shape": [1, 16], "num_classes": 3, "bn": True,
            "layers": [{"channels": 4, "kernel": 5, "stride": 1}, {"channels": 6, "kernel": 3, "stride": 2}]}
    m = build_model(spec)
    # conv1: 16 outputs x 4 ch x (1*5); conv2: 8 outputs x 6 ch x (4*3); head 6*3
    assert count_macs(m, (1, 16)) == 16 * 4 * 5 + 8 * 6 * 12 + 18
    assert count_params(m) == (4 * 5 + 8) + (6 * 12 + 12) + (18 + 3)

    ds = {"family": "dscnn", "input_shape": [1, 8, 8], "num_classes": 10, "bn": False, "kernel": 3,
          "stem": {"channels": 8, "kernel": [3, 3], "stride": [1, 1]},
          "blocks": [{"channels": 16, "stride": 2}]}
    m = build_model(ds)
    stem = 64 * 8 * 9
    dw = 16 * 8 * 9  # 4x4 outputs, 8 channels, 3x3 each
    pw = 16 * 16 * 8
    assert count_macs(m, (1, 8, 8)) == stem + dw + pw + 16 * 10


def test_estimates_grow_with_width():
    small = build_model(student_spec((1, 32, 32), 10, "dscnn", 0.5, 4))
    big = build_model(student_spec((1, 32, 32), 10, "dscnn", 1.0, 4))
    assert estimate_flash_bytes(small, (1, 32, 32)) < estimate_flash_bytes(big, (1, 32, 32))
    assert estimate_peak_activation_bytes(small, (1, 32, 32)) < estimate_peak_activation_bytes(big, (1, 32, 32))
    # int8 weights dominate: the estimate is at least one byte per parameter
    assert estimate_flash_bytes(big, (1, 32, 32)) > count_params(big)


def test_save_load_roundtrip(tmp_path):
    spec = student_spec((1, 40), 10, "cnn1d", 0.5, 3)
    m = build_model(spec).eval()
    path = save_model(m, spec, tmp_path / "student.pt")
    m2 = load_model(path)
    x = torch.randn(3, 1, 40)
    assert torch.equal(m(x), m2(x))
    assert m2.spec == spec and not m2.training


def test_load_model_errors_are_one_line(tmp_path):
    with pytest.raises(PipelineError, match="not found"):
        load_model(tmp_path / "missing.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(PipelineError) as err:
        load_model(bad)
    assert "\n" not in str(err.value)


def test_fold_batchnorm_is_equivalent():
    m = build_model(student_spec((1, 8, 8), 10, "dscnn", 0.5, 3))
    m.train()
    for _ in range(3):  # move the running stats away from their init
        m(torch.randn(16, 1, 8, 8))
    m.eval()
    f = fold_batchnorm(m)
    x = torch.randn(4, 1, 8, 8)
    assert f.spec["bn"] is False
    assert torch.allclose(m(x), f(x), atol=1e-5)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in f.modules())


def test_fit_to_target_smaller_on_cortex_m4_than_rpi4():
    reg = load_all()
    m4, pi = reg.get("cortex-m4"), reg.get("rpi4")
    shape = (1, 96, 96)  # a VWW-sized input: activations decide on a microcontroller
    spec_m4, fit_m4 = choose_student(shape, 2, _scfg(), m4.flash_kb, m4.ram_kb, None)
    spec_pi, fit_pi = choose_student(shape, 2, _scfg(), pi.flash_kb, pi.ram_kb, None)
    assert fit_m4["params"] < fit_pi["params"]
    assert fit_m4["est_ram_bytes"] <= fit_m4["budget_ram_bytes"]
    assert fit_m4["est_flash_bytes"] <= fit_m4["budget_flash_bytes"]


def test_fit_respects_teacher_ratio_and_shrink():
    t = build_model(teacher_spec((1, 40), 10))
    tp = count_params(t)
    spec, fit = choose_student((1, 40), 10, _scfg(), 1024, 320, tp)
    assert fit["params"] <= tp / 10
    spec2, fit2 = choose_student((1, 40), 10, _scfg(shrink=1), 1024, 320, tp)
    assert fit2["params"] < fit["params"]
    with pytest.raises(PipelineError, match="no student fits"):
        search((1, 40), 10, budget_for(4, 1, 0.8))


def test_default_students_are_a_tenth_of_the_teacher():
    for shape in [(1, 8, 8), (1, 40)]:
        tp = count_params(build_model(teacher_spec(shape, 10)))
        _, fit = choose_student(shape, 10, _scfg(), 1024, 320, tp)
        assert fit["params"] <= tp / 10


def _scfg(**kw):
    from pipeline.config import StudentConfig

    return StudentConfig(**kw)
