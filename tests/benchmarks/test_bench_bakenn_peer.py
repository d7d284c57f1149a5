"""bakenn measured side by side with our engine on QEMU M4 (the AD autoencoder: only FULLY_CONNECTED,
so both engines compile it). Needs PyPI (first run creates build/bench/venv-bakenn), TensorFlow for
the model, arm-none-eabi-gcc and qemu-system-arm."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from benchmarks import mlperf_tiny
from benchmarks.peers import bakenn_peer, qemu_uart

pytestmark = [pytest.mark.slow, pytest.mark.emulator]


@pytest.fixture(scope="module")
def bakenn_python():
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    try:
        return bakenn_peer.ensure_venv()
    except bakenn_peer.BakennUnavailable as err:
        pytest.skip(f"bakenn cannot be installed from PyPI here: {err}")


@pytest.fixture(scope="module")
def ad_case(bakenn_python, tmp_path_factory):
    """The AD model, one input, TFLM's output for it, and bakenn's firmware for QEMU M4."""
    from pipeline.targets import load_all
    from pipeline.tflite import read_model
    from tflite_micro.python.tflite_micro import runtime

    path = mlperf_tiny.build("ad")
    data = path.read_bytes()
    model = read_model(data)
    x = qemu_uart.random_input(model.tensor(model.inputs[0]).shape, seed=3)
    tflm = runtime.Interpreter.from_bytes(data, arena_size=1 << 20)
    tflm.set_input(x, 0)
    tflm.invoke()
    macs = mlperf_tiny.describe(path, "ad")["macs"]
    bk = bakenn_peer.compile_model(path, "ad")
    assert isinstance(bk, bakenn_peer.BakennModel), bk
    target = load_all().get("cortex-m4")
    fw = bakenn_peer.build_firmware(bk, target, model.sha256, macs, tmp_path_factory.mktemp("bakenn"))
    return dict(path=path, data=data, x=x, reference=np.asarray(tflm.get_output(0)).tobytes(), macs=macs, bk=bk,
                fw=fw, target=target)


def test_bakenn_ad_on_m4_is_measured_exact_and_deterministic(ad_case):
    bk, fw, macs = ad_case["bk"], ad_case["fw"], ad_case["macs"]
    # its optimized configuration really is in use (not the portable default)
    assert bk.kernels and all(k.startswith(("cmsis_nn.", "cortex_m4.")) for k in bk.kernels.values()), bk.kernels
    b = qemu_uart.measure("mps2-an386", fw.elf, ad_case["x"].tobytes())
    assert b.output_crc_ok and b.output == ad_case["reference"]  # bit-exact with TFLM
    assert macs / 4 < b.instructions_per_inference < macs * 100
    assert 0 < b.stack_used_bytes < b.stack_size_bytes
    assert fw.flash_bytes > macs and fw.sections[".text"] > macs  # the weights are in flash
    # deterministic under -icount: the same ELF gives the same count again
    assert qemu_uart.measure("mps2-an386", fw.elf, ad_case["x"].tobytes()).ticks == b.ticks


def test_ours_and_bakenn_measured_the_same_way_on_m4(ad_case, tmp_path):
    """Our engine's firmware for the same model, same board, same UART app and counter."""
    from pipeline.aot.device import firmware as fw
    from pipeline.aot.compile.compiler import compile_model

    ours = compile_model(ad_case["data"])
    o_fw = fw.build_firmware(ours, ad_case["target"], tmp_path / "ours")
    o = qemu_uart.measure("mps2-an386", o_fw.elf, ad_case["x"].tobytes())
    b = qemu_uart.measure("mps2-an386", ad_case["fw"].elf, ad_case["x"].tobytes())
    assert o.output == b.output == ad_case["reference"]
    assert o.clock_hz == b.clock_hz and o.runs == b.runs and o.warmup == b.warmup
    assert 0.1 < o.instructions_per_inference / b.instructions_per_inference < 10


def test_rejected_model_keeps_bakenn_error_message(bakenn_python, tmp_path):
    """A model bakenn cannot import yields its exact message (the suite shows it, not a gap)."""
    import tensorflow as tf
    from pipeline.keras_api import keras3
    keras = keras3()

    inp = keras.layers.Input((8,), batch_size=1)
    out = keras.layers.Activation("tanh")(keras.layers.Dense(4, bias_initializer="ones")(inp))
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.random.default_rng(0).normal(size=(1, 8)).astype(np.float32)]
                                           for _ in range(8))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    path = tmp_path / "tanh.tflite"
    path.write_bytes(conv.convert())
    r = bakenn_peer.compile_model(path, "tanh_test")
    assert isinstance(r, bakenn_peer.BakennRejected)
    assert "unsupported" in r.error.lower() and r.error.split(":")[0].endswith("Error")
