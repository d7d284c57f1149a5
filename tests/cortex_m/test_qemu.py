"""Firmware in QEMU: same bytes as tflite_micro, deterministic instruction counts, sizes, errors."""
import numpy as np
import pytest

import aot_zoo as zoo
from pipeline.aot.compile.compiler import compile_model
from pipeline.aot.tflm.reference import random_inputs, tflm_run
from pipeline.aot.device.runner import run_on_device
from pipeline.errors import DeviceError, PipelineError

pytestmark = pytest.mark.emulator

FAST = ["conv_stack", "broadcast"]


def _check(path, target, work, seeds=range(3)):
    data = path.read_bytes()
    c = compile_model(data)
    samples = [random_inputs(c.model, s) for s in seeds]
    run = run_on_device(c, target, samples, work)
    for seed, xs, got in zip(seeds, samples, run.outputs):
        want = tflm_run(c.model, data, xs)
        for g, w in zip(got, want):
            assert g.tobytes() == np.asarray(w, dtype=g.dtype).tobytes(), f"{path.stem} seed {seed}"
    return c, run


@pytest.mark.parametrize("name", sorted(zoo.ZOO))
def test_cortex_m4_bit_exact(name, zoo_models, targets, tmp_path):
    _check(zoo_models[name], targets.get("cortex-m4"), tmp_path)


@pytest.mark.parametrize("target", ["cortex-m7", "cortex-m55"])
@pytest.mark.parametrize("name", FAST)
def test_m7_m55_bit_exact(name, target, zoo_models, targets, tmp_path):
    _check(zoo_models[name], targets.get(target), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["cortex-m7", "cortex-m55"])
@pytest.mark.parametrize("name", sorted(set(zoo.ZOO) - set(FAST)))
def test_m7_m55_bit_exact_all(name, target, zoo_models, targets, tmp_path):
    _check(zoo_models[name], targets.get(target), tmp_path)


def test_instruction_count_is_deterministic(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m4")
    c = compile_model(zoo_models["residual"])
    xs = random_inputs(c.model, 7)
    a = run_on_device(c, t, [xs, xs], tmp_path / "a")
    b = run_on_device(c, t, [xs], tmp_path / "b", build=a.firmware)
    assert a.instructions[0] == a.instructions[1] == b.instructions[0] > 1000
    assert a.memory["arena"] == c.arena_bytes and 0 < a.memory["stack_used"] < a.memory["stack_size"]


def test_sections_are_reported_and_within_budget(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m4")
    _, run = _check(zoo_models["dense"], t, tmp_path, seeds=[0])
    s = run.firmware.sections
    assert {".vectors", ".text", ".bss", ".stack"} <= set(s)
    assert run.firmware.flash_bytes <= t.flash_kb * 1024 and run.firmware.ram_bytes <= t.ram_kb * 1024
    weights = compile_model(zoo_models["dense"]).summary()["weights_bytes"]
    assert s[".text"] > weights  # weights are const: they live in flash, not RAM


def test_over_budget_is_a_link_error_with_both_numbers(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m4").model_copy(update={"ram_kb": 4})
    c = compile_model(zoo_models["dense"])
    with pytest.raises(PipelineError, match=r"ram needs \d+ bytes, budget is 4096 bytes") as err:
        run_on_device(c, t, [random_inputs(c.model, 0)], tmp_path)
    assert "\n" not in str(err.value)


def test_unsupported_op_fails_at_build_time(reject_models, targets, tmp_path):
    from pipeline.adapters import cortex_m
    np.save(tmp_path / "x.npy", np.zeros((1, 8), np.int8))
    with pytest.raises(PipelineError, match=r"operator 1 \(EXP\)"):
        cortex_m.run_model(targets.get("cortex-m4"), reject_models["unsupported_exp"], tmp_path / "x.npy",
                           tmp_path / "y.npy", None, {})
    assert not (tmp_path / "y.npy").exists()


def test_tiny_stack_is_a_one_line_fault(zoo_models, targets, tmp_path):
    c = compile_model(zoo_models["conv_stack"])
    with pytest.raises(DeviceError, match=r"^firmware fault hardfault") as err:
        run_on_device(c, targets.get("cortex-m4"), [random_inputs(c.model, 0)], tmp_path,
                      stack_bytes=64, timeout=20)
    assert "\n" not in str(err.value)


def test_hung_emulator_times_out_and_is_killed(zoo_models, targets, tmp_path):
    from pipeline.aot.device.protocol import Device, QemuLink
    from pipeline.aot.device.firmware import build_firmware
    c = compile_model(zoo_models["conv_stack"])
    build = build_firmware(c, targets.get("cortex-m4"), tmp_path)
    link = QemuLink(build.elf, "mps2-an386")
    dev = Device(link, timeout=1.0)
    link.write(b"infer 100000000 0\n")  # ~6e12 instructions: far beyond the 1 s deadline
    with pytest.raises(DeviceError, match="no answer from the device within 1 s"):
        dev._expect("OK infer")
    assert link.proc.poll() is not None  # the emulator was stopped


def test_crc_protects_inputs(zoo_models, targets, tmp_path):
    from pipeline.aot.device.protocol import Device, QemuLink
    from pipeline.aot.device.firmware import build_firmware
    c = compile_model(zoo_models["dense"])
    build = build_firmware(c, targets.get("cortex-m4"), tmp_path)
    dev = Device(QemuLink(build.elf, "mps2-an386"), timeout=10)
    try:
        assert dev.identify().model == c.model.sha256
        dev.link.write(b"in 0 10 00000000\nd " + b"00" * 10 + b"\n")
        with pytest.raises(DeviceError, match="crc mismatch"):
            dev._expect("OK in")
    finally:
        dev.quit()


def test_pipeline_run_adapter_writes_batched_outputs(zoo_models, targets, tmp_path):
    from pipeline.adapters import cortex_m
    path = zoo_models["conv1d"]
    c = compile_model(path)
    x = np.random.default_rng(3).integers(-128, 128, (3, 32, 2), dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    info = cortex_m.run_model(targets.get("cortex-m4"), path, tmp_path / "x.npy", tmp_path / "y.npy", "qemu", {})
    y = np.load(tmp_path / "y.npy")
    want = np.stack([np.asarray(tflm_run(c.model, path.read_bytes(), [s[None]])[0]).reshape(-1) for s in x])
    assert y.shape == (3, 4) and np.array_equal(y.reshape(3, -1), want)
    assert info["samples"] == 3 and len(info["instructions"]) == 3


def test_serial_port_path_is_the_same_protocol(zoo_models, targets, tmp_path):
    """QEMU's UART on a pseudo-terminal, driven through pyserial exactly like a real board."""
    import re
    import subprocess
    import time

    from pipeline.aot.device.protocol import QEMU_FLAGS, Device, SerialLink
    from pipeline.aot.device.firmware import build_firmware
    path = zoo_models["dense"]
    c = compile_model(path)
    build = build_firmware(c, targets.get("cortex-m4"), tmp_path)
    flags = [f if f != "stdio" else "pty" for f in QEMU_FLAGS]
    proc = subprocess.Popen(["qemu-system-arm", "-machine", "mps2-an386", *flags, "-kernel", str(build.elf)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port, deadline = None, time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            m = re.search(r"(/dev/pts/\d+)", proc.stdout.readline())
            port = m.group(1) if m else None
        assert port, "QEMU did not report its pty"
        dev = Device(SerialLink(port), timeout=10, expect_ready=False)
        dev.link.write(b"\n")
        assert dev.identify().model == c.model.sha256
        xs = random_inputs(c.model, 5)
        dev.load_input(0, xs[0].tobytes())
        dev.infer(1, 0)
        got = dev.read_output(0)
        assert got == np.asarray(tflm_run(c.model, path.read_bytes(), xs)[0], np.int8).tobytes()
        dev.link.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_repeated_inference_and_profile(zoo_models, targets, tmp_path):
    """`infer N W` reruns the same input (inputs are never overwritten by the plan); the
    per-operator profile covers every operator and adds up to about one inference."""
    from pipeline.aot.device.protocol import Device, QemuLink
    from pipeline.aot.device.firmware import build_firmware
    path = zoo_models["conv_stack"]
    c = compile_model(path)
    build = build_firmware(c, targets.get("cortex-m4"), tmp_path)
    xs = random_inputs(c.model, 11)
    want = np.asarray(tflm_run(c.model, path.read_bytes(), xs)[0], np.int8).tobytes()
    dev = Device(QemuLink(build.elf, "mps2-an386"), timeout=20)
    try:
        dev.load_input(0, xs[0].tobytes())
        one = dev.infer(1, 0)
        five = dev.infer(5, 2)
        assert dev.read_output(0) == want
        assert abs(five - 5 * one) <= 5  # one tick (40 instructions) of quantisation per run
        prof = dev.profile()
        assert sorted(prof) == list(range(len(c.steps)))
        assert 0.9 * one <= sum(prof.values()) <= 1.1 * one
        assert dev.read_output(0) == want
    finally:
        dev.quit()
