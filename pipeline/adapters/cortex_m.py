"""Adapter for target kind 'cortex-m': Cortex-M microcontrollers (AOT engine firmware, QEMU)."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np

from .. import atomic
from ..errors import NotImplementedYet, PipelineError
from ..opsets import CORTEX_M_OPS, TFLM_OPS

KIND = "cortex-m"
RUNTIME = "AOT engine (Cortex-M kernels)"
OPS = CORTEX_M_OPS
# What each engine runs: ours, the op table's ops; TFLite Micro, every builtin it registers.
ENGINE_OPS = {"aot": CORTEX_M_OPS, "tflm": TFLM_OPS}
ENGINE_RUNTIMES = {"aot": RUNTIME, "tflm": "TFLite Micro"}
VERIFY_REFERENCE = "int8_tflm"      # the firmware is bit-exact with TFLite Micro
ARENA_RAM = True
ISSUE = 6


ENGINES = ("aot", "tflm")
_TFLM_NOT_HERE = ("engine 'tflm': TFLM firmware cannot be compiled here without TFLite Micro's C++ sources, so it "
                  "cannot be {what}; pass --tflm-src PATH (or set PIPELINE_TFLM_SRC) to a tflite-micro checkout, "
                  "or `pipeline build --engine tflm --tflm-dir DIR` exports the TFLM project to build elsewhere")


def _engine(options: dict) -> str:
    engine = (options or {}).get("engine") or "aot"
    if engine not in ENGINES:
        raise PipelineError(f"unknown Cortex-M engine '{engine}' (allowed: {', '.join(ENGINES)})")
    return engine


def _aot_only(options: dict, what: str) -> None:
    """bench / run / flash execute firmware: the TFLM engine's only with a tflite-micro checkout."""
    if _engine(options) == "tflm":
        from ..aot.tflm.export import tflm_src_from
        if tflm_src_from(options) is None:
            raise NotImplementedYet(_TFLM_NOT_HERE.format(what=what))


def _find_model(inputs) -> Path:
    # The convert stage's int8 model (also for --model: convert adopts or converts the user's file).
    if "convert" in (inputs or {}):
        return inputs["convert"].path("model_int8.tflite")
    for art in (inputs or {}).values():
        for f in art.files():
            if f.suffix == ".tflite":
                return f
    raise PipelineError("no .tflite model among the inputs of the cortex-m package step")


def package(ctx, inputs):
    """AOT: firmware ELF + generated sources + sizes into ctx.out_dir (budget-checked at link time).
    TFLM (options engine="tflm"): the exported TFLM project into ctx.out_dir/tflm and, when
    options["tflm_dir"] is set, into that directory too (each written atomically)."""
    engine = _engine(ctx.options)
    model = _find_model(inputs)
    data = Path(model).read_bytes()
    if engine == "tflm":
        return _package_tflm(ctx, data)
    from ..aot.compile.compiler import compile_model
    from ..aot.device.firmware import build_firmware
    from ..aot.compile.host import prove_host_equality
    compiled = compile_model(data)
    # Proof of equality on every build: generated C on the host == tflite_micro, op by op.
    proof = prove_host_equality(compiled, data, ctx.out_dir / "host-proof")
    build = build_firmware(compiled, ctx.target, ctx.out_dir / "firmware")
    return ctx.artifact({"engine": "aot", **compiled.summary(), **build.report(), **proof,
                         "elf": str(build.elf.relative_to(ctx.out_dir))})


def _package_tflm(ctx, data: bytes):
    from ..aot.tflm.export import export
    project = export(data, ctx.target, ctx.out_dir / "tflm")
    meta = {**project.summary(), "project": "tflm"}
    dest = (ctx.options or {}).get("tflm_dir")
    if dest:  # the same project again (the arena search is not repeated)
        export(data, ctx.target, Path(dest), host_min=project.arena.host_min)
        meta["tflm_dir"] = str(Path(dest).resolve())
    return ctx.artifact(meta)


def _find_test_set(inputs, options) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The data stage's test split (channels-first, normalised; moved to the model's channels-last
    layout here and quantized by the runner), else `test.npz` (arrays x, y) or options["test_data"]."""
    path = (options or {}).get("test_data")
    if path is None and "data" in (inputs or {}):
        with np.load(inputs["data"].path("dataset.npz"), allow_pickle=False) as z:
            x = z["x_test"]
            conv = inputs.get("convert")
            if conv is None or not conv.meta.get("channels_last"):  # Keras/TFLite samples go in as they are
                x = np.moveaxis(x, 1, -1)
            return x, z["y_test"]
    if path is None:
        for art in (inputs or {}).values():
            cand = [f for f in art.files() if f.name == "test.npz"]
            if cand:
                path = cand[0]
                break
    if path is None:
        return None, None
    with np.load(path, allow_pickle=False) as z:
        if "x" not in z.files:
            raise PipelineError(f"{path}: expected arrays 'x' (and 'y'), found {', '.join(z.files)}")
        return z["x"], (z["y"] if "y" in z.files else None)


def bench(ctx, inputs):
    """bench.json: on-device accuracy (when a test set is available), agreement with TFLM,
    latency (median of 5), memory and flash by section. Any failure raises: no partial report."""
    from ..aot.device.bench import benchmark
    _aot_only(ctx.options, "benchmarked on a device")
    if _engine(ctx.options) == "tflm":
        return _bench_tflm(ctx, inputs)
    model = _find_model(inputs)
    x, y = _find_test_set(inputs, ctx.options)
    if x is not None:
        from ..tflite import read_model

        spec = read_model(Path(model)).tensors[read_model(Path(model)).inputs[0]]
        x = x.reshape((len(x), *spec.shape[1:]))  # [N, L, C] signals -> the model's [N, 1, L, C] etc.
    device = ctx.options.get("device") or ctx.target.default_device
    with ctx.progress.status(f"benchmarking on {ctx.target.id} ({device}), {0 if x is None else len(x)} test vectors"):
        raw = benchmark(Path(model), ctx.target, ctx.out_dir / "work", x=x, y=y, device=device)
    if device in ("qemu", "emulator") and ctx.target.timing is not None:
        _add_modelled(raw, Path(model), ctx, x)
    atomic.write_json(ctx.out_dir / "aot-bench.json", raw)
    report = standard_report(raw, ctx.target, Path(model))
    atomic.write_json(ctx.out_dir / "bench.json", report)
    return ctx.artifact(report)


def _add_modelled(raw: dict, model: Path, ctx, x) -> None:
    """Modelled cycles and ms at the target's [timing] clock (pipeline/timing/) beside the measured
    instructions, and per operator in the op table."""
    from ..timing.report import modelled_latency
    with ctx.progress.status(f"modelling {ctx.target.core} cycles from the executed instructions"):
        block, op_cycles, missing = modelled_latency(model, ctx.target, ctx.out_dir / "work" / "timing", x)
    if block is None:
        raw["latency"]["modelled_missing"] = missing
        return
    raw["latency"]["modelled"] = block
    for op in raw["ops"]:
        op["cycles_modelled"] = op_cycles.get(op["index"])


def _tflm_firmware(data: bytes, target, work: Path, options: dict):
    """Export the TFLM project into work/ and build it against the user's checkout."""
    from ..aot.tflm.export import build_project, export, tflm_src_from
    src = tflm_src_from(options)
    project = export(data, target, Path(work) / "tflm")
    kernels = options.get("tflm_kernels") or "cmsis_nn"
    build = build_project(Path(work) / "tflm", src, kernels=kernels)
    return project, build, src, kernels


def _git_commit(src: Path) -> str:
    import subprocess
    try:
        res = subprocess.run(["git", "-C", str(src), "rev-parse", "--short=10", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "checkout"
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else "checkout"


def _bench_tflm(ctx, inputs):
    """The same measurements as the AOT bench, on the TFLM firmware built from --tflm-src."""
    from ..aot.device.bench import LATENCY_INPUTS
    from ..aot.compile.compiler import compile_model
    from ..aot.tflm.reference import random_inputs
    from ..aot.device.runner import run_on_device, split_samples
    model = _find_model(inputs)
    data = Path(model).read_bytes()
    x, y = _find_test_set(inputs, ctx.options)
    compiled = compile_model(data)          # host-side model facts (shapes, MACs); not what runs
    m = compiled.model
    if x is not None:
        spec = m.tensors[m.inputs[0]]
        x = x.reshape((len(x), *spec.shape[1:]))
        samples = split_samples(compiled, np.asarray(x))
    else:
        samples = [random_inputs(m, seed) for seed in range(LATENCY_INPUTS)]
    device = ctx.options.get("device") or ctx.target.default_device
    work = ctx.out_dir / "work"
    with ctx.progress.status(f"building the TFLite Micro firmware for {ctx.target.id}"):
        project, build, src, kernels = _tflm_firmware(data, ctx.target, work, ctx.options)
    with ctx.progress.status(f"benchmarking TFLite Micro on {ctx.target.id} ({device}), {len(samples)} inputs"):
        run = run_on_device(compiled, ctx.target, samples, work, device=device, build=build, profile=True,
                            timeout=float(ctx.options.get("timeout", 120)))
    raw = tflm_raw_report(run, compiled, samples, data, ctx.target, device, project, kernels, _git_commit(src), y)
    atomic.write_json(ctx.out_dir / "tflm-bench.json", raw)
    report = standard_report(raw, ctx.target, Path(model))
    atomic.write_json(ctx.out_dir / "bench.json", report)
    return ctx.artifact(report)


def tflm_raw_report(run, compiled, samples, data, target, device, project, kernels, version, y=None) -> dict:
    """The AOT bench's raw fields for a TFLM run; memory.arena_bytes is what TFLM used on the device."""
    from ..aot.device.bench import accuracy, latency_of, ops_of, same_bytes
    from ..aot.tflm.reference import tflm_run
    m = compiled.model
    host = [tflm_run(m, data, xs) for xs in samples]
    same = same_bytes(host, run.outputs)
    latency = latency_of(run, compiled.macs)
    used = int(run.memory["arena"])
    report = {
        "target": target.id, "device": device, "engine": "tflm", "kernels": kernels,
        "tflm_version": version, "model_sha256": m.sha256, "board": run.identity["board"],
        "samples": len(samples), "bit_exact_with_tflm": sum(same) / len(same),
        "latency": latency, "macs": compiled.macs,
        "ops": ops_of(run, compiled.steps),
        "memory": {"arena_bytes": used, "arena_allocated_bytes": project.arena.total,
                   "arena_basis": project.arena.basis_name, "arena_basis_bytes": project.arena.basis,
                   "tflm_host_min_arena_bytes": project.arena.host_min, "pointer_bytes": 4,
                   "stack_used_bytes": run.memory["stack_used"], "peak_ram_bytes": used + run.memory["stack_used"],
                   "tflm_arena_bytes": used,
                   "flash_bytes": run.firmware.flash_bytes, "ram_bytes": run.firmware.ram_bytes,
                   "sections": run.firmware.sections},
    }
    if y is not None:
        report["accuracy"] = accuracy(run.outputs, host, y)
    return report


def standard_report(raw: dict, target, model: Path) -> dict:
    """The engine's measurements in the report schema's sections (device, runtime, latency, ...)."""
    import statistics

    emulated = "instructions_median" in raw["latency"]
    lat = raw["latency"]
    per_input = [float(v) for v in lat.get("per_input", [])]
    median = lat["instructions_median"] if emulated else lat["cycles_median"]
    values = per_input or [median]
    latency = {
        "unit": "instructions" if emulated else "cycles", "warmup": 0, "runs": len(values),
        "inputs": lat["inputs"], "median": float(median), "min": float(min(values)), "max": float(max(values)),
        "mean": float(statistics.fmean(values)), "p90": float(sorted(values)[int(0.9 * (len(values) - 1))]),
        "std": float(statistics.pstdev(values)),
        # QEMU -icount counts are deterministic: comparable between builds on the same emulated board,
        # never with cycles or milliseconds on hardware.
        "comparable": not emulated,
        "note": ("instructions per inference under QEMU -icount (not cycles, not ms); deterministic"
                 if emulated else _cycles_note(lat, target)),
    }
    if "modelled" in lat:
        latency["modelled"] = lat["modelled"]
    mem = raw["memory"]
    report = {
        "device": {"kind": "emulated" if emulated else "physical",
                   "name": f"{raw['board']}" + (f" [emulated: qemu-system {target.emulator.machine}]"
                                                 if emulated and target.emulator else ""),
                   "arch": target.arch, "transport": "qemu-system" if emulated else "serial"},
        "runtime": ({"name": "tflite-micro", "version": str(raw.get("tflm_version") or "checkout"),
                     "engine": "cmsis-nn" if raw.get("kernels") == "cmsis_nn" else "reference", "threads": 1}
                    if raw.get("engine") == "tflm" else {"name": "aot", "version": "1", "engine": "aot", "threads": 1}),
        "latency": latency,
        "throughput": {"macs_per_unit": float(raw["macs"] / median) if median else 0.0},
        "memory": {"arena_bytes": mem["arena_bytes"], "tflm_arena_bytes": mem["tflm_arena_bytes"],
                   "stack_bytes": mem["stack_used_bytes"], "peak_ram_bytes": mem["peak_ram_bytes"],
                   "flash_bytes": mem["flash_bytes"],
                   "sections": {k: int(v) for k, v in mem["sections"].items()}},
        "model": {"sha256": raw["model_sha256"], "bytes": model.stat().st_size, "macs": int(raw["macs"]),
                  "quantization": "int8"},
    }
    if "accuracy" in raw:
        report["accuracy"] = {"metric": "top1", "value": raw["accuracy"]["device"], "n": raw["samples"],
                              "agreement": {"tflm": raw["bit_exact_with_tflm"]}}
    return report


def _cycles_note(lat: dict, target) -> str:
    """DWT core cycles; ms at the clock the board reported in `id` (the clock it really runs at,
    e.g. the NUCLEO-F746ZG firmware stays on the 16 MHz HSI, not the TOML's 216 MHz PLL clock)."""
    ms = float(lat.get("ms_median") or 0.0)
    mhz = lat["cycles_median"] / ms / 1000.0 if ms else float(target.clock_mhz)
    note = f"DWT cycles at the board's {mhz:g} MHz = {ms:.3f} ms"
    if abs(mhz - float(target.clock_mhz)) > 0.5:
        note += (f"; at the target's {target.clock_mhz:g} MHz that would be "
                 f"{lat['cycles_median'] / (float(target.clock_mhz) * 1000.0):.3f} ms if cycles stayed equal "
                 "(flash wait states change them)")
    return note


def _load_inputs(path: Path) -> np.ndarray:
    try:
        x = np.load(Path(path), allow_pickle=False)
    except (OSError, ValueError) as err:
        raise PipelineError(f"cannot read inputs {path}: {err}") from None
    if isinstance(x, np.lib.npyio.NpzFile):
        if len(x.files) != 1:
            raise PipelineError(f"{path}: expected one array, found {len(x.files)} ({', '.join(x.files)})")
        x = x[x.files[0]]
    return x


def _save(path: Path, arrays: list[np.ndarray]) -> None:
    buf = io.BytesIO()
    if path.suffix == ".npz":
        np.savez(buf, *arrays)
    elif len(arrays) == 1:
        np.save(buf, arrays[0])
    else:
        raise PipelineError(f"the model has {len(arrays)} outputs: use an .npz file for --outputs")
    atomic.write_bytes(path, buf.getvalue())


def run_model(target, model, inputs, outputs, device, options):
    """Raw inference of any supported int8 model on the target (QEMU by default).

    Inputs: one .npy shaped like the model input, or a batch of them along axis 0 (float data
    is quantized with the input's scale/zero point). Outputs: the model's raw outputs (int8),
    batched along axis 0 when the inputs were; .npz when the model has several outputs.
    """
    from ..aot.compile.compiler import compile_model
    from ..aot.device.runner import run_on_device, split_samples
    options = options or {}
    _aot_only(options, "run on a device")
    device = device or target.default_device
    from ..aot.device.pyocd_flash import is_pyocd, parse_device
    if is_pyocd(device):
        parse_device(device)
        if target.board is None:
            raise PipelineError(f"target '{target.id}' is not a real board (no [board] table with a pyocd_target); "
                                f"use --device qemu or a board target such as nucleo-f746zg")
    compiled = compile_model(Path(model))
    x = _load_inputs(inputs)
    samples = split_samples(compiled, x)
    work = options.get("work_dir")
    with tempfile.TemporaryDirectory(prefix="pipeline-cm-") as tmp:
        build = None
        if _engine(options) == "tflm":
            _, build, _, _ = _tflm_firmware(Path(model).read_bytes(), target, Path(work or tmp), options)
        run = run_on_device(compiled, target, samples, Path(work or tmp), device=device,
                            timeout=float(options.get("timeout", 60)), build=build)
    single = x.shape == tuple(compiled.model.tensors[compiled.model.inputs[0]].shape)
    per_output = []
    for k in range(len(compiled.model.outputs)):
        ys = [o[k] for o in run.outputs]
        per_output.append(ys[0] if single else np.stack([y.reshape(y.shape[1:]) if y.shape[:1] == (1,) else y
                                                          for y in ys]))
    _save(Path(outputs), per_output)
    info = {"samples": len(samples), "instructions": run.instructions, "memory": run.memory,
            "sections": run.firmware.sections, "flash_bytes": run.firmware.flash_bytes,
            "arena_bytes": compiled.arena_bytes,
            "peak_ram_bytes": compiled.arena_bytes + run.memory.get("stack_used", 0)}
    if options.get("tflm_arena", True):
        from ..aot.tflm.reference import tflm_arena_bytes
        info["tflm_arena_bytes"] = tflm_arena_bytes(Path(model).read_bytes())
    return info


def flash(target, firmware, device, options):
    """QEMU: boot the ELF and check it answers `id`. pyOCD[://UID]: `pyocd flash --target
    <board.pyocd_target> [--uid UID] ELF`, then open the board's serial port and ask `id`."""
    from ..aot.device.protocol import Device, QemuLink, SerialLink
    from ..aot.device.firmware import board_for
    from ..aot.device import pyocd_flash
    options = options or {}
    _aot_only(options, "flashed")
    device = device or target.default_device
    timeout = float(options.get("timeout", 30))
    if firmware is None or not Path(firmware).exists():
        raise PipelineError(f"firmware ELF not found: {firmware} (build it with `pipeline build --target {target.id}`)")
    if pyocd_flash.is_pyocd(device):
        uid = pyocd_flash.parse_device(device)
        cmd = pyocd_flash.flash(target, Path(firmware), uid)
        port = pyocd_flash.find_serial_port(target, uid)
        link = SerialLink(port, target.board.serial_baud)
        link.write(b"\n")
        dev = Device(link, timeout=timeout, expect_ready=False)
        try:
            return {**dev.identify().__dict__, "port": port, "flash_command": cmd}
        finally:
            dev.quit()
    if device not in ("qemu", "emulator"):
        raise PipelineError(f"device '{device}' cannot flash Cortex-M firmware (use qemu or pyocd[://UID])")
    dev = Device(QemuLink(Path(firmware), board_for(target).qemu_machine), timeout=timeout)
    try:
        return dev.identify().__dict__
    finally:
        dev.quit()
