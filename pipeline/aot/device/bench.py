"""The standard Cortex-M report for one model on one target: accuracy over a test set on the
device, agreement with the TFLM host interpreter, latency (median over the first 5 inputs),
memory (arena, stack, TFLM arena) and flash/RAM by section."""
from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np

from ...errors import PipelineError
from ..compile.compiler import compile_model
from ..tflm.reference import random_inputs, tflm_arena_bytes, tflm_run
from .runner import run_on_device, split_samples

LATENCY_INPUTS = 5  # MLPerf Tiny convention: the median over 5 inputs


def latency_of(run, macs: int) -> dict:
    """The report's latency: under QEMU the median instructions of the first LATENCY_INPUTS inputs
    (-icount: exact, but not cycles); on a board the median cycles of the DWT counter, and ms."""
    first = run.ticks[:LATENCY_INPUTS]
    latency = {"inputs": len(first)}
    if run.instructions is not None:
        instr = statistics.median(run.instructions[:LATENCY_INPUTS])
        latency.update(instructions_median=instr, per_input=list(run.instructions[:LATENCY_INPUTS]),
                       unit="instructions (QEMU -icount; not cycles, not ms)",
                       mac_per_instruction=macs / instr if instr else None)
    else:
        cycles = statistics.median(first)
        latency.update(cycles_median=cycles, per_input=list(first),
                       ms_median=cycles / run.identity["clock_hz"] * 1000.0,
                       mac_per_cycle=macs / cycles if cycles else None)
    return latency


def ops_of(run, steps) -> list[dict]:
    """Per operator: index, op, MACs and its instructions (QEMU) or cycles (a board)."""
    unit = "instructions" if run.instructions is not None else "cycles"
    per_op = run.op_instructions or run.op_ticks or {}
    return [{"index": s.index, "op": s.op, "macs": s.macs, unit: per_op.get(s.index)} for s in steps]


def benchmark(model: Path | bytes, target, work_dir: Path, x: np.ndarray | None = None,
              y: np.ndarray | None = None, device: str = "qemu", timeout: float = 120.0) -> dict:
    """x: a batch of inputs along axis 0 (None: 5 seeded random inputs); y: integer labels.
    Raises PipelineError/DeviceError (one line) on any failure: no partial report is returned."""
    data = model if isinstance(model, bytes) else Path(model).read_bytes()
    compiled = compile_model(data)
    m = compiled.model
    if x is None:
        samples = [random_inputs(m, seed) for seed in range(LATENCY_INPUTS)]
    else:
        samples = split_samples(compiled, np.asarray(x))
    run = run_on_device(compiled, target, samples, Path(work_dir), device=device, timeout=timeout,
                        profile=True)
    host = [tflm_run(m, data, xs) for xs in samples]
    same = same_bytes(host, run.outputs)
    if not all(same):
        _not_exact(host, run.outputs, same, _where(compiled, data, samples[same.index(False)], run, target,
                                                   device, timeout))
    latency = latency_of(run, compiled.macs)
    report = {
        "target": target.id, "device": device, "engine": "aot", "model_sha256": m.sha256,
        "board": run.identity["board"], "samples": len(samples),
        "bit_exact_with_tflm": sum(same) / len(same),
        "latency": latency, "macs": compiled.macs,
        "ops": ops_of(run, compiled.steps),
        "memory": {"arena_bytes": compiled.arena_bytes, "stack_used_bytes": run.memory["stack_used"],
                   "peak_ram_bytes": compiled.arena_bytes + run.memory["stack_used"],
                   "tflm_arena_bytes": tflm_arena_bytes(data),
                   "flash_bytes": run.firmware.flash_bytes, "ram_bytes": run.firmware.ram_bytes,
                   "sections": run.firmware.sections},
    }
    if y is not None:
        report["accuracy"] = accuracy(run.outputs, host, y)
    return report


def same_bytes(host: list, device: list) -> list[bool]:
    """Per input: every output of the device byte-identical to the host interpreter's."""
    return [all(np.asarray(h, dtype=d.dtype).tobytes() == d.tobytes() for h, d in zip(hs, ds))
            for hs, ds in zip(host, device)]


def accuracy(device: list, host: list, y) -> dict:
    """Top-1 on the device and with the TFLM host interpreter, against labels y."""
    labels = np.asarray(y).reshape(-1)
    dev_pred = [int(np.argmax(o[0])) for o in device]
    host_pred = [int(np.argmax(np.asarray(h[0]))) for h in host]
    return {"device": float(np.mean(np.array(dev_pred) == labels)),
            "tflm_host": float(np.mean(np.array(host_pred) == labels))}


def _where(compiled, data: bytes, xs, run, target, device: str, timeout: float) -> str:
    """The first differing operator on the device, from the firmware's per-operator trace."""
    from .divergence import first_differing_operator
    from .runner import open_device
    with open_device(run.firmware, target, device, timeout) as dev:
        return first_differing_operator(compiled, data, xs, dev)


def _not_exact(host: list, device: list, same: list[bool], where: str) -> None:
    """The firmware is bit-exact with TFLite Micro or the build fails: a fraction below 1.0 is never
    reported as a result. One line: the first differing input, its first differing operator and
    how many bytes differ."""
    k = same.index(False)
    got = b"".join(d.tobytes() for d in device[k])
    want = b"".join(np.asarray(h, dtype=d.dtype).tobytes() for h, d in zip(host[k], device[k]))
    differ = sum(a != b for a, b in zip(got, want))
    raise PipelineError(f"the firmware's output differs from TFLite Micro on test input {k} ({differ} of {len(want)} "
                        f"output bytes; {same.count(False)} of {len(same)} inputs differ; {where}): the build is "
                        f"not exact, please report this model")
