"""Training-side benchmark: teacher / scratch / distilled / pruned / QAT on digits and mnist1d.

    .venv/bin/python benchmarks/training_suite.py OUT            # writes OUT.json and OUT.md
    .venv/bin/python benchmarks/training_suite.py OUT --seeds 1 --datasets digits

Runs the real stages (data -> teacher -> distill -> compress with pruning + QAT) with the default
config for every seed (teacher.seed = student.seed = seed; the data split is fixed), for the
cortex-m4 target. Reports mean ± std over seeds of test accuracy, params, MACs, wall time, the share
of the scratch -> teacher gap closed by distillation, the training-side time (teacher + scratch +
distilled, acceptance: <= 4 min per dataset on 2 CPU cores) and simulated int8 accuracy (PTQ of the
distilled student vs QAT).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import targets  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.stages import compress, data, distill, teacher  # noqa: E402
from pipeline.stages.base import Context  # noqa: E402
from pipeline.stages.progress import Progress  # noqa: E402

ROWS = ("teacher", "scratch", "distilled", "pruned", "qat")


def run_once(dataset: str, seed: int, target: str, work: Path, overrides: dict) -> dict:
    cfg = Config().with_overrides(
        data={"dataset": dataset},
        teacher={"seed": seed, **overrides.get("teacher", {})},
        student={"seed": seed, **overrides.get("student", {})},
        prune={"enabled": True, **overrides.get("prune", {})},
        quantize={"mode": "qat", **overrides.get("quantize", {})},
    )
    tgt = targets.load_all().get(target)
    progress = Progress(enabled=False)
    arts, times = {}, {}
    for mod in (data, teacher, distill, compress):
        out = work / f"{dataset}-{seed}" / mod.NAME
        out.mkdir(parents=True, exist_ok=True)
        ctx = Context(config=cfg, target=tgt, out_dir=out, build_dir=work / f"{dataset}-{seed}", progress=progress)
        t0, c0 = time.perf_counter(), time.process_time()
        arts[mod.NAME] = mod.run(ctx, {k: arts[k] for k in mod.INPUTS})
        times[mod.NAME] = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    report = json.loads((arts["compress"].dir / "train.json").read_text())
    training_side = times["teacher"]["wall_s"] + times["distill"]["wall_s"]
    return {"seed": seed, "report": report, "stage_times": times, "training_side_wall_s": training_side,
            "training_side_cpu_s": times["teacher"]["cpu_s"] + times["distill"]["cpu_s"]}


def _ms(values: list[float]) -> tuple[float, float]:
    values = [float(v) for v in values if v is not None and v == v]  # drop None and NaN
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(runs: list[dict]) -> dict:
    out: dict = {}
    for row in ROWS:
        entries = [r["report"].get(row) for r in runs if r["report"].get(row)]
        if not entries:
            continue
        out[row] = {k: _ms([e.get(k) for e in entries]) for k in
                    ("accuracy", "params", "macs", "epochs", "wall_s", "int8_sim_accuracy")}
    gaps = []
    for r in runs:
        t, s, d = (r["report"][k]["accuracy"] for k in ("teacher", "scratch", "distilled"))
        gaps.append((d - s) / (t - s) if t != s else float("nan"))
    out["gap_closed"] = _ms(gaps)
    out["distilled_minus_scratch_pt"] = _ms([100 * (r["report"]["distilled"]["accuracy"] -
                                                    r["report"]["scratch"]["accuracy"]) for r in runs])
    out["training_side_wall_s"] = _ms([r["training_side_wall_s"] for r in runs])
    out["training_side_cpu_s"] = _ms([r["training_side_cpu_s"] for r in runs])
    out["student_params_ratio"] = _ms([r["report"]["distilled"]["params"] / r["report"]["teacher"]["params"]
                                       for r in runs])
    out["qat_vs_ptq_int8_pt"] = _ms([100 * (r["report"]["qat"]["int8_sim_accuracy"] -
                                            r["report"]["qat"]["ptq_int8_sim_accuracy"]) for r in runs
                                     if r["report"].get("qat")])
    return out


def markdown(results: dict) -> str:
    lines = ["# Training suite", "",
             f"{results['host']} · torch {results['torch']} · threads {results['threads']} · "
             f"seeds {results['seeds']} · target {results['target']} · load at start {results['loadavg']}", ""]
    for ds, agg in results["datasets"].items():
        lines += [f"## {ds}", "", "| model | accuracy (test) | int8 sim. acc. | params | MACs | epochs | wall s |",
                  "|---|---|---|---|---|---|---|"]
        for row in ROWS:
            if row not in agg:
                continue
            a = agg[row]

            def pm(k, scale=1.0, digits=1, unit=""):
                m, s = a[k]
                if m != m:  # nan
                    return "–"
                return f"{m * scale:.{digits}f} ± {s * scale:.{digits}f}{unit}"
            lines.append(f"| {row} | {pm('accuracy', 100, 2, ' %')} | {pm('int8_sim_accuracy', 100, 2, ' %')} | "
                         f"{a['params'][0]:,.0f} | {a['macs'][0]:,.0f} | {a['epochs'][0]:.0f} | {pm('wall_s')} |")
        g, gs = agg["gap_closed"]
        dm, ds_ = agg["distilled_minus_scratch_pt"]
        tw, tws = agg["training_side_wall_s"]
        tc, _ = agg["training_side_cpu_s"]
        r, _ = agg["student_params_ratio"]
        q, qs = agg["qat_vs_ptq_int8_pt"]
        lines += ["", f"- distilled − scratch: {dm:+.2f} ± {ds_:.2f} pt; share of the scratch→teacher gap closed "
                      f"by distillation: {g:.0%} ± {gs:.0%}",
                  f"- student / teacher params: {r:.3f}",
                  f"- training side (teacher + scratch + distilled): {tw:.0f} ± {tws:.0f} s wall, {tc:.0f} s CPU",
                  f"- QAT − PTQ (simulated int8, pruned student): {q:+.2f} ± {qs:.2f} pt", ""]
    return "\n".join(lines) + "\n"


def _header(seeds: int, target: str) -> dict:
    """What `markdown` prints above the tables (the same for the CLI and `python -m benchmarks`)."""
    return {"host": platform.node() or platform.machine(), "torch": torch.__version__,
            "threads": os.environ.get("PIPELINE_TORCH_THREADS", "1"), "seeds": seeds, "target": target,
            "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "",
            "cpus": os.cpu_count(), "datasets": {}, "runs": {}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="output prefix: writes OUT.json and OUT.md")
    p.add_argument("--datasets", default="mnist1d,digits")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--work", type=Path, default=None, help="scratch directory (default: a temp dir)")
    a = p.parse_args(argv)
    out = a.out.with_suffix("") if a.out.suffix in (".json", ".md") else a.out
    results = _header(a.seeds, a.target)
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or Path(tmp)
        for ds in a.datasets.split(","):
            runs = []
            for seed in range(a.seeds):
                r = run_once(ds, seed, a.target, work, {})
                runs.append(r)
                rep = r["report"]
                print(f"{ds} seed {seed}: teacher {rep['teacher']['accuracy']:.4f} scratch {rep['scratch']['accuracy']:.4f}"
                      f" distilled {rep['distilled']['accuracy']:.4f} pruned {rep['pruned']['accuracy']:.4f}"
                      f" qat {rep['qat']['accuracy']:.4f}  training side {r['training_side_wall_s']:.0f} s", flush=True)
                results["runs"][ds] = runs
                results["datasets"][ds] = aggregate(runs)
                out.parent.mkdir(parents=True, exist_ok=True)
                out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str) + "\n")
                out.with_suffix(".md").write_text(markdown(results))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


TITLE = "Training: teacher / scratch / distilled / pruned / QAT, mean ± std over 3 seeds (cortex-m4 budgets)"


def run(progress, datasets=("mnist1d", "digits"), seeds: int = 3, target: str = "cortex-m4") -> dict:
    """Entry point for `python -m benchmarks` (same measurements as `main`)."""
    results = _header(seeds, target)
    with tempfile.TemporaryDirectory() as tmp:
        for ds in datasets:
            runs = []
            for seed in range(seeds):
                progress.log(f"   {ds} seed {seed}")
                runs.append(run_once(ds, seed, target, Path(tmp), {}))
            results["runs"][ds] = runs
            results["datasets"][ds] = aggregate(runs)
    return results
