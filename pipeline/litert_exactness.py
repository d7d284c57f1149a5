"""Exactness gates the LiteRT targets (Pi, Android's arm64 proxy): the device's int8 outputs on the
whole bundled test set must be the bytes the same kernels give on this host, or the bench fails in
one line (input, bytes, how many inputs differ). The report keeps the fraction
(accuracy.agreement.host), but below 1.0 it is never a pass.

"The same kernels" means the same machine code where it matters. The reference kernels
(BUILTIN_REF) are portable C: this host's LiteRT gives an arm64 board's bytes (200 of 200 test
outputs identical, emulated rpi4). XNNPACK is not: its x86-64 and arm64 (NEON) int8 kernels differ
by 1 LSB on 5 of those 200 outputs, so an arm64 device running XNNPACK is checked against arm64
XNNPACK run on this host under qemu-user (`arm64_run`), and an x86-64 one against this host's.

The host side runs the bundle's own runner.py (its preprocessing, its interpreter options), so the
two sides differ only in the machine under them."""
from __future__ import annotations

import importlib.util
import platform
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import PipelineError


def _runner(bundle_dir: Path):
    spec = importlib.util.spec_from_file_location(f"bundle_runner_{abs(hash(str(bundle_dir)))}",
                                                  Path(bundle_dir) / "runner.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


def test_inputs(bundle_dir: Path) -> np.ndarray:
    """The bundled test set as the device feeds it (the bundle's own preprocessing)."""
    runner = _runner(bundle_dir)
    return runner.preprocess(np.load(Path(bundle_dir) / "test_x.npy", allow_pickle=False), runner.load_preprocess())


def host_outputs(bundle_dir: Path, kernels: str) -> list[bytes]:
    """Raw output bytes of every bundled test input with this host's LiteRT and `kernels`."""
    runner = _runner(bundle_dir)
    q = test_inputs(bundle_dir)
    interp = runner.make_interpreter(str(Path(bundle_dir) / runner.load_preprocess()["model"]), kernels, 1)
    return [np.ascontiguousarray(runner.infer(interp, q[i:i + 1])).tobytes() for i in range(len(q))]


ARM64 = ("aarch64", "arm64")


def reference_outputs(bundle_dir: Path, kernels: str, device_arch: str,
                      arm64_run: Callable[[np.ndarray], list[bytes]]) -> tuple[list[bytes], str]:
    """(outputs, what they are): see the module docstring for which reference is which."""
    if kernels == "reference" or device_arch == platform.machine():
        return host_outputs(bundle_dir, kernels), f"this host's LiteRT ({kernels} kernels)"
    if device_arch in ARM64:
        return arm64_run(test_inputs(bundle_dir)), f"arm64 LiteRT ({kernels} kernels) under qemu-user"
    raise PipelineError(f"cannot check {kernels} outputs of a {device_arch} device on this {platform.machine()} "
                        "host; use --kernels reference")


def check(report: dict, bundle_dir: Path, kernels: str, where: str,
          arm64_run: Callable[[np.ndarray], list[bytes]] | None = None) -> float:
    """Compares report["outputs"] (written by bench.py) with reference_outputs; returns the
    agreement (1.0) or raises PipelineError naming the first differing input."""
    outs = report.get("outputs")
    if not isinstance(outs, dict) or not isinstance(outs.get("crc32"), list):
        raise PipelineError(f"{where}: bench.json has no output checksums (a bundle from an older pipeline?); "
                            "rebuild the package")
    arch = str((report.get("device") or {}).get("arch") or platform.machine())
    host, what = reference_outputs(bundle_dir, kernels, arch, arm64_run or _no_arm64)
    device_crc = outs["crc32"]
    if len(device_crc) != len(host):
        raise PipelineError(f"{where}: the device ran {len(device_crc)} test inputs, the bundle has {len(host)}")
    same = [int(c) == zlib.crc32(h) for c, h in zip(device_crc, host)]
    if all(same):
        return 1.0
    k = same.index(False)
    hexes = outs.get("hex")
    if isinstance(hexes, list) and len(hexes) == len(host):
        got = bytes.fromhex(hexes[k])
        differ = f"{sum(a != b for a, b in zip(got, host[k])) + abs(len(got) - len(host[k]))} of {len(host[k])} output bytes"
    else:
        differ = f"checksums of {len(host[k])} output bytes"
    raise PipelineError(f"{where}: the int8 output differs from {what} on test input {k} ({differ}; {same.count(False)} of {len(same)} inputs differ): the device is "
                        f"not exact, please report this model and device")


def _no_arm64(_x: np.ndarray) -> list[bytes]:
    raise PipelineError("no arm64 emulator given to check XNNPACK outputs against")
