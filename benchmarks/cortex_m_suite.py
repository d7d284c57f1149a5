"""Cortex-M suite: our AOT engine vs bakenn on the same QEMU boards, in the same run, + TFLM arena.

Models: the four MLPerf Tiny reference architectures (benchmarks/mlperf_tiny.py) and the default
trained student of the pipeline (digits, cortex-m4 convert stage) when that stage builds.
Boards: QEMU mps2-an386 (Cortex-M4), mps2-an500 (Cortex-M7), mps3-an547 (Cortex-M55).

Per model and board, for each engine (ours: pipeline.aot; peer: bakenn, benchmarks/peers/):
- instructions per inference: SysTick under `-icount shift=0` (qemu_uart.py), same UART app,
  board support, flags and linker script for both engines;
- MAC per instruction, MACs counted from the graph (conv / depthwise / FC);
- peak RAM = the engine's arena (incl. its input/output buffers) + measured stack high-water;
  static RAM (.data + .bss) + stack used is reported too;
- flash = .vectors + .text + .ARM.exidx + .data of the ELF (`arm-none-eabi-size -A`);
- exact: the output of one inference equals the TFLite Micro host interpreter's, byte for byte.
Per model: the exact minimum TFLM arena (peers/tflm_arena.py: N constructs and invokes, N-1 does
not; crash-tolerant, the tflite_micro binding segfaults on some too-small arenas). Ratios ours/bakenn and ours/TFLM arena. Nothing here is a stored number: all is measured now.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline import atomic

from . import mlperf_tiny
from .common import BUILD_DIR, built_artifacts
from .peers import bakenn_peer, qemu_uart, tflm_arena

TITLE = "Cortex-M (QEMU M4/M7/M55): our AOT engine vs bakenn, TFLM arena"
BOARDS = (("cortex-m4", "mps2-an386"), ("cortex-m7", "mps2-an500"), ("cortex-m55", "mps3-an547"))
RUNS, WARMUP = 2, 1
WORK = BUILD_DIR / "cortex_m"
INPUT_SEED = 7

# Runs in a child process (a native crash must not kill the suite): model + input -> output.
_TFLM = r"""
import sys, numpy as np
from tflite_micro.python.tflite_micro import runtime
model, x_path, y_path, arena = sys.argv[1:5]
it = runtime.Interpreter.from_bytes(open(model, "rb").read(), arena_size=int(arena))
it.set_input(np.load(x_path), 0)
it.invoke()
np.save(y_path, it.get_output(0))
"""


def _tflm_output(model: Path, x: np.ndarray, arena: int) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        xp, yp = Path(tmp) / "x.npy", Path(tmp) / "y.npy"
        np.save(xp, x)
        res = subprocess.run([sys.executable, "-c", _TFLM, str(model), str(xp), str(yp), str(max(arena, 1024) * 2)],
                             capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"TFLM reference run failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
        return np.load(yp)


def _model_input(name: str, model) -> np.ndarray:
    """A realistic int8 input: the model family's float sampler quantized with the input's
    scale/zero point (students: uniform int8)."""
    t = model.tensor(model.inputs[0])
    name = name.removeprefix("mlperf-")
    if name in mlperf_tiny.MODELS and t.quantization is not None and t.quantization.scale.size:
        _, sampler = mlperf_tiny.MODELS[name]
        xf = sampler(np.random.default_rng(INPUT_SEED), t.shape)
        q = np.round(xf / float(t.quantization.scale[0])) + int(t.quantization.zero_point[0])
        return np.clip(q, -128, 127).astype(t.dtype)
    return qemu_uart.random_input(t.shape, t.dtype, INPUT_SEED)


def _models(progress) -> tuple[dict[str, Path], list[str]]:
    notes = []
    models = {f"mlperf-{k}": v for k, v in mlperf_tiny.build_all(progress).items()}
    try:
        conv = built_artifacts("cortex-m4", "digits", "convert", progress)["convert"]
        models["student-digits"] = Path(conv.path("model_int8.tflite"))
    except Exception as err:  # noqa: BLE001 - the student is optional here; say why it is missing
        notes.append(f"default student (digits, cortex-m4) skipped: {type(err).__name__}: {str(err)[:200]}")
    return models, notes


def _engine_row(build, meas: qemu_uart.Measurement, arena: int, macs: int, reference: bytes) -> dict:
    sec = build.sections
    static_ram = sec.get(".data", 0) + sec.get(".bss", 0)
    return {
        "instructions": round(meas.instructions_per_inference),
        "mac_per_instruction": round(macs / meas.instructions_per_inference, 4) if meas.instructions_per_inference else None,
        "arena_bytes": arena,
        "stack_used_bytes": meas.stack_used_bytes,
        "peak_ram_bytes": arena + meas.stack_used_bytes,
        "static_ram_plus_stack_bytes": static_ram + meas.stack_used_bytes,
        "flash_bytes": build.flash_bytes,
        "sections": sec,
        "exact_vs_tflm": (meas.output == reference) if reference is not None else None,
        "ticks": meas.ticks, "runs": meas.runs, "warmup": meas.warmup, "clock_hz": meas.clock_hz,
    }


def _measure_bakenn(bk, target, machine, sha256, macs, x, reference, work) -> dict:
    """bakenn on one board. On the M55 its CMSIS-NN compiles to the MVE paths, which can need
    more scratch than bakenn's cortex-m4 plan reserves: the shim's guard band turns that into a
    fault, recorded here, and the row is then measured with `-mcpu=cortex-m55+nomve` (bakenn's
    own DSP profile on the M55 core)."""
    arena = bk.arena_bytes + bk.input_bytes + bk.output_bytes
    try:
        b = bakenn_peer.build_firmware(bk, target, sha256, macs, work / "bakenn")
        m = qemu_uart.measure(machine, b.elf, x.tobytes(), RUNS, WARMUP)
        return {**_engine_row(b, m, arena, macs, reference), "cpu": "board default"}
    except Exception as err:  # noqa: BLE001 - one failing cell must not hide the others
        first = f"{type(err).__name__}: {err}"
    if machine != "mps3-an547" or "past its arena" not in first:
        return {"error": first}
    try:
        b = bakenn_peer.build_firmware(bk, target, sha256, macs, work / "bakenn-nomve", mcpu="cortex-m55+nomve")
        m = qemu_uart.measure(machine, b.elf, x.tobytes(), RUNS, WARMUP)
        return {**_engine_row(b, m, arena, macs, reference), "cpu": "cortex-m55+nomve",
                "mve_error": first}
    except Exception as err:  # noqa: BLE001
        return {"error": f"{first}; retried with +nomve: {type(err).__name__}: {err}"}


def _op_name(error: str) -> str | None:
    """bakenn names rejected builtins by number ('operator code 40'): the op's name, for humans."""
    import re

    from pipeline.tflite import BUILTIN_OPS
    m = re.search(r"operator code (\d+)", error)
    return BUILTIN_OPS[int(m.group(1))] if m and int(m.group(1)) < len(BUILTIN_OPS) else None


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def method(targets) -> dict:
    """How the figures were measured: the counter, runs, and the compiler flags of every board (its
    cflags derive from the target file's core and FPU)."""
    from pipeline.aot.device import firmware as fw
    return {"instructions": "SysTick ticks under qemu -icount shift=0 x 1e9/clock_hz / runs",
            "runs": RUNS, "warmup": WARMUP, "cflags": list(fw.COMMON_CFLAGS),
            "board_cflags": {b: list(fw.board_for(targets.get(t)).cflags) for t, b in BOARDS}}


def run(progress) -> dict:
    from pipeline.aot.device import firmware as fw
    from pipeline.aot.compile.compiler import compile_model
    from pipeline.targets import load_all
    from pipeline.tflite import read_model

    t_start = time.monotonic()
    targets = load_all()
    models, notes = _models(progress)
    try:
        py = bakenn_peer.ensure_venv(progress.log)
        peer = {"name": "bakenn", "version": bakenn_peer.version(py), "profile": bakenn_peer.PROFILE,
                "venv": str(bakenn_peer.VENV)}
    except bakenn_peer.BakennUnavailable as err:
        peer = {"name": "bakenn", "error": str(err)}
        notes.append(f"bakenn unavailable: {err}")
    result: dict = {"boards": {t: m for t, m in BOARDS}, "peer": peer, "notes": notes, "models": {},
                    "method": method(targets)}
    for name, path in models.items():
        progress.log(f"   {name}: {path.name}")
        data = Path(path).read_bytes()
        model = read_model(data)
        desc = mlperf_tiny.describe(path, name.removeprefix("mlperf-"))
        entry: dict = {"model": {k: v for k, v in desc.items() if k != "path"}, "sha256": model.sha256, "boards": {}}
        result["models"][name] = entry
        macs = desc["macs"]
        arena = tflm_arena.min_arena(Path(path))
        entry["tflm_arena_bytes"] = arena["arena"]
        entry["tflm_arena_search"] = {k: v for k, v in arena.items() if k != "arena"}
        x = _model_input(name, model)
        try:
            reference = _tflm_output(Path(path), x, entry["tflm_arena_bytes"] or (1 << 20)).tobytes()
        except Exception as err:  # noqa: BLE001
            reference = None
            entry["tflm_error"] = str(err)
        try:
            ours = compile_model(data)
            entry["ours_compile"] = {"arena_bytes": ours.arena_bytes, "macs": ours.macs}
        except Exception as err:  # noqa: BLE001
            ours = None
            entry["ours_error"] = f"{type(err).__name__}: {err}"
        bk = None
        if "error" not in peer:
            try:
                bk = bakenn_peer.compile_model(Path(path), name, progress.log)
            except bakenn_peer.BakennUnavailable as err:
                entry["bakenn_error"] = str(err)
            if isinstance(bk, bakenn_peer.BakennRejected):
                entry["bakenn_error"] = bk.error
                entry["bakenn_error_op"] = _op_name(bk.error)
                bk = None
            elif bk is not None:
                entry["bakenn_compile"] = {"arena_bytes": bk.arena_bytes, "io_bytes": bk.input_bytes + bk.output_bytes,
                                           "kernels": sorted(set(bk.kernels.values()))}
        for target_id, machine in BOARDS:
            target = targets.get(target_id)
            row: dict = {}
            work = WORK / f"{name}-{model.sha256[:12]}" / target_id
            if ours is not None:
                try:
                    b = fw.build_firmware(ours, target, work / "ours")
                    m = qemu_uart.measure(machine, b.elf, x.tobytes(), RUNS, WARMUP)
                    row["ours"] = _engine_row(b, m, ours.arena_bytes, macs, reference)
                except Exception as err:  # noqa: BLE001 - one failing cell must not hide the others
                    row["ours"] = {"error": f"{type(err).__name__}: {err}"}
            if bk is not None:
                row["bakenn"] = _measure_bakenn(bk, target, machine, model.sha256, macs, x, reference, work)
            o, p = row.get("ours", {}), row.get("bakenn", {})
            row["ratios"] = {
                "instructions_ours_vs_bakenn": _ratio(o.get("instructions"), p.get("instructions")),
                "peak_ram_ours_vs_bakenn": _ratio(o.get("peak_ram_bytes"), p.get("peak_ram_bytes")),
                "flash_ours_vs_bakenn": _ratio(o.get("flash_bytes"), p.get("flash_bytes")),
                "arena_ours_vs_tflm": _ratio(o.get("arena_bytes"), entry.get("tflm_arena_bytes")),
                "peak_ram_ours_vs_tflm_arena": _ratio(o.get("peak_ram_bytes"), entry.get("tflm_arena_bytes")),
                "arena_bakenn_vs_tflm": _ratio(p.get("arena_bytes"), entry.get("tflm_arena_bytes")),
            }
            entry["boards"][target_id] = row
            progress.log(f"     {target_id}: ours {o.get('instructions', o.get('error', '-'))} instr, "
                         f"bakenn {p.get('instructions', p.get('error', entry.get('bakenn_error', '-')))}")
    result["wall_seconds"] = round(time.monotonic() - t_start, 1)
    atomic.write_json(WORK / "last_result.json", result)
    return result


# --------------------------------------------------------------------------- markdown

# Targets set in issue #9 (goals to check the measurements against, not measurements).
GOAL_KWS_M4_MAC_PER_INSTR = 1.0
GOAL_RAM_VS_TFLM = 0.6


def _goals(result: dict) -> list[str]:
    rows = [(n, t, r) for n, e in result.get("models", {}).items() for t, r in e.get("boards", {}).items()]
    if not rows:
        return []
    both = [(n, t) for n, t, r in rows if "instructions" in r.get("ours", {}) and "instructions" in r.get("bakenn", {})]
    faster = [(n, t) for n, t, r in rows if (r.get("ratios", {}).get("instructions_ours_vs_bakenn") or 9) < 1]
    ram = [r.get("ratios", {}).get("peak_ram_ours_vs_tflm_arena") for _, _, r in rows]
    ram = [x for x in ram if x is not None]
    kws = result.get("models", {}).get("mlperf-kws", {}).get("boards", {}).get("cortex-m4", {}).get("ours", {})
    out = ["Goals (issue #9):", ""]
    out.append(f"- KWS DS-CNN on M4: {_num(kws.get('mac_per_instruction'), '{:.3f}')} MAC/instruction "
               f"(goal ≥ {GOAL_KWS_M4_MAC_PER_INSTR})")
    out.append(f"- fewer instructions than bakenn: {len(faster)} of {len(both)} model×board cells both engines ran"
               + (f" (not yet: {', '.join(f'{n}@{t}' for n, t in both if (n, t) not in faster)})"
                  if len(faster) < len(both) else ""))
    out.append(f"- peak RAM ≤ {GOAL_RAM_VS_TFLM}× TFLM arena: {sum(x <= GOAL_RAM_VS_TFLM for x in ram)} of {len(ram)} cells")
    return out + [""]

def _kb(n):
    return f"{n / 1024:.1f}" if isinstance(n, (int, float)) else "–"


def _num(n, fmt="{:,}"):
    return fmt.format(n) if isinstance(n, (int, float)) else "–"


def _cell(engine: dict, key: str, fmt) -> str:
    if not engine:
        return "–"
    if "error" in engine:
        return "error"
    return fmt(engine.get(key))


def _x(r):
    return f"{r:.2f}×" if isinstance(r, (int, float)) else "–"


def markdown(result: dict) -> str:
    lines = []
    peer = result.get("peer", {})
    lines.append(f"Peer: bakenn {peer.get('version', '?')} (profile `{peer.get('profile', '?')}`, CMSIS-NN kernels), "
                 "same board support, UART app, flags and linker script as ours. Instructions: SysTick under "
                 "QEMU `-icount shift=0` (instructions, not cycles). Peak RAM = arena (incl. I/O) + measured stack. "
                 "Exact = output byte-identical to the TFLite Micro host interpreter.\n")
    lines.append("| model | MACs | board | ours instr | bakenn instr | ours/bakenn | MAC/instr ours | MAC/instr bakenn "
                 "| peak RAM KB ours | bakenn | TFLM arena KB | ours RAM/TFLM | flash KB ours | bakenn | exact ours/bakenn |")
    lines.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    errors = []
    for name, e in result.get("models", {}).items():
        macs = e.get("model", {}).get("macs")
        if e.get("bakenn_error"):
            op = f" (that builtin is {e['bakenn_error_op']})" if e.get("bakenn_error_op") else ""
            errors.append(f"- **{name}**: bakenn cannot compile it: `{e['bakenn_error']}`{op}")
        if e.get("tflm_error") or (e.get("tflm_arena_search") or {}).get("error"):
            errors.append(f"- **{name}**: TFLite Micro: `{e.get('tflm_error') or e['tflm_arena_search']['error']}`")
        if e.get("ours_error"):
            errors.append(f"- **{name}**: our engine cannot compile it: `{e['ours_error']}`")
        for target_id, row in e.get("boards", {}).items():
            o, p, r = row.get("ours", {}), row.get("bakenn", {}), row.get("ratios", {})
            for who, eng in (("ours", o), ("bakenn", p)):
                if "error" in eng:
                    errors.append(f"- **{name}** on {target_id}, {who}: `{eng['error']}`")
            b_instr = _cell(p, "instructions", _num) if p else ("rejected" if e.get("bakenn_error") else "–")
            if p.get("mve_error"):
                b_instr += " †"
                errors.append(f"- † **{name}** on {target_id}: bakenn built for the board's full core (MVE) failed "
                              f"(`{p['mve_error']}`); measured with `-mcpu={p.get('cpu')}` (its DSP profile).")
            exact = "/".join("✓" if eng.get("exact_vs_tflm") else ("✗" if eng and "error" not in eng else "–")
                             for eng in (o, p))
            lines.append(
                f"| {name} | {_num(macs)} | {target_id} | {_cell(o, 'instructions', _num)} | {b_instr} | "
                f"{_x(r.get('instructions_ours_vs_bakenn'))} | {_cell(o, 'mac_per_instruction', lambda v: _num(v, '{:.3f}'))} | "
                f"{_cell(p, 'mac_per_instruction', lambda v: _num(v, '{:.3f}'))} | {_cell(o, 'peak_ram_bytes', _kb)} | "
                f"{_cell(p, 'peak_ram_bytes', _kb)} | {_kb(e.get('tflm_arena_bytes'))} | "
                f"{_x(r.get('peak_ram_ours_vs_tflm_arena'))} | {_cell(o, 'flash_bytes', _kb)} | {_cell(p, 'flash_bytes', _kb)} | {exact} |")
    lines.append("")
    models = result.get("models", {})
    if models:
        lines.append("| model | ops | params | .tflite KB | MACs (graph) | vs MLPerf Tiny anchor MACs | vs anchor size |")
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for name, e in models.items():
            m = e.get("model", {})
            lines.append(f"| {name} | {', '.join(m.get('ops', []))} | {_num(m.get('params'))} | {_kb(m.get('model_bytes'))} | "
                         f"{_num(m.get('macs'))} | {_x(m.get('macs_vs_anchor'))} | {_x(m.get('size_vs_anchor'))} |")
        lines.append("")
    lines.extend(_goals(result))
    notes = list(result.get("notes", [])) + errors
    if notes:
        lines.append("Notes:\n")
        lines.extend(n if n.startswith("- ") else f"- {n}" for n in notes)
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m benchmarks.cortex_m_suite: this suite alone, JSON to stdout
    from pipeline.stages.progress import Progress
    res = run(Progress())
    print(json.dumps(res, indent=1, default=str))
    print(markdown(res))
