"""Stage `compress`: structured pruning and/or QAT of the distilled student, and the training report.

- prune (`prune.enabled`): iterative channel pruning (L1 or BN-gamma importance) in steps of
  `prune.step` until `prune.fraction` of the params (or MACs, `prune.metric`) is gone, fine-tuning
  `prune.finetune_epochs` with the distillation loss after every step; channels are removed.
- QAT (`quantize.mode = "qat"`): BN folded, int8 fake-quant training for `quantize.qat_epochs`,
  exported as a float model with weights on their int8 grid.
- otherwise the distilled student passes through unchanged.

Files: `student.pt` (final), `train.json` (the training report: teacher, scratch, distilled, pruned,
qat — accuracy on the test split, params, MACs, epochs, wall time; plus simulated int8 accuracy;
`selection`: which of distilled/scratch the distill stage kept on validation, and by how much).
Meta: accuracy, params, macs, pruned, qat, int8_sim_accuracy, ptq_sim_accuracy, report.
"""
from __future__ import annotations

import shutil
import time

import numpy as np
import torch

from ..atomic import write_json
from ..models import load_model, save_model
from ..training import api, qat
from ..training.distill import Distillation
from ..training.dist import pick_device
from ..training.loop import TrainSettings, fit
from ..training.prune import prune
from .base import Artifact, Context
from .data import load_dataset

NAME = "compress"
INPUTS = ("data", "teacher", "distill")
CONFIG_SECTIONS = ("student", "distill", "prune", "quantize")
TARGET_FIELDS: tuple[str, ...] = ()

REPORT_KEYS = ("accuracy", "params", "macs", "epochs", "wall_s")


def _entry(rec: dict | None) -> dict | None:
    if not rec:
        return None
    out = {k: rec.get(k) for k in REPORT_KEYS}
    for k in ("val_accuracy", "family", "int8_sim_accuracy", "seed", "best_epoch"):
        if k in rec:
            out[k] = rec[k]
    return out


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    api.configure_threads()
    scfg, dcfg, pcfg, qcfg = ctx.config.student, ctx.config.distill, ctx.config.prune, ctx.config.quantize
    ds = load_dataset(inputs["data"])
    api.check_dataset(ds)
    device = pick_device()
    splits = api.Splits(ds, device)
    resume = ctx.build_dir / "checkpoints" / NAME
    dmeta = inputs["distill"].meta
    student = load_model(inputs["distill"].path("student.pt")).to(device)
    logits = torch.from_numpy(np.load(inputs["distill"].path("soft_logits.npy"))).to(device)

    # Fine-tuning distils with the T / alpha the distill stage picked on validation (its grid), not
    # the config's fallback values.
    chosen = dmeta.get("distilled") or {}
    temperature, alpha = chosen.get("temperature", dcfg.temperature), chosen.get("alpha", dcfg.alpha)

    def kd(model, epochs: int, lr: float, name: str, keep_initial: bool = False):
        settings = TrainSettings(epochs=epochs, batch_size=scfg.batch_size, optimizer=scfg.optimizer, lr=lr,
                                 weight_decay=scfg.weight_decay, patience=None, seed=scfg.seed,
                                 keep_initial=keep_initial)
        return fit(Distillation(model, logits, temperature, alpha), splits.train, splits.val, settings,
                   resume_dir=resume / name, progress=ctx.progress, description=name)

    report = {
        "dataset": ds.name,
        "teacher": _entry(inputs["teacher"].meta),
        "scratch": _entry(dmeta.get("scratch")),
        "distilled": _entry(dmeta.get("distilled")),
        "assistant": _entry(dmeta.get("assistant")),
        "pruned": None,
        "qat": None,
        "student_fit": dmeta.get("student", {}).get("fit"),
    }
    calib_x = splits.calib.x
    # The distill stage shipped the better of distilled/scratch on validation (`selection`); what is
    # pruned and quantised below is that one. Both get a simulated int8 accuracy (a PTQ pass, < 1 s).
    selection = dmeta.get("selection")
    kept = (selection or {}).get("kept", "distilled")
    report["selection"] = selection
    for name in ("distilled", "scratch"):
        if report[name] is None:
            continue
        f = inputs["distill"].dir / f"{name}.pt"
        m = student if name == kept else (load_model(f).to(device) if f.is_file() else None)
        if m is not None:
            report[name]["int8_sim_accuracy"] = qat.simulate_int8(m, calib_x, splits.test)
    model = student

    if pcfg.enabled and pcfg.fraction > 0:
        t0 = time.perf_counter()
        epochs = {"n": 0}

        def finetune(m, k):
            if pcfg.finetune_epochs:
                r = kd(m, pcfg.finetune_epochs, pcfg.lr, f"prune-step{k}")
                epochs["n"] += r.epochs_run
            return m

        result = prune(model, pcfg.fraction, pcfg.step, pcfg.importance, pcfg.metric, finetune, log=ctx.progress.log)
        model = result.model
        rec = api.record(model, splits, None, wall_s=time.perf_counter() - t0, epochs=epochs["n"])
        rec.update(steps=result.steps, params_removed=1 - rec["params"] / report[kept]["params"],
                   macs_removed=1 - rec["macs"] / report[kept]["macs"], spec=model.spec,
                   int8_sim_accuracy=qat.simulate_int8(model, calib_x, splits.test))
        report["pruned"] = {**_entry(rec), "params_removed": rec["params_removed"], "macs_removed": rec["macs_removed"],
                            "fraction": pcfg.fraction, "importance": pcfg.importance, "steps": result.steps}
        ctx.progress.log(f"  pruned: {rec['params']:,} params (-{rec['params_removed']:.1%}), "
                         f"MACs -{rec['macs_removed']:.1%}, test accuracy {rec['accuracy']:.4f}")

    if qcfg.mode == "qat":
        t0 = time.perf_counter()
        ptq = qat.simulate_int8(model, calib_x, splits.test)
        q = qat.prepare(model).to(device)
        qat.calibrate(q, splits.train.x)
        r = kd(q, qcfg.qat_epochs, qcfg.qat_lr, "qat", keep_initial=True)
        q.eval()
        fq_acc = api.evaluate(q, splits.test)[0]
        model = qat.export(q).to(device)
        rec = api.record(model, splits, None, wall_s=time.perf_counter() - t0, epochs=r.epochs_run)
        rec["int8_sim_accuracy"] = qat.simulate_int8(model, calib_x, splits.test)
        report["qat"] = {**_entry(rec), "fake_quant_accuracy": fq_acc, "ptq_int8_sim_accuracy": ptq,
                         "best_epoch": r.best_epoch}
        ctx.progress.log(f"  QAT: float {rec['accuracy']:.4f}, simulated int8 {rec['int8_sim_accuracy']:.4f} "
                         f"(PTQ alone {ptq:.4f})")

    final = report["qat"] or report["pruned"] or report[kept]
    save_model(model, model.spec, ctx.out_dir / "student.pt")
    write_json(ctx.out_dir / "train.json", report)
    shutil.rmtree(resume, ignore_errors=True)
    return ctx.artifact({
        "accuracy": final["accuracy"], "params": final["params"], "macs": final["macs"],
        "int8_sim_accuracy": final.get("int8_sim_accuracy"),
        "pruned": report["pruned"] is not None, "qat": report["qat"] is not None,
        "spec": model.spec, "file": "student.pt", "report": "train.json",
        "summary": {k: (v["accuracy"] if isinstance(v, dict) and "accuracy" in v else None)
                    for k, v in report.items() if k in ("teacher", "scratch", "distilled", "pruned", "qat")},
    })
