"""Training-side benchmark (issue #18): teacher / scratch / distilled per dataset and student size.

    .venv/bin/python benchmarks/training_suite.py OUT            # writes OUT.json and OUT.md
    .venv/bin/python benchmarks/training_suite.py OUT --seeds 2 --datasets digits --sizes tiny

Runs the real stages (data -> teacher -> distill -> compress) with the default config for every
seed (teacher.seed = student.seed = seed; the data split is fixed), for the cortex-m4 target; the
teacher of a seed is shared by the student sizes. Per dataset and size: mean ± std over seeds of
the test accuracy of teacher, scratch and distilled (paired by seed: same seed, init and budget),
distilled − scratch with a 95 % t interval over the seed differences, the share of the
scratch -> teacher gap closed (ratio of the mean differences, 95 % paired bootstrap interval over
seeds), simulated int8 accuracy of both students, which student the build kept (validation split),
the chosen T / alpha, and the training-side wall time (teacher + scratch + distilled; issue #18
acceptance: <= 4 min per dataset on 2 CPU cores). `--prune-qat` adds pruning + QAT as before.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import targets  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.stages import compress, data, distill, teacher  # noqa: E402
from pipeline.stages.base import Context  # noqa: E402
from pipeline.stages.progress import Progress  # noqa: E402

ROWS = ("teacher", "scratch", "distilled", "pruned", "qat")
DATASETS = ("mnist1d", "digits", "mnist1d-hard")
SIZES = ("default", "tiny")


def _stage(mod, cfg, tgt, build: Path, out_name: str, inputs: dict, progress):
    out = build / out_name
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(config=cfg, target=tgt, out_dir=out, build_dir=build, progress=progress)
    t0, c0 = time.perf_counter(), time.process_time()
    art = mod.run(ctx, inputs)
    return art, {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def run_seed(dataset: str, seed: int, target: str, work: Path, sizes=SIZES, prune_qat: bool = False,
             overrides: dict | None = None) -> list[dict]:
    """One seed of one dataset: the teacher once, then scratch + distilled (+ compress) per size."""
    overrides = overrides or {}
    tgt = targets.load_all().get(target)
    progress = Progress(enabled=False)
    build = work / f"{dataset}-{seed}"
    base = dict(data={"dataset": dataset, **overrides.get("data", {})},
                teacher={"seed": seed, **overrides.get("teacher", {})})
    cfg0 = Config().with_overrides(**base)
    d, _ = _stage(data, cfg0, tgt, build, "data", {}, progress)
    t, t_time = _stage(teacher, cfg0, tgt, build, "teacher", {"data": d}, progress)
    runs = []
    for size in sizes:
        cfg = Config().with_overrides(
            **base, student={"seed": seed, "size": size, **overrides.get("student", {})},
            distill=overrides.get("distill", {}),
            prune={"enabled": prune_qat, **overrides.get("prune", {})},
            quantize={"mode": "qat" if prune_qat else "ptq", **overrides.get("quantize", {})})
        s, s_time = _stage(distill, cfg, tgt, build, f"distill-{size}", {"data": d, "teacher": t}, progress)
        c, c_time = _stage(compress, cfg, tgt, build, f"compress-{size}", {"data": d, "teacher": t, "distill": s},
                           progress)
        report = json.loads((c.dir / "train.json").read_text())
        report["selection"] = s.meta.get("selection")
        report["deployed"] = {"accuracy": c.meta["accuracy"], "int8_sim_accuracy": c.meta.get("int8_sim_accuracy")}
        runs.append({"seed": seed, "size": size, "report": report,
                     "stage_times": {"teacher": t_time, "distill": s_time, "compress": c_time},
                     "training_side_wall_s": t_time["wall_s"] + s_time["wall_s"],
                     "training_side_cpu_s": t_time["cpu_s"] + s_time["cpu_s"]})
    return runs


def run_once(dataset: str, seed: int, target: str, work: Path, overrides: dict) -> dict:
    """Kept for callers of the old suite: one seed at the default size with pruning + QAT."""
    return run_seed(dataset, seed, target, work, sizes=("default",), prune_qat=True, overrides=overrides)[0]


def _ms(values: list[float]) -> tuple[float, float]:
    values = [float(v) for v in values if v is not None and v == v]  # drop None and NaN
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


# Student-t 97.5 % quantiles for 1..30 degrees of freedom (two-sided 95 %); beyond, the normal 1.96.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t_interval(diffs: list[float]) -> tuple[float, float]:
    """Two-sided 95 % t interval of the mean of paired differences (n >= 2; else (nan, nan))."""
    n = len(diffs)
    if n < 2:
        return float("nan"), float("nan")
    m, s = statistics.fmean(diffs), statistics.stdev(diffs)
    h = (_T975[n - 2] if n - 1 <= len(_T975) else 1.96) * s / math.sqrt(n)
    return m - h, m + h


def gap_closed(teacher: list[float], scratch: list[float], distilled: list[float], resamples: int = 10_000,
               seed: int = 0) -> tuple[float, float, float]:
    """(share, low, high): mean(d - s) / mean(t - s), with a 95 % bootstrap over seeds (paired:
    a resample takes a seed's three numbers together). A ratio of means, not a mean of per-seed
    ratios, which explode when one seed's scratch student is as good as its teacher."""
    t, s, d = (np.asarray(v, dtype=float) for v in (teacher, scratch, distilled))
    if len(t) == 0 or not np.mean(t - s):
        return float("nan"), float("nan"), float("nan")
    share = float(np.mean(d - s) / np.mean(t - s))
    if len(t) < 2:
        return share, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(t), size=(resamples, len(t)))
    num, den = (d - s)[idx].mean(1), (t - s)[idx].mean(1)
    ok = den > 0
    boot = num[ok] / den[ok]
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (float("nan"), float("nan"))
    return share, float(lo), float(hi)


def aggregate(runs: list[dict]) -> dict:
    out: dict = {}
    for row in ROWS:
        entries = [r["report"].get(row) for r in runs if r["report"].get(row)]
        if not entries:
            continue
        out[row] = {k: _ms([e.get(k) for e in entries]) for k in
                    ("accuracy", "val_accuracy", "params", "macs", "epochs", "wall_s", "int8_sim_accuracy")}
    paired = [r for r in runs if r["report"].get("scratch") and r["report"].get("distilled")]
    acc = {k: [r["report"][k]["accuracy"] for r in paired] for k in ("teacher", "scratch", "distilled")}
    diffs = [100 * (d - s) for d, s in zip(acc["distilled"], acc["scratch"], strict=True)]
    out["distilled_minus_scratch_pt"] = _ms(diffs)
    out["distilled_minus_scratch_ci95_pt"] = t_interval(diffs)
    out["gap_closed"] = gap_closed(acc["teacher"], acc["scratch"], acc["distilled"])
    out["gap_closed_per_seed"] = _ms([(d - s) / (t - s) if t != s else float("nan")
                                      for t, s, d in zip(acc["teacher"], acc["scratch"], acc["distilled"], strict=True)])
    out["training_side_wall_s"] = _ms([r["training_side_wall_s"] for r in runs])
    out["training_side_cpu_s"] = _ms([r["training_side_cpu_s"] for r in runs])
    out["student_params_ratio"] = _ms([r["report"]["distilled"]["params"] / r["report"]["teacher"]["params"]
                                       for r in paired])
    sels = [r["report"].get("selection") or {} for r in runs]
    out["kept"] = {k: sum(1 for s in sels if s.get("kept") == k) for k in ("distilled", "scratch")}
    out["chosen_t_alpha"] = [[s.get("temperature"), s.get("alpha")] for s in sels]
    out["student_size"] = next((s.get("student_size") for s in sels if s.get("student_size")), None)
    deployed = [r["report"].get("deployed") or {} for r in runs]
    out["deployed_int8_minus_float_pt"] = _ms([100 * (x["int8_sim_accuracy"] - x["accuracy"]) for x in deployed
                                               if x.get("int8_sim_accuracy") is not None])
    out["seeds"] = [r["seed"] for r in runs]
    if any(r["report"].get("qat") for r in runs):
        out["qat_vs_ptq_int8_pt"] = _ms([100 * (r["report"]["qat"]["int8_sim_accuracy"] -
                                                r["report"]["qat"]["ptq_int8_sim_accuracy"]) for r in runs
                                         if r["report"].get("qat")])
    return out


def _pm(pair, scale=1.0, digits=1, unit=""):
    m, s = pair
    if m != m:  # nan
        return "–"
    return f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}{unit}"


def markdown(results: dict) -> str:
    lines = ["# Training suite", "",
             f"{results['host']} · torch {results['torch']} · threads {results['threads']} · "
             f"seeds {results['seeds']} · target {results['target']} · load at start {results['loadavg']}", ""]
    for key, agg in results["datasets"].items():
        lines += [f"## {key}", "", "| model | accuracy (test) | int8 sim. acc. | val acc. | params | MACs | epochs | wall s |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in ROWS:
            if row not in agg:
                continue
            a = agg[row]
            lines.append(f"| {row} | {_pm(a['accuracy'], 100, 2, ' %')} | {_pm(a['int8_sim_accuracy'], 100, 2, ' %')} | "
                         f"{_pm(a['val_accuracy'], 100, 2, ' %')} | {a['params'][0]:,.0f} | {a['macs'][0]:,.0f} | "
                         f"{a['epochs'][0]:.0f} | {_pm(a['wall_s'])} |")
        dm, ds_ = agg["distilled_minus_scratch_pt"]
        lo, hi = agg["distilled_minus_scratch_ci95_pt"]
        g, glo, ghi = agg["gap_closed"]
        tw, tws = agg["training_side_wall_s"]
        tc, _ = agg["training_side_cpu_s"]
        r, _ = agg["student_params_ratio"]
        q8 = agg["deployed_int8_minus_float_pt"]
        kept = agg["kept"]
        lines += ["",
                  f"- student: {agg.get('student_size')}; student / teacher params {r:.3f}",
                  f"- distilled − scratch (paired by seed): {dm:+.2f} ± {ds_:.2f} pt, 95 % CI [{lo:+.2f}, {hi:+.2f}] pt",
                  f"- share of the scratch→teacher gap closed: {g:.0%}, 95 % CI [{glo:.0%}, {ghi:.0%}] "
                  f"(per-seed mean {_pm(agg['gap_closed_per_seed'], 100, 0, ' %')})",
                  f"- kept on validation: distilled {kept['distilled']}, scratch {kept['scratch']}; "
                  f"T/alpha chosen: {', '.join(f'{t:g}/{a:g}' for t, a in agg['chosen_t_alpha'] if t is not None)}",
                  f"- deployed student, simulated int8 − float: {_pm(q8, 1, 2, ' pt')}",
                  f"- training side (teacher + scratch + distilled): {tw:.0f} ± {tws:.0f} s wall, {tc:.0f} s CPU"]
        if "qat_vs_ptq_int8_pt" in agg:
            lines.append(f"- QAT − PTQ (simulated int8, pruned student): {_pm(agg['qat_vs_ptq_int8_pt'], 1, 2, ' pt')}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _header(seeds: int, target: str) -> dict:
    """What `markdown` prints above the tables (the same for the CLI and `python -m benchmarks`)."""
    return {"host": platform.node() or platform.machine(), "torch": torch.__version__,
            "threads": os.environ.get("PIPELINE_TORCH_THREADS", "1"), "seeds": seeds, "target": target,
            "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "",
            "cpus": os.cpu_count(), "datasets": {}, "runs": {}}


def measure(datasets, seeds: int, target: str, work: Path, sizes=SIZES, prune_qat: bool = False, log=print,
            on_update=None) -> dict:
    results = _header(seeds, target)
    for ds in datasets:
        per_size: dict[str, list] = {s: [] for s in sizes}
        for seed in range(seeds):
            for r in run_seed(ds, seed, target, work, sizes, prune_qat):
                per_size[r["size"]].append(r)
                rep = r["report"]
                log(f"{ds} [{r['size']}] seed {seed}: teacher {rep['teacher']['accuracy']:.4f} "
                    f"scratch {rep['scratch']['accuracy']:.4f} distilled {rep['distilled']['accuracy']:.4f} "
                    f"kept {rep['selection']['kept']}  training side {r['training_side_wall_s']:.0f} s")
            for size, runs in per_size.items():
                key = f"{ds} · {size}"
                results["runs"][key] = runs
                results["datasets"][key] = aggregate(runs)
            if on_update is not None:
                on_update(results)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="output prefix: writes OUT.json and OUT.md")
    p.add_argument("--datasets", default=",".join(DATASETS))
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--prune-qat", action="store_true", help="also prune + QAT the kept student")
    p.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir)")
    a = p.parse_args(argv)
    out = a.out.with_suffix("") if a.out.suffix in (".json", ".md") else a.out
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(results):
        out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        out.with_suffix(".md").write_text(markdown(results))

    with tempfile.TemporaryDirectory() as tmp:
        measure(a.datasets.split(","), a.seeds, a.target, a.work or Path(tmp), tuple(a.sizes.split(",")),
                a.prune_qat, log=lambda m: print(m, flush=True), on_update=write)
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


TITLE = "Training: teacher / scratch / distilled per dataset and student size, mean ± std over 5 seeds (cortex-m4 budgets)"


def run(progress, datasets=DATASETS, seeds: int = 5, target: str = "cortex-m4") -> dict:
    """Entry point for `python -m benchmarks` (same measurements as `main`)."""
    with tempfile.TemporaryDirectory() as tmp:
        return measure(datasets, seeds, target, Path(tmp), log=lambda m: progress.log(f"   {m}"))


if __name__ == "__main__":
    sys.exit(main())
