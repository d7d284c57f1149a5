"""`--device emulator`: the same int8 model on the emulated arm64 Linux, as a proxy for a phone.

Delegates to pipeline.linux_litert (the linux-arm bundle, bench.py and runner.py under qemu-user in the
cached arm64 Debian rootfs, with the android target's [emulator] CPU). Same LiteRT CPU kernels and
ISA as the phone, but glibc instead of Android's bionic and QEMU's clock: accuracy is meaningful
(reference kernels are bit-exact with the host), latency is not, and the report says so.
"""
from __future__ import annotations

import dataclasses

PROXY_NOTE = ("Android proxy: arm64 Debian (glibc, not Android's bionic) under qemu-user; wall time of "
              "the emulator, not phone latency; use --device adb[://SERIAL] on a phone for latency")


def bench(ctx, inputs, *, spec: dict, host_accuracy: float | None = None) -> dict:
    from .. import linux_litert

    cpu = ctx.target.emulator.cpu if ctx.target.emulator else "cortex-a76"
    # Only data + convert: linux_litert then builds its own bundle in out_dir/.package (our package
    # artifact is the Android project, not a Linux bundle).
    sub = {k: inputs[k] for k in ("data", "convert") if k in inputs}
    sub_ctx = dataclasses.replace(ctx, options={**ctx.options, "device": "emulator"})
    result = dict(linux_litert.bench(sub_ctx, sub).meta)
    result["device"] = {"kind": "emulated", "transport": "qemu-user", "arch": "aarch64",
                        "name": f"{ctx.target.name} [proxy: arm64 Linux under qemu-user {cpu}]"}
    latency = dict(result.get("latency") or {})
    latency.update(comparable=False, note=PROXY_NOTE + "; " + str(latency.get("note", "")))
    result["latency"] = latency
    notes = list(result.get("notes") or [])
    notes.append("proxy for an Android phone: same int8 model and LiteRT CPU kernels, glibc instead of bionic")
    acc = (result.get("accuracy") or {}).get("value")
    if host_accuracy is not None and acc is not None and abs(acc - host_accuracy) > 1e-12:
        notes.append(f"emulated top-1 {acc:.6f} differs from the host LiteRT top-1 {host_accuracy:.6f}")
        ctx.progress.log(f"  warning: {notes[-1]}")
    result["notes"] = notes
    result["model"] = result.get("model") or {
        "sha256": spec["model_sha256"], "bytes": spec["model_bytes"], "quantization": "int8",
        "input_shape": spec["model_input_shape"], "output_shape": spec["output"]["shape"]}
    return result


def run_model(target, model, inputs, outputs, options) -> None:
    from .. import linux_litert

    linux_litert.run_model(target, model, inputs, outputs, "emulator", options)
