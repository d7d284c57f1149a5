"""Adapter for target kind 'android': Android phones (LiteRT, adb). The work is in pipeline/android/."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..atomic import write_json
from ..errors import PipelineError
from ..opsets import LITERT_OPS

KIND = "android"
RUNTIME = "LiteRT"
OPS = LITERT_OPS
VERIFY_REFERENCE = "int8_ref"
ARENA_RAM = False
DEVICES = "emulator | adb | adb://SERIAL"


def _device(target, device: str | None) -> str:
    chosen = device or target.default_device
    if chosen == "emulator" or chosen == "adb" or str(chosen).startswith("adb://"):
        return chosen
    raise PipelineError(f"device '{chosen}' is not available for target '{target.id}' (kind android); use {DEVICES}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pipeline")
    except PackageNotFoundError:
        return "dev"


def _test_set(data) -> tuple[np.ndarray, np.ndarray]:
    with np.load(data.path("dataset.npz"), allow_pickle=False) as z:
        return np.asarray(z["x_test"], np.float32), np.asarray(z["y_test"]).astype(np.int64)


def package(ctx, inputs):
    """build/<target>/android/: the Android Studio project with model, preprocessing and test set.

    Reads no config section (the package stage's key has none): the app's warm-up default is the
    template's; `pipeline bench` passes the configured counts to the on-phone test as arguments.
    """
    from ..android.project import DEFAULT_PACKAGE, write_project
    from ..android.spec import build_spec, host_top1

    model = inputs["convert"].path("model_int8.tflite")
    x, y = _test_set(inputs["data"])
    spec = build_spec(model, inputs["data"].meta, tuple(x.shape[1:]))
    with ctx.progress.status(f"host LiteRT reference over {len(x)} test samples"):
        top = host_top1(model, x, spec)
    meta = write_project(ctx.out_dir / "android", model=model, spec=spec, x_test=x, y_test=y, host_top1=top,
                         target_id=ctx.target.id, package=ctx.options.get("android_package") or DEFAULT_PACKAGE,
                         threads=ctx.target.threads, pipeline_version=_version())
    host_acc = float(np.mean(top == y)) if len(y) else 0.0
    ctx.progress.log(f"  android project: {len(meta['files'])} files, {meta['n_test']} test samples, "
                     f"host int8 top-1 {host_acc:.4f}")
    return ctx.artifact({**meta, "preprocess": spec, "host_accuracy": host_acc, "publish": {"android": "android"}})


def bench(ctx, inputs):
    """bench.json from the phone (adb) or from the emulated arm64 proxy (default)."""
    from ..android.project import DEFAULT_PACKAGE
    from ..android.spec import build_spec

    device = _device(ctx.target, ctx.options.get("device"))
    model = inputs["convert"].path("model_int8.tflite")
    pkg_meta = inputs["package"].meta if inputs.get("package") else {}
    spec = pkg_meta.get("preprocess") or build_spec(model, inputs["data"].meta)
    cfg = ctx.config.bench
    threads = int(ctx.options.get("threads") or ctx.target.threads)
    if device == "emulator":
        from ..android import proxy

        result = proxy.bench(ctx, inputs, spec=spec, host_accuracy=pkg_meta.get("host_accuracy"))
    else:
        from ..android import adb, phone

        handle = adb.select(device)
        project = ctx.build_dir / "android"
        result = phone.bench(handle, model=model, spec=spec, package=pkg_meta.get("package") or DEFAULT_PACKAGE,
                             options=ctx.options, threads=threads, warmup=cfg.warmup, runs=cfg.runs,
                             repeats=cfg.inputs, timeout_s=cfg.timeout_s, project_hint=str(project),
                             log=ctx.progress.log)
    write_json(ctx.out_dir / "bench.json", result)
    return ctx.artifact(result)


def run_model(target, model, inputs, outputs, device, options):
    """`pipeline run`: raw inference on the phone (RawRunTest in the app) or the emulated proxy."""
    chosen = _device(target, device)
    if chosen == "emulator":
        from ..android import proxy

        return proxy.run_model(target, Path(model), Path(inputs), Path(outputs), options)
    from ..android import adb, phone
    from ..android.project import DEFAULT_PACKAGE

    handle = adb.select(chosen)
    return phone.run_model(handle, model=Path(model), inputs=Path(inputs), outputs=Path(outputs),
                           package=options.get("android_package") or DEFAULT_PACKAGE,
                           threads=int(options.get("threads") or 1), timeout_s=float(options.get("timeout_s") or 600),
                           project_hint=f"build/{target.id}/android")


flash = None   # a phone installs an app (`pipeline build` / `pipeline run --device adb`), no firmware
