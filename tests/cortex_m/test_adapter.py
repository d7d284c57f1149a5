"""The cortex-m adapter's package / flash / run_model entry points."""
import numpy as np
import pytest

from pipeline.adapters import ADAPTERS, cortex_m
from pipeline.errors import NotImplementedYet, PipelineError
from pipeline.stages.base import Artifact, Context
from pipeline.stages.progress import Progress

pytestmark = pytest.mark.emulator


def _convert_inputs(tmp_path, model):
    """What the convert stage hands to package/bench: a directory with model_int8.tflite."""
    import shutil
    d = tmp_path / "convert"
    d.mkdir(exist_ok=True)
    shutil.copy(model, d / "model_int8.tflite")
    return {"convert": Artifact(stage="convert", dir=d, meta={})}


def test_registered():
    assert ADAPTERS.get("cortex-m") is cortex_m


def test_package_then_flash(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m7")
    ctx = Context(config=None, target=t, out_dir=tmp_path / "pkg", build_dir=tmp_path, progress=None,
                  model_path=zoo_models["residual"], options={"engine": "aot"})
    art = cortex_m.package(ctx, _convert_inputs(tmp_path, zoo_models["residual"]))
    elf = art.dir / art.meta["elf"]
    assert elf.exists() and art.meta["arena_bytes"] > 0 and ".text" in art.meta["sections"]
    assert art.meta["vectors"] == 5 and art.meta["operators"] > 0
    ident = cortex_m.flash(t, elf, "qemu", {})
    assert ident["board"] == "mps2-an500" and ident["engine"] == "aot"


def test_other_engines_and_pyocd_say_not_yet(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m4")
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    with pytest.raises(NotImplementedYet, match="engine 'tflm'"):
        cortex_m.run_model(t, zoo_models["dense"], tmp_path / "x.npy", tmp_path / "y.npy", None, {"engine": "tflm"})
    with pytest.raises(PipelineError, match="not a real board"):  # pyOCD needs a board target
        cortex_m.run_model(t, zoo_models["dense"], tmp_path / "x.npy", tmp_path / "y.npy", "pyocd", {})


def test_bad_inputs_are_one_line_errors(zoo_models, targets, tmp_path):
    t = targets.get("cortex-m4")
    np.save(tmp_path / "x.npy", np.zeros((3, 7), np.int8))
    with pytest.raises(PipelineError, match=r"do not match the model input \[1, 10\]"):
        cortex_m.run_model(t, zoo_models["dense"], tmp_path / "x.npy", tmp_path / "y.npy", None, {})
    with pytest.raises(PipelineError, match="cannot read inputs"):
        cortex_m.run_model(t, zoo_models["dense"], tmp_path / "nope.npy", tmp_path / "y.npy", None, {})


def test_float_inputs_are_quantized_like_tflite(zoo_models, targets, tmp_path):
    from pipeline.aot.tflm.reference import tflm_run
    from pipeline.tflite import read_model
    path = zoo_models["dense"]
    m = read_model(path)
    x = np.random.default_rng(0).normal(0, 1, (2, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    info = cortex_m.run_model(targets.get("cortex-m4"), path, tmp_path / "x.npy", tmp_path / "y.npy", None, {})
    q = m.tensors[m.inputs[0]].quantization
    xq = np.clip(np.round(x / q.scale[0]) + q.zero_point[0], -128, 127).astype(np.int8)
    want = np.stack([np.asarray(tflm_run(m, path.read_bytes(), [r[None]])[0]).reshape(-1) for r in xq])
    assert np.array_equal(np.load(tmp_path / "y.npy"), want)
    assert info["tflm_arena_bytes"] > info["arena_bytes"] > 0


def test_bench_writes_the_standard_report(zoo_models, targets, tmp_path):
    import json

    from pipeline.aot.tflm.reference import tflm_run
    from pipeline.tflite import read_model
    path = zoo_models["dense"]
    m = read_model(path)
    x = np.random.default_rng(4).integers(-128, 128, (12, 10), dtype=np.int8)
    host = [int(np.argmax(tflm_run(m, path.read_bytes(), [r[None]])[0])) for r in x]
    y = np.array(host)
    y[:3] = (y[:3] + 1) % 5  # 9/12 right on the host, and so on the device
    np.savez(tmp_path / "test.npz", x=x, y=y)
    ctx = Context(config=None, target=targets.get("cortex-m4"), out_dir=tmp_path / "bench", build_dir=tmp_path,
                  progress=Progress(enabled=False), model_path=path, options={"test_data": tmp_path / "test.npz"})
    cortex_m.bench(ctx, _convert_inputs(tmp_path, path))
    # aot-bench.json: the engine's raw measurements; bench.json: the standard report sections
    std = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert std["latency"]["unit"] == "instructions" and std["accuracy"]["value"] == 0.75
    r = json.loads((tmp_path / "bench" / "aot-bench.json").read_text())
    assert r["bit_exact_with_tflm"] == 1.0 and r["samples"] == 12
    assert r["accuracy"] == {"device": 0.75, "tflm_host": 0.75}
    assert r["latency"]["instructions_median"] > 0 and "not cycles" in r["latency"]["unit"]
    assert r["memory"]["tflm_arena_bytes"] > r["memory"]["arena_bytes"] > 0
    assert all(op["instructions"] is not None for op in r["ops"])
