"""`--device adb[://SERIAL]`: latency from the official benchmark_model, accuracy from the app's
instrumentation test, both on the phone; raw inference for `pipeline run` through RawRunTest.

benchmark_model is never downloaded: the user points at the Android arm64 binary from the LiteRT
docs with the `benchmark_model` option or PIPELINE_BENCHMARK_MODEL.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..atomic import atomic_path, sha256_file, write_bytes
from ..convert.describe import describe_tflite
from ..errors import DeviceError, PipelineError
from . import benchmark
from .adb import Adb
from .project import REPORT_FILE, VERSIONS

ENV_BENCHMARK_MODEL = "PIPELINE_BENCHMARK_MODEL"
REMOTE_DIR = "/data/local/tmp/pipeline"
RUNNER = "androidx.test.runner.AndroidJUnitRunner"
DOCS = "https://ai.google.dev/edge/litert/models/measurement"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def benchmark_model_path(options: dict) -> Path:
    given = options.get("benchmark_model") or os.environ.get(ENV_BENCHMARK_MODEL)
    if not given:
        raise PipelineError(
            "benchmark_model not given: download the official Android arm64 benchmark_model binary "
            f"(see {DOCS}) and set {ENV_BENCHMARK_MODEL}=/path/to/benchmark_model; the pipeline never downloads it")
    path = Path(given).expanduser()
    if not path.is_file():
        raise PipelineError(f"benchmark_model '{path}' not found: point {ENV_BENCHMARK_MODEL} (or the "
                            f"benchmark_model option) at the downloaded Android arm64 binary ({DOCS})")
    return path


def benchmark_args(remote_bin: str, remote_model: str, threads: int, warmup: int, runs: int) -> list[str]:
    """benchmark_model flags; the *_min_secs=0 make the counts exact instead of 'at least 0.5 s'."""
    return [remote_bin, f"--graph={remote_model}", f"--num_threads={threads}", f"--warmup_runs={warmup}",
            "--warmup_min_secs=0", f"--num_runs={runs}", "--min_secs=0", "--use_xnnpack=true",
            "--report_peak_memory_footprint=true"]


def device_section(adb: Adb) -> dict:
    maker, model = adb.getprop("ro.product.manufacturer"), adb.getprop("ro.product.model")
    release = adb.getprop("ro.build.version.release")
    name = " ".join(p for p in (maker, model) if p) or (adb.entry.model if adb.entry else "") or adb.serial
    if release:
        name += f" (Android {release})"
    return {"kind": "physical", "name": name, "arch": adb.getprop("ro.product.cpu.abi") or "arm64-v8a",
            "transport": "adb"}


def run_benchmark(adb: Adb, model: Path, binary: Path, *, threads: int, warmup: int, runs: int, repeats: int,
                  timeout_s: float) -> tuple[list[dict], list[str]]:
    """Push binary + model, run benchmark_model `repeats` times; (parsed runs, raw outputs)."""
    remote_bin, remote_model = f"{REMOTE_DIR}/benchmark_model", f"{REMOTE_DIR}/{model.name}"
    adb.shell("mkdir", "-p", REMOTE_DIR)
    adb.push(binary, remote_bin)
    adb.shell("chmod", "755", remote_bin)
    adb.push(model, remote_model)
    parsed, raw = [], []
    for _ in range(repeats):
        out = adb.shell(*benchmark_args(remote_bin, remote_model, threads, warmup, runs), timeout_s=timeout_s)
        raw.append(out)
        parsed.append(benchmark.parse(out))
    return parsed, raw


def instrument_args(package: str, test_class: str, extras: dict[str, str | int]) -> list[str]:
    args = ["am", "instrument", "-w", "-e", "class", f"{package}.{test_class}"]
    for k, v in extras.items():
        args += ["-e", k, str(v)]
    return [*args, f"{package}.test/{RUNNER}"]


class NotInstalled(DeviceError):
    """The app / its test APK is not on the phone."""


def check_instrument(output: str, package: str, project_hint: str) -> None:
    """`am instrument -w` exits 0 even when tests fail: judge by its text."""
    if "Unable to find instrumentation info" in output or "INSTRUMENTATION_FAILED" in output:
        raise NotInstalled(f"the app's test APK ({package}.test) is not installed on the phone: "
                           f"cd {project_hint} && ./gradlew installDebug installDebugAndroidTest, then retry")
    if "FAILURES!!!" in output or "Process crashed" in output or "OK (" not in output:
        why = next((ln.strip() for ln in output.splitlines()
                    if ln.strip() and ("Exception" in ln or "Error" in ln or "crashed" in ln)), "")
        raise DeviceError(f"the on-device test failed{': ' + why[:200] if why else ''}; "
                          f"see `adb logcat` for {package}")


def run_accuracy(adb: Adb, package: str, threads: int, warmup: int, project_hint: str, timeout_s: float,
                 model_sha256: str | None = None) -> dict:
    """Run OnDeviceAccuracyTest and pull its report; the old report is removed first so a failed
    run can never be mistaken for a fresh one."""
    adb.shell("run-as", package, "rm", "-f", f"files/{REPORT_FILE}", check=False)  # fails if not installed
    out = adb.shell(*instrument_args(package, "OnDeviceAccuracyTest", {"threads": threads, "warmup": warmup}),
                    timeout_s=timeout_s)
    check_instrument(out, package, project_hint)
    raw = adb.exec_out("run-as", package, "cat", f"files/{REPORT_FILE}")
    try:
        report = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DeviceError(f"the phone's {REPORT_FILE} is not JSON ({raw[:80]!r}); "
                          "re-run the instrumentation test") from None
    if not isinstance(report, dict) or not isinstance(report.get("accuracy"), dict):
        raise DeviceError(f"the phone's {REPORT_FILE} has no accuracy section; regenerate and reinstall the app")
    built_from = str(report.get("generated_from", ""))
    if model_sha256 and built_from != model_sha256:
        raise DeviceError(f"the app on the phone was generated from model {built_from[:12] or '?'}, not this build's "
                          f"{model_sha256[:12]}: cd {project_hint} && ./gradlew installDebug installDebugAndroidTest")
    return report


def bench(adb: Adb, *, model: Path, spec: dict, package: str, options: dict, threads: int, warmup: int,
          runs: int, repeats: int, timeout_s: float, project_hint: str, log=print) -> dict:
    """The standard bench dict for one phone."""
    binary = benchmark_model_path(options)  # fail before touching the phone
    started = now()
    device = device_section(adb)
    parsed, raw = run_benchmark(adb, model, binary, threads=threads, warmup=warmup, runs=runs, repeats=repeats,
                                timeout_s=timeout_s)
    result = {
        "status": "complete",
        "device": device,
        "runtime": {"name": "litert", "engine": "xnnpack" if "xnnpack" in parsed[0]["delegates"] else "cpu",
                    "threads": parsed[0]["threads"] or threads,
                    **({"version": str(options["litert_version"])} if options.get("litert_version") else {})},
        "latency": benchmark.latency_section(parsed),
        "model": {"sha256": spec["model_sha256"], "bytes": spec["model_bytes"], "quantization": "int8",
                  "input_shape": spec["model_input_shape"], "output_shape": spec["output"]["shape"]},
        "toolchain": {"benchmark_model.sha256": sha256_file(binary)[:16], "litert-android": VERSIONS["litert"]},
        "benchmark_model": {"runs": parsed, "init_us": parsed[0]["init_us"],
                            "first_inference_us": parsed[0]["first_inference_us"],
                            "warmup_avg_us": parsed[0]["warmup_avg_us"]},
        "notes": [],
    }
    memory = benchmark.memory_section(parsed)
    if memory:
        result["memory"] = memory
    try:
        report = run_accuracy(adb, package, threads, warmup, project_hint, timeout_s, spec["model_sha256"])
    except NotInstalled as err:
        # Latency is still worth having; the report stage then shows the host's int8 accuracy.
        log(f"  warning: no on-device accuracy: {err}")
        result["notes"].append(f"no on-device accuracy: {err}")
    else:
        acc = report["accuracy"]
        _exact_on_the_phone(acc)
        result["accuracy"] = {k: acc[k] for k in ("metric", "value", "n", "agreement") if k in acc}
        result["app_run"] = report  # the instrumentation test's own latency (quantize + invoke + dequantize)
    result["started_at"], result["finished_at"] = started, now()
    return result


def _exact_on_the_phone(acc: dict) -> None:
    """The app compares each test input's top-1 with this host's LiteRT answer (bundled with it);
    a fraction below 1.0 fails the bench, it is never reported as a pass. (The phone's LiteRT is
    Android's AAR, not a build this host can run, so the check is on the top-1, not the bytes.)"""
    host = (acc.get("agreement") or {}).get("host")
    if host is None or float(host) >= 1.0:
        return
    n = int(acc.get("n") or 0)
    differ = round((1.0 - float(host)) * n)
    raise PipelineError(f"the phone's top-1 differs from this host's LiteRT on {differ} of {n} test inputs "
                        f"(agreement {float(host):.4f}): the phone is not exact, please report this model and phone")


# ----------------------------------------------------------------------------- pipeline run

def run_model(adb: Adb, *, model: Path, inputs: Path, outputs: Path, package: str, threads: int,
              timeout_s: float, project_hint: str) -> Path:
    """Raw inference on the phone: X in the model's dtype and shape -> Y in the output's."""
    desc = describe_tflite(model)  # one input and one output, or a one-line error
    inp, out = desc["input"], desc["output"]
    try:
        x = np.load(inputs, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise PipelineError(f"{inputs}: cannot read as .npy: {err}") from None
    want = tuple(int(d) for d in inp["shape"][1:])
    if x.dtype != np.dtype(inp["dtype"]) or tuple(x.shape[1:]) != want:
        raise PipelineError(f"{inputs}: {x.dtype} {list(x.shape)}; model input '{inp['name']}' takes "
                            f"{inp['dtype']} [N, {', '.join(map(str, want))}]")
    if outputs.suffix not in (".npy", ".npz"):
        raise PipelineError(f"{outputs}: outputs must be a .npy or .npz file")
    remote = f"/sdcard/Android/data/{package}/files/pipeline-run"
    staged = outputs.with_name(f".{outputs.name}.input.bin")
    try:
        write_bytes(staged, np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
        adb.shell("mkdir", "-p", remote)
        adb.shell("rm", "-f", f"{remote}/output.bin", check=False)  # never read a previous run's output
        adb.push(model, f"{remote}/model.tflite")
        adb.push(staged, f"{remote}/input.bin")
    finally:
        staged.unlink(missing_ok=True)
    text = adb.shell(*instrument_args(package, "RawRunTest", {
        "model": f"{remote}/model.tflite", "input": f"{remote}/input.bin", "output": f"{remote}/output.bin",
        "count": len(x), "threads": threads}), timeout_s=timeout_s)
    check_instrument(text, package, project_hint)
    data = adb.exec_out("cat", f"{remote}/output.bin")
    shape = (len(x), *(int(d) for d in out["shape"][1:]))
    dtype = np.dtype(out["dtype"]).newbyteorder("<")
    if len(data) != int(np.prod(shape)) * dtype.itemsize:
        raise DeviceError(f"the phone returned {len(data)} output bytes; expected {list(shape)} {out['dtype']}")
    y = np.frombuffer(data, dtype=dtype).reshape(shape).astype(np.dtype(out["dtype"]))
    with atomic_path(outputs) as tmp:
        with open(tmp, "wb") as f:
            if outputs.suffix == ".npz":
                np.savez(f, **{out["name"]: y})
            else:
                np.save(f, y)
    return outputs
