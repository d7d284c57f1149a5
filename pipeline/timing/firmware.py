"""Modelled cycles of one inference of a firmware built around firmware/app/main.c (ours, or a peer
behind the same aot_model.h API), under QEMU with the instruction-profile plugin.

One session: `id`, the input (`in`), `infer 1 0` (exactly one inference, in `run_once`), `quit` (a
clean exit, so the plugin writes its counts). The plugin's count of the region is checked against
the firmware's own SysTick count of the same inference (instructions = ticks x 1e9 / clock_hz under
-icount shift=0), so a region that missed or added code cannot pass silently."""
from __future__ import annotations

import re
from pathlib import Path

from ..aot.device.protocol import input_lines
from ..errors import PipelineError
from . import model, profile

TIMED = "run_once"        # firmware/app/main.c: one inference, noipa
MARK = "aot_prof_mark"    # called after every operator by our generated code (aot_prof.h)
# SysTick brackets run_once with two timer_ticks() reads (firmware/app/main.c, cmd_infer): the
# timed window holds the call, part of both reads and the loop around it, so SysTick sees a few
# dozen instructions the region does not; SysTick's resolution is one tick (40 instructions at the
# 25 MHz MPS2 clock, 31.25 at 32 MHz), either way (645,680 by SysTick vs 645,682 counted, measured).
SYSTICK_SLACK = 200
TICK_INSTRUCTIONS = 40


def time_firmware(elf: Path, machine: str, core: str, inputs: list[bytes], timing=None,
                  step_indices: list[int] | None = None, timeout_s: float = 300.0) -> dict:
    """`timing`: the target's [timing] table (clock, flash) or None; `step_indices`: the operator
    index of each AOT_TRACE call in execution order (our compiled steps) for per-operator cycles."""
    lines = ["id"]
    for k, data in enumerate(inputs):
        lines += input_lines(k, data)
    lines += ["infer 1 0", "quit"]
    prof, dis, out = profile.run_profiled(Path(elf), machine, lines, TIMED, MARK, timeout_s)
    errs = re.findall(r"^ERR .*$", out, re.M)
    if errs:
        raise PipelineError(f"the firmware answered {errs[0]!r} while being profiled")
    m = re.search(r"^OK infer n=1 w=0 ticks=(\d+)$", out, re.M)
    idm = re.search(r"clock_hz=(\d+)", out)
    if not (m and idm) or prof.regions != 1:
        raise PipelineError(f"unexpected firmware dialogue while profiling (regions {prof.regions}): {out[-200:]!r}")
    systick_instructions = round(int(m.group(1)) * 1e9 / int(idm.group(1)))
    t = model.cycles(prof, dis, core)
    if not -TICK_INSTRUCTIONS <= systick_instructions - t.instructions <= SYSTICK_SLACK:
        raise PipelineError(f"the plugin counted {t.instructions} instructions in {TIMED} but SysTick saw "
                            f"{systick_instructions}: the timed region and the profile disagree")
    res = {"unit": "cycles (modelled)", "core": core, "model_source": t.source,
           "instructions": t.instructions, "systick_instructions": systick_instructions,
           "cycles": round(t.cycles), "taken_branches": t.taken_branches, "pipelined_loads": t.pipelined_loads,
           "by_class": {c: {"instructions": int(d["instructions"]), "cycles": round(d["cycles"])}
                        for c, d in sorted(t.by_class.items(), key=lambda kv: -kv[1]["cycles"])},
           "cycles_per_instruction": t.cycles / t.instructions if t.instructions else None}
    if timing is not None:
        flash = model.Flash(timing.flash_wait_states, timing.flash_cache)
        total = t.cycles + flash.cycles(t)
        res.update(clock_mhz=timing.clock_mhz, part=timing.part,
                   flash={"wait_states": timing.flash_wait_states, "cache": timing.flash_cache,
                          "cycles": flash.cycles(t), "worst_case_cycles": flash.worst_case(t),
                          "note": "each taken branch refetches from flash; sequential fetches are prefetched"
                                  + ("; loops hit the cache, worst case = no cache" if timing.flash_cache else "")},
                   cycles_with_flash=round(total), ms=total / (timing.clock_mhz * 1000.0),
                   ms_worst_case=(t.cycles + flash.worst_case(t)) / (timing.clock_mhz * 1000.0))
    if step_indices is not None:
        segs = sorted(t.by_segment)
        # Segment 0 runs from run_once's entry to the first mark (operator 0 and its preamble); the
        # segment after the last mark is the return path, charged to the last operator.
        if segs and max(segs) <= len(step_indices):
            per_op = {idx: 0.0 for idx in step_indices}
            for s, c in t.by_segment.items():
                per_op[step_indices[min(s, len(step_indices) - 1)]] += c
            res["op_cycles"] = {k: round(v) for k, v in per_op.items()}
    return res


def time_model(compiled, target, work_dir: Path, x, build=None) -> dict:
    """Our engine: the firmware of `compiled` for `target` (built unless `build` is given), timed on
    input x (a numpy array of the model input's dtype and shape)."""
    import numpy as np

    from ..aot.device.firmware import board_for, build_firmware
    b = build or build_firmware(compiled, target, Path(work_dir))
    machine = board_for(target).qemu_machine
    res = time_firmware(b.elf, machine, target.core, [np.ascontiguousarray(x).tobytes()], target.timing,
                        [s.index for s in compiled.steps])
    macs = compiled.macs
    res["macs"] = macs
    res["mac_per_cycle"] = macs / res["cycles"] if res["cycles"] else None
    return res
