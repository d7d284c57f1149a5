from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data.dataset import Dataset
from pipeline.errors import PipelineError
from pipeline.models import load_model
from pipeline.stages import compress, data, distill, teacher
from pipeline.stages.base import Artifact


def _npz(tmp_path, **over):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.normal(size=(60, 16)).astype(np.float32), "y_train": np.arange(60) % 3,
              "x_test": rng.normal(size=(12, 16)).astype(np.float32), "y_test": np.arange(12) % 3}
    arrays.update(over)
    path = tmp_path / "d.npz"
    np.savez(path, **arrays)
    return Config().with_overrides(data={"dataset": f"npz:{path}"}, teacher={"epochs": 1})


@pytest.mark.parametrize("case,needle", [
    ("one_class", "one class"),
    ("nan", "NaN"),
    ("mismatch", "labels"),
    ("empty_test", "empty"),
])
def test_bad_input_is_one_line_error_through_the_stages(tmp_path, case, needle, run):
    rng = np.random.default_rng(0)
    over = {
        "one_class": {"y_train": np.zeros(60, dtype=np.int64), "y_test": np.zeros(12, dtype=np.int64)},
        "nan": {"x_train": np.where(rng.random((60, 16)) < 0.01, np.nan, 0.5).astype(np.float32)},
        "mismatch": {"y_train": np.arange(59) % 3},
        "empty_test": {"x_test": np.zeros((0, 16), np.float32), "y_test": np.zeros(0, np.int64)},
    }[case]
    cfg = _npz(tmp_path, **over)
    with pytest.raises(PipelineError) as err:
        art = run(data, tmp_path, cfg, {})
        run(teacher, tmp_path, cfg, {"data": art})
    msg = str(err.value)
    assert needle in msg and "\n" not in msg


@pytest.mark.parametrize("case,needle", [("nan", "NaN"), ("one_class", "one class"), ("empty_test", "empty"),
                                         ("mismatch", "labels")])
def test_training_stage_rechecks_a_dataset_artifact(tmp_path, digits_small, case, needle, run):
    ds = digits_small
    arrays = {k: getattr(ds, k).copy() for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test",
                                                   "x_calib", "y_calib")}
    if case == "nan":
        arrays["x_train"][3, 0, 0, 0] = np.nan
    elif case == "one_class":
        arrays["y_train"][:] = 0
    elif case == "empty_test":
        arrays["x_test"], arrays["y_test"] = arrays["x_test"][:0], arrays["y_test"][:0]
    else:
        arrays["y_test"] = arrays["y_test"][:-1]
    bad = Dataset(name="bad", labels=ds.labels, mean=ds.mean, std=ds.std, **arrays)
    d = tmp_path / "data"
    d.mkdir()
    bad.save(d)
    art = Artifact("data", d, bad.describe())
    with pytest.raises(PipelineError) as err:
        run(teacher, tmp_path, Config(), {"data": art})
    assert needle in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow
def test_stage_chain_teacher_distill_compress(tmp_path, run):
    cfg = Config().with_overrides(
        data={"dataset": "digits", "max_train_samples": 400},
        teacher={"epochs": 3, "width": 16},
        student={"epochs": 3},
        distill={"hints": True},
        prune={"enabled": True, "fraction": 0.3, "step": 0.15, "finetune_epochs": 1},
        quantize={"mode": "qat", "qat_epochs": 1},
    )
    d = run(data, tmp_path, cfg, {})
    t = run(teacher, tmp_path, cfg, {"data": d})
    assert (t.dir / "teacher.pt").exists() and t.meta["accuracy"] > 0.3
    s = run(distill, tmp_path, cfg, {"data": d, "teacher": t})
    assert s.meta["params"] <= t.meta["params"] / 10
    assert {"scratch", "distilled", "student"} <= s.meta.keys()
    assert s.meta["student"]["fit"]["est_flash_bytes"] <= s.meta["student"]["fit"]["budget_flash_bytes"]
    assert load_model(s.dir / "scratch.pt").spec == load_model(s.dir / "student.pt").spec
    c = run(compress, tmp_path, cfg, {"data": d, "teacher": t, "distill": s})
    report = json.loads((c.dir / "train.json").read_text())
    for key in ("teacher", "scratch", "distilled", "pruned", "qat"):
        assert {"accuracy", "params", "macs", "epochs", "wall_s"} <= report[key].keys(), key
    assert abs(report["pruned"]["params_removed"] - 0.3) <= 0.05
    assert abs(report["pruned"]["macs_removed"] - 0.3) <= 0.05
    final = load_model(c.dir / "student.pt")
    assert final.spec["bn"] is False and final.spec["qat"] is True
    # BN folded into the convs: the QAT model has the pruned one's MACs and no BN parameters
    assert c.meta["params"] == report["qat"]["params"] <= report["pruned"]["params"]
    assert report["qat"]["macs"] == report["pruned"]["macs"]
    assert not (tmp_path / "build" / "checkpoints" / "compress").exists()


@pytest.mark.slow
def test_distill_stage_teacher_ensemble_and_assistant(tmp_path, run):
    cfg = Config().with_overrides(
        data={"dataset": "digits", "max_train_samples": 300},
        teacher={"epochs": 1, "width": 16},
        student={"epochs": 1, "scratch": False, "max_teacher_ratio": 0.05},
        distill={"teachers": 2, "assistant": True, "cache_teacher_logits": False},
    )
    d = run(data, tmp_path, cfg, {})
    t = run(teacher, tmp_path, cfg, {"data": d})
    s = run(distill, tmp_path, cfg, {"data": d, "teacher": t})
    assert len(s.meta["teachers"]) == 2 and "scratch" not in s.meta
    assert s.meta["params"] < s.meta["assistant"]["params"] < t.meta["params"]
    assert np.load(s.dir / "soft_logits.npy").shape[0] == 1  # the assistant's logits
    c = run(compress, tmp_path, cfg, {"data": d, "teacher": t, "distill": s})
    report = json.loads((c.dir / "train.json").read_text())
    assert report["pruned"] is None and report["qat"] is None and report["scratch"] is None


def test_interrupted_teacher_stage_resumes_from_checkpoint(tmp_path, run, monkeypatch):
    from pipeline.training import api, loop

    cfg = Config().with_overrides(data={"dataset": "digits", "max_train_samples": 200},
                                  teacher={"epochs": 3, "width": 4})
    d = run(data, tmp_path, cfg, {})

    def interrupted_fit(*args, **kwargs):
        def stop(epoch, record):
            if epoch == 2:
                raise KeyboardInterrupt
        return loop.fit(*args, **{**kwargs, "on_epoch_end": stop})

    monkeypatch.setattr(api, "fit", interrupted_fit)
    with pytest.raises(KeyboardInterrupt):
        run(teacher, tmp_path, cfg, {"data": d})
    assert (tmp_path / "build" / "checkpoints" / "teacher" / "seed0" / "last.pt").exists()
    monkeypatch.setattr(api, "fit", loop.fit)
    t = run(teacher, tmp_path, cfg, {"data": d})
    assert t.meta["resumed_from_epoch"] == 2 and t.meta["epochs"] == 3
    assert not (tmp_path / "build" / "checkpoints" / "teacher").exists()
