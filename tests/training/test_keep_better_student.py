"""Acceptance 5 of issue #18: a build whose distilled student is worse on validation ships the
scratch student, and the console, the training report and report.json say so."""
from __future__ import annotations

import json

import pytest
import torch

from pipeline.config import Config
from pipeline.models import load_model, save_model
from pipeline.models.spec import build_model, teacher_spec
from pipeline.report.io import validate
from pipeline.stages import compress, data, distill
from pipeline.stages import report as report_stage
from pipeline.stages.base import Artifact


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _constant_teacher(tmp_path, ds_meta) -> Artifact:
    """A teacher that answers class 0 for every input: distilling from it (alpha = 1, labels unused)
    can only teach the student a constant, ~10 % accuracy on 10 balanced classes."""
    spec = teacher_spec(ds_meta["input_shape"], ds_meta["num_classes"], width=8)
    model = build_model(spec)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[0] = 10.0
    d = tmp_path / "teacher"
    d.mkdir()
    save_model(model, spec, d / "teacher.pt")
    params = sum(p.numel() for p in model.parameters())
    return Artifact("teacher", d, {"accuracy": 0.1, "val_accuracy": 0.1, "params": params, "macs": 1,
                                   "epochs": 0, "wall_s": 0.0, "family": spec["family"], "spec": spec,
                                   "file": "teacher.pt"})


@pytest.mark.slow
def test_worse_distilled_student_ships_the_scratch_one_and_says_so(tmp_path, run, capsys, targets):
    cfg = Config().with_overrides(
        data={"dataset": "digits", "max_train_samples": 400},
        student={"epochs": 15, "max_teacher_ratio": 1.0},
        distill={"alpha": 1.0, "hints": False, "temperatures": [], "alphas": []},  # no grid: alpha 1 as given
    )
    d = run(data, tmp_path, cfg, {})
    t = _constant_teacher(tmp_path, d.meta)
    s = run(distill, tmp_path, cfg, {"data": d, "teacher": t})
    sel = s.meta["selection"]
    assert s.meta["distilled"]["val_accuracy"] < s.meta["scratch"]["val_accuracy"]  # the premise
    assert sel["kept"] == s.meta["kept"] == "scratch"
    assert sel["margin_pt"] == pytest.approx(
        100 * (s.meta["scratch"]["val_accuracy"] - s.meta["distilled"]["val_accuracy"]), abs=1e-3)
    shipped = load_model(s.dir / "student.pt")
    assert _same_weights(shipped, load_model(s.dir / "scratch.pt"))
    assert not _same_weights(shipped, load_model(s.dir / "distilled.pt"))
    assert s.meta["accuracy"] == s.meta["scratch"]["accuracy"]
    err = capsys.readouterr().err
    assert "kept the SCRATCH student" in err and f"{sel['margin_pt']:.2f} pt worse" in err

    c = run(compress, tmp_path, cfg, {"data": d, "teacher": t, "distill": s})
    train = json.loads((c.dir / "train.json").read_text())
    assert train["selection"]["kept"] == "scratch"
    assert c.meta["accuracy"] == train["scratch"]["accuracy"]
    assert "int8_sim_accuracy" in train["scratch"] and "int8_sim_accuracy" in train["distilled"]

    training = report_stage._training({"compress": c})
    r = report_stage.make_report(targets.get("cortex-m4"), {}, {}, training, None, config_hash="0" * 16,
                                 dataset_hash="f" * 64)
    validate(r)
    assert r["training"]["selection"]["kept"] == "scratch"
    assert r["training"]["selection"]["margin_pt"] == pytest.approx(sel["margin_pt"])


def test_selection_rule_uses_validation_not_test():
    # The scratch student is better on test but worse on validation: validation decides.
    d = {"val_accuracy": 0.95, "val_loss": 0.2, "accuracy": 0.90}
    s = {"val_accuracy": 0.93, "val_loss": 0.1, "accuracy": 0.99}
    sel = distill.select_student(d, s)
    assert sel["kept"] == "distilled" and sel["margin_pt"] == pytest.approx(2.0)
    sel = distill.select_student(s, d)  # swapped roles
    assert sel["kept"] == "scratch" and sel["margin_pt"] == pytest.approx(2.0)
    # a tie on accuracy keeps the distilled student, whatever the losses
    tie = distill.select_student({"val_accuracy": 0.9, "val_loss": 0.5}, {"val_accuracy": 0.9, "val_loss": 0.3})
    assert tie["kept"] == "distilled" and tie["margin_pt"] == 0 and "tie" in distill.describe_selection(tie)
    assert distill.select_student({"val_accuracy": 0.9, "val_loss": 0.3}, None)["kept"] == "distilled"
    assert "SCRATCH" in distill.describe_selection(distill.select_student(s, d))
