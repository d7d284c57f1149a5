"""The modelled latency block of a Cortex-M report (report schema: latency.modelled) and the
per-operator modelled cycles of aot-bench.json's op table."""
from __future__ import annotations

from pathlib import Path

from ..errors import PipelineError


def modelled_latency(model: Path, target, work_dir: Path, x=None) -> tuple[dict | None, dict[int, int], str | None]:
    """(latency.modelled, {op index: cycles}, why it is missing). The input is the first of the
    benchmark's latency inputs (seeded random input 0, or the first test vector), so the modelled
    figure describes one of the inferences the measured median is over. Only a plugin that cannot be
    built (no network on first setup) makes it missing; any other failure raises."""
    from ..aot.compile.compiler import compile_model
    from ..aot.tflm.reference import random_inputs
    from ..aot.device.runner import split_samples
    from .firmware import time_model
    from .plugin import plugin_path
    try:
        plugin_path()
    except PipelineError as err:
        return None, {}, f"modelled cycles unavailable: {err}"
    compiled = compile_model(Path(model).read_bytes())
    xs = random_inputs(compiled.model, 0) if x is None else split_samples(compiled, x)[0]
    r = time_model(compiled, target, Path(work_dir), xs[0])
    block = {"unit": "cycles (modelled)", "cycles": float(r["cycles"]), "ms": float(r["ms"]),
             "clock_mhz": float(r["clock_mhz"]), "part": r["part"], "model": r["model_source"],
             "instructions": int(r["instructions"]),
             "flash_wait_states": int(r["flash"]["wait_states"]), "flash_worst_case_ms": float(r["ms_worst_case"]),
             "note": (f"modelled, not measured: QEMU's executed instructions of one inference priced with the "
                      f"{target.core} table ({r['model_source']}); ms at the {r['part']} clock; flash "
                      f"{r['flash']['wait_states']} wait states " + ("behind a cache (0 in loops; worst case beside)"
                                                                      if r["flash"]["cache"] else "on every taken branch"))}
    if r.get("mac_per_cycle") is not None:
        block["mac_per_cycle"] = float(r["mac_per_cycle"])
    return block, {int(k): int(v) for k, v in r.get("op_cycles", {}).items()}, None
