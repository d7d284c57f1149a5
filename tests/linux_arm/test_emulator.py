"""The emulated Raspberry Pi (arm64 Debian rootfs under qemu-user): bit-exactness, accuracy,
install with nothing but install.sh, timeouts. The first run builds the rootfs (~5-7 min)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from pipeline import linux_litert
from pipeline.adapters import linux_arm
from pipeline.bundle.wheels import ensure_wheelhouse
from pipeline.emulators import arm64
from pipeline.errors import DeviceError, PipelineError

from . import tiny
from shared_helpers import why_no_arm64_chroot

from .conftest import host_accuracy

pytestmark = [pytest.mark.slow, pytest.mark.emulator,
              pytest.mark.skipif(why_no_arm64_chroot() is not None, reason=str(why_no_arm64_chroot()))]


@pytest.fixture(scope="module")
def emu(rpi4):
    return arm64.Arm64(arm64.build_rootfs(rpi4.emulator.debian_suite, log=print), rpi4.emulator.cpu)


def test_run_model_is_byte_identical_to_host_reference(emu, rpi4, artifacts, tmp_path):
    model = artifacts["convert"].path("model_int8.tflite")
    with np.load(artifacts["data"].path("dataset.npz")) as z:
        x = tiny.quantize_nhwc(model, z["x_test"][:50])
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "y;$(touch pwned) dir" / "y.npy"
    out.parent.mkdir()
    linux_arm.run_model(rpi4, model, tmp_path / "x.npy", out, "emulator", {})
    y = np.load(out)
    ref = tiny.host_reference(model, x)
    assert y.dtype == ref.dtype == np.int8 and y.shape == (50, 4)
    assert y.tobytes() == ref.tobytes()
    assert not list(tmp_path.rglob("pwned"))


def test_run_model_rejects_wrong_dtype_before_the_device(rpi4, artifacts, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 8, 8, 1), np.float32))
    with pytest.raises(PipelineError, match="expects int8") as err:
        linux_arm.run_model(rpi4, artifacts["convert"].path("model_int8.tflite"), tmp_path / "x.npy",
                            tmp_path / "y.npy", "emulator", {})
    assert not isinstance(err.value, DeviceError) and "\n" not in str(err.value)


def test_bench_emulated_accuracy_equals_host(packaged, artifacts, rpi4, make_ctx):
    ctx = make_ctx(rpi4, "bench", device="emulator", runs=3, warmup=1)
    art = linux_arm.bench(ctx, {"package": packaged, **artifacts})
    rep = art.meta
    assert (ctx.out_dir / "bench.json").is_file()
    assert rep["device"]["kind"] == "emulated" and rep["device"]["arch"] == "aarch64"
    assert rep["device"]["transport"] == "qemu-user"
    assert rep["latency"]["comparable"] is False and "not comparable" in rep["latency"]["note"]
    assert rep["runtime"]["engine"] == "reference" and rep["runtime"]["version"] == "2.3.0"
    assert rep["accuracy"]["value"] == host_accuracy(artifacts) and rep["accuracy"]["n"] == 200
    # every one of the 200 outputs byte-identical to the host's LiteRT (else bench raises)
    assert rep["accuracy"]["agreement"] == {"host": 1.0} and "outputs" not in rep
    assert rep["memory"]["peak_rss_bytes"] > 0


def test_bench_xnnpack_on_arm64_is_checked_against_arm64_xnnpack(packaged, artifacts, rpi4, make_ctx):
    """XNNPACK's x86-64 and arm64 (NEON) int8 kernels differ by an LSB on a few outputs, so the gate
    compares an arm64 device with arm64 XNNPACK (under qemu-user here), never with this host's."""
    from pipeline import litert_exactness
    bundle = packaged.dir / "bundle"
    ctx = make_ctx(rpi4, "bench-xnn", device="emulator", runs=1, warmup=0, kernels="xnnpack")
    rep = linux_arm.bench(ctx, {"package": packaged, **artifacts}).meta
    assert rep["runtime"]["engine"] == "xnnpack" and rep["accuracy"]["agreement"] == {"host": 1.0}
    x86 = litert_exactness.host_outputs(bundle, "xnnpack")
    arm = linux_litert._arm64_outputs(ctx, bundle, litert_exactness.test_inputs(bundle), "xnnpack")
    assert len(arm) == len(x86) == 200 and arm != x86   # why the reference must be arm64


def test_a_device_output_one_byte_off_fails_the_bench_in_one_line(packaged):
    """The gate's comparison on the real host outputs, with one device byte changed (as a device
    whose kernel rounds differently would return)."""
    import zlib

    from pipeline import litert_exactness
    bundle = packaged.dir / "bundle"
    host = litert_exactness.host_outputs(bundle, "reference")
    device = [bytearray(h) for h in host]
    device[7][2] ^= 1
    report = {"outputs": {"crc32": [zlib.crc32(bytes(d)) for d in device], "hex": [bytes(d).hex() for d in device]}}
    assert litert_exactness.check({"outputs": {"crc32": [zlib.crc32(h) for h in host]}}, bundle, "reference", "x") == 1.0
    with pytest.raises(PipelineError) as err:
        litert_exactness.check(report, bundle, "reference", "rpi4 (emulated)")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("rpi4 (emulated): the int8 output differs from this host's LiteRT")
    assert f"test input 7 (1 of {len(host[7])} output bytes; 1 of {len(host)} inputs differ)" in msg


def test_installs_with_nothing_but_install_sh(emu, packaged, capsys):
    """A fresh venv, the bundle and a wheelhouse; no pipeline package anywhere in the rootfs."""
    wheels = ensure_wheelhouse("aarch64", "3.11")
    with emu.workdir() as (guest, host):
        import shutil

        shutil.copytree(packaged.dir / "bundle", host / "bundle")
        shutil.copytree(wheels, host / "bundle" / "wheels")
        start = time.monotonic()
        emu.run(["/bin/sh", f"{guest}/bundle/install.sh"], timeout=900, what="install.sh")
        install_s = time.monotonic() - start
        py = f"{guest}/bundle/.venv/bin/python"
        emu.run([py, "-c", "import importlib.util as u, sys; sys.exit(u.find_spec('pipeline') is not None)"],
                timeout=120, what="no pipeline package")
        again = emu.run(["/bin/sh", f"{guest}/bundle/install.sh"], timeout=300, what="install.sh again")
        assert b"already installed" in again.stdout
        res = emu.run([py, f"{guest}/bundle/runner.py", f"{guest}/bundle/test_x.npy", "--top-k", "1"],
                      timeout=300, what="runner.py", cwd=guest)
        assert res.stdout.decode().count("\n") == 200
    with capsys.disabled():
        print(f"\n  offline install in the emulated Pi (fresh venv): {install_s:.1f} s")


def test_hung_command_is_killed_with_one_line_error(emu):
    start = time.monotonic()
    with pytest.raises(DeviceError, match="did not finish within 2 s") as err:
        emu.run(["/bin/sleep", "60"], timeout=2, what="sleep")
    assert time.monotonic() - start < 15 and "\n" not in str(err.value)


def test_fallback_without_binfmt_runs_python_directly(rpi4, artifacts, tmp_path, monkeypatch):
    """No binfmt_misc (e.g. a container that may not mount it): qemu-aarch64-static -L runs the
    rootfs's python with the wheels unpacked on the host; outputs stay byte-identical."""
    monkeypatch.setattr(arm64, "ensure_binfmt", lambda: False)
    model = artifacts["convert"].path("model_int8.tflite")
    with np.load(artifacts["data"].path("dataset.npz")) as z:
        x = tiny.quantize_nhwc(model, z["x_test"][:10])
    np.save(tmp_path / "x.npy", x)
    linux_arm.run_model(rpi4, model, tmp_path / "x.npy", tmp_path / "y.npy", "emulator", {})
    assert np.load(tmp_path / "y.npy").tobytes() == tiny.host_reference(model, x).tobytes()
    with pytest.raises(DeviceError, match="binfmt_misc is unavailable"):
        arm64.Arm64(arm64.rootfs_dir(rpi4.emulator.debian_suite), rpi4.emulator.cpu).run(
            ["/bin/sh", "-c", "true"], timeout=10, what="sh")
