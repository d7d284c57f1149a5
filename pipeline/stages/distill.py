"""Stage `distill`: fit a student to the target, train it from scratch (baseline) and distilled.

Fit to target: the largest rung of the student ladder whose estimated int8 flash and TFLM RAM fit
`student.budget_margin` x the target's flash/RAM (minus the runtime reserves) and that has at most
`student.max_teacher_ratio` x the teacher's parameters; `student.shrink` steps down the ladder.
Distillation: Hinton KD from the teacher (or the mean soft targets of `distill.teachers` teachers),
optional feature hints, optional teacher -> assistant -> student chain.

Files: `student.pt` (distilled), `scratch.pt` (baseline, when `student.scratch`),
`soft_logits.npy` (cached [n_teachers, N_train, K] logits of the teacher(s) the student learned from).
Meta: student (spec, estimates, budget), scratch, distilled, teachers, assistant (records with
accuracy, params, macs, epochs, wall_s).
"""
from __future__ import annotations

import shutil
import time

import numpy as np

from ..atomic import atomic_path
from ..models import budget_for, load_model, save_model, search
from ..training import api
from ..training.dist import pick_device
from .base import Artifact, Context
from .data import load_dataset

NAME = "distill"
INPUTS = ("data", "teacher")
CONFIG_SECTIONS = ("teacher", "student", "distill")
TARGET_FIELDS = ("flash_kb", "ram_kb")


def choose_student(input_shape, num_classes: int, scfg, flash_kb: float, ram_kb: float,
                   teacher_params: int | None) -> tuple[dict, dict]:
    """(spec, fit record) — the fit-to-target search."""
    max_params = int(teacher_params * scfg.max_teacher_ratio) if teacher_params else None
    budget = budget_for(flash_kb, ram_kb, scfg.budget_margin, scfg.reserve_flash_kb, scfg.reserve_ram_kb, max_params)
    spec, est = search(input_shape, num_classes, budget, scfg.family, scfg.width_multiplier, scfg.depth, scfg.shrink)
    fit = {**est, "budget_flash_bytes": budget.flash_bytes, "budget_ram_bytes": budget.ram_bytes,
           "max_params": max_params, "target_flash_kb": flash_kb, "target_ram_kb": ram_kb,
           "margin": scfg.budget_margin, "width_multiplier": spec.get("width_multiplier"), "depth": spec.get("depth")}
    return spec, fit


def run(ctx: Context, inputs: dict[str, Artifact]) -> Artifact:
    api.configure_threads()
    cfg, scfg, dcfg = ctx.config.teacher, ctx.config.student, ctx.config.distill
    ds = load_dataset(inputs["data"])
    api.check_dataset(ds)
    device = pick_device()
    splits = api.Splits(ds, device)
    resume = ctx.build_dir / "checkpoints" / NAME
    log = ctx.progress.log

    teacher = load_model(inputs["teacher"].path("teacher.pt")).to(device)
    teacher_params = sum(p.numel() for p in teacher.parameters())
    teachers = [teacher]
    teacher_records = [dict(inputs["teacher"].meta, seed=cfg.seed)]
    for k in range(1, dcfg.teachers):
        extra, rec = api.train_teacher(splits, cfg, seed=cfg.seed + k, resume_dir=resume / f"teacher{k}",
                                       progress=ctx.progress)
        log(f"  extra teacher {k} (seed {cfg.seed + k}): test accuracy {rec['accuracy']:.4f}")
        teachers.append(extra)
        teacher_records.append(rec)

    spec, fit = choose_student(ds.input_shape, ds.num_classes, scfg, ctx.target.flash_kb, ctx.target.ram_kb,
                               teacher_params)
    log(f"  student {spec['family']} x{spec['width_multiplier']} depth {spec['depth']}: {fit['params']:,} params, "
        f"est. {fit['est_flash_bytes'] / 1024:.1f} KB flash, {fit['est_ram_bytes'] / 1024:.1f} KB RAM "
        f"(budget {fit['budget_flash_bytes'] / 1024:.0f} / {fit['budget_ram_bytes'] / 1024:.0f} KB)")
    if not fit["fits"]:
        log(f"  warning: the configured student (width {scfg.width_multiplier}, depth {scfg.depth}) exceeds the "
            f"estimated budget of {ctx.target.id}")

    meta: dict = {"student": {"spec": spec, "fit": fit}, "teachers": teacher_records, "device": device.type}
    sources = teachers
    if dcfg.assistant:
        a_spec, a_fit = choose_student(ds.input_shape, ds.num_classes, scfg.model_copy(
            update={"width_multiplier": "auto", "depth": "auto", "shrink": 0, "max_teacher_ratio": 1.0}),
            ctx.target.flash_kb, ctx.target.ram_kb, api.assistant_budget(teacher_params, fit["params"]))
        assistant, a_rec = api.distill_student(splits, a_spec, teachers, scfg, dcfg, resume_dir=resume / "assistant",
                                               progress=ctx.progress, description="teacher assistant")
        log(f"  assistant: {a_rec['params']:,} params, test accuracy {a_rec['accuracy']:.4f}")
        meta["assistant"] = {**a_rec, "spec": a_spec}
        sources = [assistant]

    if scfg.scratch:
        scratch, s_rec = api.train_scratch(splits, spec, scfg, resume_dir=resume / "scratch", progress=ctx.progress)
        save_model(scratch, scratch.spec, ctx.out_dir / "scratch.pt")
        meta["scratch"] = s_rec
        log(f"  scratch student: test accuracy {s_rec['accuracy']:.4f} ({s_rec['wall_s']:.0f} s)")

    t0 = time.perf_counter()
    logits = api.soft_targets(sources, splits)
    student, d_rec = api.distill_student(splits, spec, sources, scfg, dcfg, logits=logits,
                                         resume_dir=resume / "distilled", progress=ctx.progress)
    d_rec["teacher_logits_s"] = round(time.perf_counter() - t0 - d_rec["wall_s"], 3)
    save_model(student, student.spec, ctx.out_dir / "student.pt")
    with atomic_path(ctx.out_dir / "soft_logits.npy") as tmp:
        with open(tmp, "wb") as f:
            np.save(f, logits.cpu().numpy().astype(np.float32))
    meta["distilled"] = d_rec
    meta.update(accuracy=d_rec["accuracy"], params=d_rec["params"], macs=d_rec["macs"],
                teacher_params=teacher_params, params_ratio=d_rec["params"] / teacher_params,
                scratch_accuracy=meta.get("scratch", {}).get("accuracy"), file="student.pt")
    log(f"  distilled student: test accuracy {d_rec['accuracy']:.4f} ({d_rec['wall_s']:.0f} s), "
        f"{d_rec['params'] / teacher_params:.1%} of the teacher's params")
    shutil.rmtree(resume, ignore_errors=True)
    return ctx.artifact(meta)
