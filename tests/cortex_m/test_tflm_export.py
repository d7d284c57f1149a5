"""`--engine tflm`: the exported TFLite Micro project, checked up to the generated sources (TFLM's
C++ sources are not available here, so the project itself is never compiled)."""
import json
import re
import shutil
import subprocess

import pytest

from pipeline.adapters import cortex_m
from pipeline.aot import tflm_export
from pipeline.errors import NotImplementedYet, PipelineError
from pipeline.inspect import tflm_min_arena
from pipeline.stages.base import Artifact, Context
from pipeline.tflite import read_model

MODELS = ["dense", "conv_stack", "residual", "concat_mul_pad", "means"]


@pytest.fixture(scope="module")
def host_min(zoo_models):
    """The exact host minimum per model (one child-process bisection each)."""
    return {name: tflm_min_arena(zoo_models[name]) for name in MODELS}


def _project(zoo_models, host_min, name, target):
    return tflm_export.render_project(zoo_models[name].read_bytes(), target, host_min=host_min[name])


@pytest.mark.parametrize("name", MODELS)
def test_resolver_has_exactly_the_models_ops(zoo_models, host_min, targets, name):
    m = read_model(zoo_models[name])
    p = _project(zoo_models, host_min, name, targets.get("nucleo-f746zg"))
    distinct = sorted({o.op for o in m.operators})
    assert sorted(p.ops) == distinct and len(p.methods) == len(distinct)
    text = p.files["op_resolver.h"]
    assert f"constexpr int kNumOps = {len(distinct)};" in text
    assert "using ModelOpResolver = tflite::MicroMutableOpResolver<kNumOps>;" in text
    calls = re.findall(r"resolver\.(Add\w+)\(\)", text)
    assert sorted(calls) == sorted(tflm_export.RESOLVER_METHODS[o] for o in distinct)
    assert len(set(calls)) == len(calls)                      # each op registered once


def test_resolver_method_names(zoo_models, host_min, targets):
    p = _project(zoo_models, host_min, "conv_stack", targets.get("cortex-m4"))
    for call in ("AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected", "AddMean", "AddSoftmax"):
        assert f"resolver.{call}()" in p.files["op_resolver.h"]


@pytest.mark.parametrize("name", MODELS[:3])
def test_arena_is_exact_host_minimum_plus_stated_margin(zoo_models, host_min, targets, name):
    data = zoo_models[name].read_bytes()
    p = tflm_export.render_project(data, targets.get("cortex-m7"))   # measures the minimum itself
    assert p.arena.host_min == host_min[name]
    scratch, _ = tflm_export.cmsis_nn_scratch(read_model(data))
    slack = (1024 + host_min[name] // 16 + 15) // 16 * 16
    assert p.arena.margin == scratch + slack and p.arena.total == host_min[name] + scratch + slack
    s = p.files["model_settings.h"]
    assert f"constexpr int kTensorArenaHostMin = {host_min[name]};" in s
    assert f"constexpr int kTensorArenaMargin = {p.arena.margin};" in s
    assert f"constexpr int kTensorArenaSize = {p.arena.total};" in s
    assert "alignas(16) uint8_t tensor_arena[kTensorArenaSize];" in p.files["main.cc"]
    assert f"kTensorArenaSize = {p.arena.total}" in p.files["README.md"]


def test_conv_scratch_margin_counts_the_largest_conv(zoo_models):
    m = read_model(zoo_models["conv_stack"])   # conv 3x3x3 -> 4, depthwise 3x3 x4 -> 8, conv 1x1 8 -> 5
    scratch, where = tflm_export.cmsis_nn_scratch(m)
    # depthwise (Cout = 8): 4 * 8*3*3 * 2 + 4*8 = 608 > conv 3x3x3 -> 4: 4 * 27 * 2 + 4*4 = 232
    assert scratch == 608 and where.startswith("DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("tid,arch,mcpu", [("nucleo-f746zg", "cortex-m7+fp", "cortex-m7"),
                                           ("nrf52840dk", "cortex-m4+fp", "cortex-m4"),
                                           ("cortex-m55", "cortex-m55", "cortex-m55")])
def test_build_files_use_cmsis_nn_and_the_right_core(zoo_models, host_min, targets, tid, arch, mcpu):
    p = _project(zoo_models, host_min, "dense", targets.get(tid))
    mk, cm = p.files["Makefile"], p.files["CMakeLists.txt"]
    assert "OPTIMIZED_KERNEL_DIR := cmsis_nn" in mk and "TARGET := cortex_m_generic" in mk
    assert f"TARGET_ARCH := {arch}" in mk and f"-mcpu={mcpu}" in mk
    assert "set(TFLM_OPTIMIZED_KERNEL_DIR cmsis_nn)" in cm and f"set(TFLM_TARGET_ARCH {arch})" in cm
    assert f"-mcpu={mcpu}" in cm
    for src in p.files:                       # our board support is built in
        if src.startswith("board/") and src.endswith(".c"):
            assert src in mk and src in cm
    assert "tested only up to the generated sources" in p.files["README.md"].lower()


def test_every_file_has_the_generated_from_header_and_the_model_array(zoo_models, host_min, targets, tmp_path):
    data = zoo_models["residual"].read_bytes()
    sha = read_model(data).sha256
    tflm_export.export(data, targets.get("nucleo-f746zg"), tmp_path / "proj", host_min=host_min["residual"])
    files = [f for f in (tmp_path / "proj").rglob("*") if f.is_file()]
    assert len(files) >= 14
    for f in files:
        if f.suffix == ".json":
            assert json.loads(f.read_text())["generated_from"] == sha
        else:
            assert f"generated from {sha}" in f.read_text().splitlines()[0], f
    cc = (tmp_path / "proj" / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model[] = {" in cc
    body = cc.split("{", 1)[1].split("};", 1)[0]
    assert bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body)) == data
    assert f"const unsigned int g_model_len = {len(data)};" in cc
    ld = (tmp_path / "proj" / "link.ld").read_text()
    assert "ORIGIN = 0x08000000, LENGTH = 1048576" in ld and "ORIGIN = 0x20000000, LENGTH = 327680" in ld
    assert "__init_array_start" in ld


@pytest.mark.parametrize("tid", ["nucleo-f746zg", "nrf52840dk", "cortex-m4"])
def test_exported_board_support_compiles(zoo_models, host_min, targets, tmp_path, tid):
    """The C half of the project (our board support) compiles for the board's core; the C++
    half needs TFLM's headers, which are not available here."""
    p = tflm_export.export(zoo_models["dense"].read_bytes(), targets.get(tid), tmp_path / "proj",
                           host_min=host_min["dense"])
    from pipeline.aot.firmware import board_for
    cflags = list(board_for(targets.get(tid)).cflags)
    for src in sorted((tmp_path / "proj" / "board").glob("*.c")):
        res = subprocess.run(["arm-none-eabi-gcc", *cflags, "-mthumb", "-O2", "-std=c99", "-Wall", "-Werror",
                              f"-I{tmp_path / 'proj' / 'board'}", "-c", str(src), "-o", str(src.with_suffix(".o"))],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    assert p.board == board_for(targets.get(tid)).machine


def test_unsupported_op_fails_clearly(reject_models, targets, tmp_path):
    data = reject_models["unsupported_tanh"].read_bytes()
    with pytest.raises(PipelineError, match=r"op TANH at operator #1 .*hint: replace Tanh") as err:
        tflm_export.export(data, targets.get("nucleo-f746zg"), tmp_path / "proj", host_min=1)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "proj").exists()


def _inputs(tmp_path, model):
    """What the convert stage hands to package: a directory with model_int8.tflite."""
    d = tmp_path / "convert"
    d.mkdir(exist_ok=True)
    shutil.copy(model, d / "model_int8.tflite")
    return {"convert": Artifact(stage="convert", dir=d, meta={})}


def _ctx(targets, tmp_path, model, **options):
    return Context(config=None, target=targets.get("nrf52840dk"), out_dir=tmp_path / "pkg", build_dir=tmp_path,
                   progress=None, model_path=model, options={"engine": "tflm", **options})


def test_adapter_package_writes_the_project_atomically(zoo_models, targets, tmp_path):
    dest = tmp_path / "tflm-app"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")          # replaced as a whole, never merged
    art = cortex_m.package(_ctx(targets, tmp_path, zoo_models["conv1d"], tflm_dir=str(dest)),
                           _inputs(tmp_path, zoo_models["conv1d"]))
    assert art.meta["engine"] == "tflm" and art.meta["compiled_here"] is False
    for d in (dest, tmp_path / "pkg" / "tflm"):
        assert (d / "op_resolver.h").exists() and (d / "Makefile").exists()
    assert not (dest / "stale.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no temp dirs left
    assert (dest / "model_settings.h").read_text() == (tmp_path / "pkg" / "tflm" / "model_settings.h").read_text()
    assert art.meta["arena_bytes"] == art.meta["tflm_host_min_arena_bytes"] + art.meta["arena_margin_bytes"]


def test_adapter_package_unsupported_op_writes_nothing(reject_models, targets, tmp_path):
    dest = tmp_path / "tflm-app"
    with pytest.raises(PipelineError, match="TANH"):
        cortex_m.package(_ctx(targets, tmp_path, reject_models["unsupported_tanh"], tflm_dir=str(dest)),
                         _inputs(tmp_path, reject_models["unsupported_tanh"]))
    assert not dest.exists()


def test_bench_and_run_with_tflm_never_pretend(zoo_models, targets, tmp_path):
    with pytest.raises(NotImplementedYet, match="cannot be compiled here") as err:
        cortex_m.bench(_ctx(targets, tmp_path, zoo_models["dense"]), _inputs(tmp_path, zoo_models["dense"]))
    assert "\n" not in str(err.value) and "engine 'tflm'" in str(err.value)
    with pytest.raises(NotImplementedYet, match="cannot be compiled here"):
        cortex_m.flash(targets.get("nrf52840dk"), zoo_models["dense"], "pyocd", {"engine": "tflm"})
    assert shutil.which("arm-none-eabi-gcc")
