"""Cortex-M4 latency in modelled cycles and ms: our AOT engine vs bakenn on the MLPerf Tiny models,
beside the published X-CUBE-AI figures on the STM32L4R5 (issue #21).

Per model, for each engine: the firmware (the same one cortex_m_suite measures: our UART app,
board support and flags for both) runs one inference on QEMU mps2-an386 under our instruction-
profile plugin; the executed stream is priced with the Cortex-M4 TRM table (pipeline/timing/model.py)
-> modelled cycles, ms at the target's [timing] clock (120 MHz, the L4R5's), MAC per cycle; flash
wait states (5 at 120 MHz, behind the ART accelerator) are a separate worst-case term. The validation
loops' error against the TRM is measured in the same run. The anchor rows are published results
(MLPerf Tiny v1.3 closed division), facts with their source, not measurements of this run.
"""
from __future__ import annotations

import time
from pathlib import Path

from . import mlperf_tiny
from .common import BUILD_DIR
from .peers import bakenn_peer

TITLE = "Cortex-M4 modelled cycles and ms @ 120 MHz (ours vs bakenn; published X-CUBE-AI anchor)"
TARGET = "cortex-m4"
WORK = BUILD_DIR / "cortex_m_timing"
# MLPerf Tiny v1.3 closed division, NUCLEO-L4R5ZI (Cortex-M4 @ 120 MHz), STMicroelectronics
# X-CUBE-AI 10.2, median latency in ms (mlcommons/tiny_results_v1.3; shared/notes/anchors.md). The
# VWW figure is from the same v1.3 submission as listed in anchors.md's 2026-12-02 additions.
ANCHOR = {"source": "MLPerf Tiny v1.3 closed division, STM32 NUCLEO-L4R5ZI (Cortex-M4 @ 120 MHz), "
                    "X-CUBE-AI 10.2, median latency (mlcommons/tiny_results_v1.3)",
          "clock_mhz": 120, "ms": {"kws": 43.4, "vww": 89.4, "ic": 165.7, "ad": 4.79}}


def _time_ours(data: bytes, target, x, work: Path) -> dict:
    from pipeline.aot.compile.compiler import compile_model
    from pipeline.timing.firmware import time_model
    return time_model(compile_model(data), target, work / "ours", x)


def _time_bakenn(bk, target, sha256: str, macs: int, x, work: Path) -> dict:
    from pipeline.aot.device.firmware import board_for
    from pipeline.timing.firmware import time_firmware
    b = bakenn_peer.build_firmware(bk, target, sha256, macs, work / "bakenn")
    r = time_firmware(b.elf, board_for(target).qemu_machine, target.core, [x.tobytes()], target.timing)
    r["macs"] = macs
    r["mac_per_cycle"] = macs / r["cycles"] if r["cycles"] else None
    return r


def _slim(r: dict) -> dict:
    keep = ("instructions", "systick_instructions", "cycles", "cycles_with_flash", "ms", "ms_worst_case",
            "mac_per_cycle", "taken_branches", "pipelined_loads", "by_class", "flash", "op_cycles", "unit", "part")
    return {k: r[k] for k in keep if k in r}


def run(progress, names=None) -> dict:
    from pipeline.targets import load_all
    from pipeline.timing import microbench
    from pipeline.tflite import read_model

    from .cortex_m_suite import _model_input

    t0 = time.monotonic()
    target = load_all().get(TARGET)
    result: dict = {"target": TARGET, "part": target.timing.part, "clock_mhz": target.timing.clock_mhz,
                    "anchor": ANCHOR, "models": {}, "notes": []}
    rows = microbench.run(WORK / "microbench")
    result["validation"] = {"reference": "Cortex-M4 TRM table 3-1 applied by hand (no silicon here)",
                            "max_abs_error": max(abs(r["error"]) for r in rows),
                            "rows": [{k: r[k] for k in ("benchmark", "instructions", "cycles_modelled", "cycles_trm",
                                                        "error")} for r in rows]}
    try:
        bakenn_peer.ensure_venv(progress.log)
        have_bakenn = True
    except bakenn_peer.BakennUnavailable as err:
        have_bakenn = False
        result["notes"].append(f"bakenn unavailable: {err}")
    for name, path in mlperf_tiny.build_all(progress, names).items():
        data = Path(path).read_bytes()
        model = read_model(data)
        macs = mlperf_tiny.describe(path, name)["macs"]
        x = _model_input(name, model)
        work = WORK / f"{name}-{model.sha256[:12]}"
        entry: dict = {"macs": macs, "sha256": model.sha256, "anchor_ms": ANCHOR["ms"].get(name)}
        try:
            entry["ours"] = _slim(_time_ours(data, target, x, work))
        except Exception as err:  # noqa: BLE001 - one failing cell must not hide the others
            entry["ours"] = {"error": f"{type(err).__name__}: {err}"}
        if have_bakenn:
            try:
                bk = bakenn_peer.compile_model(Path(path), f"mlperf-{name}", progress.log)
                if isinstance(bk, bakenn_peer.BakennRejected):
                    entry["bakenn"] = {"error": f"bakenn rejects the model: {bk.error}"}
                else:
                    entry["bakenn"] = _slim(_time_bakenn(bk, target, model.sha256, macs, x, work))
            except Exception as err:  # noqa: BLE001
                entry["bakenn"] = {"error": f"{type(err).__name__}: {err}"}
        result["models"][name] = entry
        o, b = entry.get("ours", {}), entry.get("bakenn", {})
        progress.log(f"   {name}: ours {o.get('cycles', o.get('error'))} cycles ({_ms(o)} ms), "
                     f"bakenn {b.get('cycles', b.get('error', '-'))} cycles ({_ms(b)} ms), "
                     f"published X-CUBE-AI {entry['anchor_ms']} ms")
    result["wall_seconds"] = round(time.monotonic() - t0, 1)
    return result


def _ms(r: dict) -> str:
    return f"{r['ms']:.2f}" if isinstance(r.get("ms"), (int, float)) else "–"


def _n(v, fmt="{:,}") -> str:
    return fmt.format(v) if isinstance(v, (int, float)) else "–"


def markdown(result: dict) -> str:
    mhz = result.get("clock_mhz")
    lines = [f"Modelled, not measured: QEMU mps2-an386 runs the firmware; our plugin records every executed "
             f"instruction of one inference and the Cortex-M4 TRM table prices it (pipeline/timing/). ms at "
             f"{_n(mhz, '{:g}')} MHz ({result.get('part')}); flash wait states are a separate worst-case term "
             f"(ART accelerator: 0 in loops). The X-CUBE-AI row is published (source below), not run here.\n",
             f"| model | MACs | engine | instructions | cycles (modelled) | ms @ {_n(mhz, '{:g}')} MHz (modelled) "
             f"| ms if every branch missed flash | MAC/cycle | MAC/instruction |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    errors = []
    for name, e in result.get("models", {}).items():
        for who in ("ours", "bakenn"):
            r = e.get(who)
            if r is None:
                continue
            if "error" in r:
                errors.append(f"- {name}, {who}: `{r['error']}`")
                lines.append(f"| {name} | {_n(e.get('macs'))} | {who} | error | | | | | |")
                continue
            mpi = e["macs"] / r["instructions"] if r.get("instructions") else None
            lines.append(f"| {name} | {_n(e.get('macs'))} | {who} | {_n(r.get('instructions'))} | {_n(r.get('cycles'))} | "
                         f"{_ms(r)} | {_n(r.get('ms_worst_case'), '{:.2f}')} | {_n(r.get('mac_per_cycle'), '{:.3f}')} | "
                         f"{_n(mpi, '{:.3f}')} |")
        a = e.get("anchor_ms")
        if a is not None:
            cyc = a * 1000 * result["anchor"]["clock_mhz"]
            lines.append(f"| {name} | {_n(e.get('macs'))} | X-CUBE-AI 10.2 (published) | – | {_n(round(cyc))} (= ms × clock) | "
                         f"{a:g} | – | {_n(e['macs'] / cyc, '{:.3f}')} | – |")
    lines.append("")
    v = result.get("validation", {})
    if v:
        lines.append(f"Model validation ({v.get('reference')}): max |error| {v.get('max_abs_error', 0) * 100:.1f} % over "
                     f"{len(v.get('rows', []))} instruction-class loops (acceptance ≤ 10 %).\n")
        lines.append("| loop | instructions | modelled cycles | TRM cycles | error |")
        lines.append("|---|---:|---:|---:|---:|")
        for r in v.get("rows", []):
            lines.append(f"| {r['benchmark']} | {r['instructions']} | {r['cycles_modelled']:.0f} | {r['cycles_trm']} | "
                         f"{r['error'] * 100:+.1f} % |")
        lines.append("")
    lines.append(f"Anchor: {result.get('anchor', {}).get('source')}.")
    lines.extend(result.get("notes", []) and [f"- {n}" for n in result["notes"]])
    lines.extend(errors)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m benchmarks.cortex_m_timing [kws ...]
    import json
    import sys

    from pipeline.stages.progress import Progress
    res = run(Progress(), sys.argv[1:] or None)
    print(json.dumps(res, indent=1, default=str)[:4000])
    print(markdown(res))
