"""`--engine tflm`: the exported TFLite Micro project. CI checks it up to the generated sources;
the tests at the end compile and run it when PIPELINE_TFLM_SRC points at a tflite-micro checkout
(with its downloads/ in place) and skip, saying why, otherwise."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.adapters import cortex_m
from pipeline.aot.tflm import export as tflm_export
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
def test_arena_is_the_32bit_estimate_plus_stated_margin(zoo_models, host_min, targets, name):
    data = zoo_models[name].read_bytes()
    p = tflm_export.render_project(data, targets.get("cortex-m7"))   # measures the minimum itself
    assert p.arena.host_min == host_min[name]
    rec = tflm_export.host_allocations(data, host_min[name])
    assert rec["head"] + rec["tail"] == rec["total"] <= host_min[name]
    t32 = tflm_export.target32_bytes(rec, host_min[name])
    # 32-bit pointers: fewer bytes than the x86-64 host needs, never fewer than the activations
    assert p.arena.target32 == t32 and rec["head"] < t32 < host_min[name]
    assert p.arena.basis == t32 and p.arena.basis_name == "32-bit estimate"
    scratch, _ = tflm_export.cmsis_nn_scratch(read_model(data), helium=False)
    slack = (512 + t32 // 32 + 15) // 16 * 16
    assert p.arena.margin == scratch + slack and p.arena.total == t32 + scratch + slack
    s = p.files["model_settings.h"]
    assert f"constexpr int kTensorArenaHostMin = {host_min[name]};" in s
    assert f"constexpr int kTensorArenaBasis = {t32};  // 32-bit estimate" in s
    assert f"constexpr int kTensorArenaMargin = {p.arena.margin};" in s
    assert f"constexpr int kTensorArenaSize = {p.arena.total};" in s
    assert "alignas(16) uint8_t tensor_arena[kTensorArenaSize];" in p.files["main.cc"]
    assert f"kTensorArenaSize = {p.arena.total}" in p.files["README.md"]


def test_conv_scratch_margin_counts_the_largest_conv(zoo_models):
    m = read_model(zoo_models["conv_stack"])   # conv 3x3x3 -> 4, depthwise 3x3 x4 -> 8, conv 1x1 8 -> 5
    scratch, where = tflm_export.cmsis_nn_scratch(m)
    # depthwise (Cout = 8): 4 * 8*3*3 * 2 + 4*8 = 608 > conv 3x3x3 -> 4: 4 * 27 * 2 + 4*4 = 232
    assert scratch == 608 and where.startswith("DEPTHWISE_CONV_2D")
    # DSP cores (M4/M7): depthwise 2 * 8*3*3 + 4*8 = 176 > conv 4 * 27 + 4*4 = 124
    scratch, where = tflm_export.cmsis_nn_scratch(m, helium=False)
    assert scratch == 176 and where.startswith("DEPTHWISE_CONV_2D")


def test_target32_recount_of_the_kws_record():
    """The record tflite_micro printed for KWS DS-CNN at its host minimum (24,192 B); TFLite Micro
    90b983c2 used 22,756 (reference) / 22,804 (CMSIS-NN) bytes of it on QEMU M4."""
    rec = {"total": 24192, "head": 16000, "tail": 8192, "records": {
        "TfLiteEvalTensor data": (816, 34), "Persistent TfLiteTensor data": (128, 2),
        "Persistent TfLiteTensor quantization data": (64, 4), "Persistent buffer data": (5568, 33),
        "NodeAndRegistration struct": (768, 12)}}
    # 8192 - 34*12 - 2*24 - 2*12 - 12*32 = 7328
    assert tflm_export.target32_bytes(rec) == 16000 + 7328
    assert 22804 <= tflm_export.target32_bytes(rec) < 24192


@pytest.mark.parametrize("tid,arch,mcpu", [("nucleo-f746zg", "cortex-m7+fp", "cortex-m7"),
                                           ("nrf52840dk", "cortex-m4+fp", "cortex-m4"),
                                           ("cortex-m55", "cortex-m55", "cortex-m55")])
def test_build_files_use_cmsis_nn_and_the_right_core(zoo_models, host_min, targets, tid, arch, mcpu):
    p = _project(zoo_models, host_min, "dense", targets.get(tid))
    mk, cm = p.files["Makefile"], p.files["CMakeLists.txt"]
    assert "OPTIMIZED_KERNEL_DIR ?= cmsis_nn" in mk and "TARGET := cortex_m_generic" in mk
    assert f"TARGET_ARCH := {arch}" in mk and f"-mcpu={mcpu}" in mk
    assert 'set(TFLM_OPTIMIZED_KERNEL_DIR cmsis_nn CACHE STRING' in cm and f"set(TFLM_TARGET_ARCH {arch})" in cm
    assert f"-mcpu={mcpu}" in cm
    for src in p.files:                       # our board support is built in
        if src.startswith("board/") and src.endswith(".c"):
            assert src in mk and src in cm
    # -nostartfiles drops __dso_handle: statics must not register destructors with __cxa_atexit
    assert "-fno-use-cxa-atexit" in mk and "-fno-use-cxa-atexit" in cm
    assert "\t+$(MAKE) $(TFLM_MAKE_ARGS) microlite" in mk        # the sub-make shares the jobserver
    assert "$(if $(TARGET_TOOLCHAIN_ROOT),TARGET_TOOLCHAIN_ROOT=$(TARGET_TOOLCHAIN_ROOT))" in mk
    assert "TARGET_TOOLCHAIN_ROOT=${TARGET_TOOLCHAIN_ROOT}" in cm
    # the toolchain file the README and CMakeLists name is shipped
    assert "-DCMAKE_TOOLCHAIN_FILE=arm-none-eabi.cmake" in cm and "-DCMAKE_TOOLCHAIN_FILE=arm-none-eabi.cmake" in p.files["README.md"]
    tc = p.files["arm-none-eabi.cmake"]
    assert "set(CMAKE_SYSTEM_NAME Generic)" in tc and "${TARGET_TOOLCHAIN_ROOT}arm-none-eabi-g++" in tc
    assert "make TFLM_DIR=$TFLM TARGET_TOOLCHAIN_ROOT=/usr/bin/ OPTIMIZED_KERNEL_DIR=" in p.files["README.md"]


def _make_var(proj, var, *args):
    res = subprocess.run(["make", "-s", "-C", str(proj), *args, "--eval", f"print-var: ; @echo $({var})", "print-var"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_makefile_library_dirs_toolchain_and_clean(zoo_models, host_min, targets, tmp_path):
    proj = tmp_path / "proj"
    tflm_export.export(zoo_models["dense"].read_bytes(), targets.get("cortex-m4"), proj, host_min=host_min["dense"])
    lib = "/x/gen/cortex_m_generic_cortex-m4+fp_release{}_gcc/lib/libtensorflow-microlite.a"
    assert _make_var(proj, "TFLM_LIB", "TFLM_DIR=/x") == lib.format("_cmsis_nn")
    assert _make_var(proj, "TFLM_LIB", "TFLM_DIR=/x", "OPTIMIZED_KERNEL_DIR=") == lib.format("")   # single _
    assert "-DCMSIS_NN" in _make_var(proj, "CXXFLAGS", "TFLM_DIR=/x")
    assert "-DCMSIS_NN" not in _make_var(proj, "CXXFLAGS", "TFLM_DIR=/x", "OPTIMIZED_KERNEL_DIR=")
    assert _make_var(proj, "CXX", "TFLM_DIR=/x", "TARGET_TOOLCHAIN_ROOT=/opt/gcc/bin/") == "/opt/gcc/bin/arm-none-eabi-g++"
    assert "TARGET_TOOLCHAIN_ROOT=/opt/gcc/bin/" in _make_var(proj, "TFLM_MAKE_ARGS", "TFLM_DIR=/x",
                                                              "TARGET_TOOLCHAIN_ROOT=/opt/gcc/bin/")
    assert "TARGET_TOOLCHAIN_ROOT" not in _make_var(proj, "TFLM_MAKE_ARGS", "TFLM_DIR=/x")
    (proj / "build").mkdir()
    res = subprocess.run(["make", "-C", str(proj), "clean"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and not (proj / "build").exists(), res.stderr      # no TFLM_DIR needed
    res = subprocess.run(["make", "-C", str(proj)], capture_output=True, text=True, timeout=30)
    assert res.returncode != 0 and "set TFLM_DIR to a tflite-micro checkout" in res.stderr


def test_firmware_protocol_matches_the_aot_firmware(zoo_models, host_min, targets):
    p = _project(zoo_models, host_min, "conv_stack", targets.get("cortex-m4"))
    cc = p.files["main.cc"]
    infer = cc.split("void cmd_infer", 1)[1].split("\n}\n", 1)[0]
    # the input is restored before every run (warm-up and timed), outside the timed region
    assert infer.count("restore_inputs();") == 2
    assert infer.index("restore_inputs();", infer.index("timer_start")) < infer.index("uint64_t t0")
    assert "memcpy(staged + staged_at(idx), dst, nbytes);" in cc
    # `mem` answers the AOT firmware's fields, `prof` the AOT firmware's format (no ERR)
    aot = (Path(__file__).parents[2] / "firmware" / "app" / "main.c").read_text()
    fields = lambda text: re.findall(r'uart_puts\("(?:OK mem | )(\w+)="\)', text.split("\n}", 1)[0])
    assert fields(cc.split("void cmd_mem", 1)[1]) == fields(aot.split("static void cmd_mem", 1)[1]) == \
        ["arena", "stack_used", "stack_size"]
    assert "ERR prof" not in cc and 'uart_puts("OK prof ");' in cc and 'uart_puts("END\\n");' in cc
    assert "class OpProfiler : public tflite::MicroProfilerInterface" in cc
    assert "nullptr, &profiler);" in cc
    s = p.files["model_settings.h"]
    m = read_model(zoo_models["conv_stack"])
    assert f"#define MODEL_NUM_OPS {len(m.operators)}u" in s


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
    from pipeline.aot.device.firmware import board_for
    cflags = list(board_for(targets.get(tid)).cflags)
    for src in sorted((tmp_path / "proj" / "board").glob("*.c")):
        res = subprocess.run(["arm-none-eabi-gcc", *cflags, "-mthumb", "-O2", "-std=c99", "-Wall", "-Werror",
                              f"-I{tmp_path / 'proj' / 'board'}", "-c", str(src), "-o", str(src.with_suffix(".o"))],
                             capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
    assert p.board == board_for(targets.get(tid)).machine


@pytest.fixture
def tflm_lacks(reject_models, tmp_path):
    """A model whose op TFLite Micro does not register (RELU_0_TO_1, what the converter makes of a
    PyTorch Hardsigmoid), as a .tflite file."""
    from shared_helpers import with_op_replaced
    path = tmp_path / "relu_0_to_1.tflite"
    path.write_bytes(with_op_replaced(reject_models["unsupported_exp"].read_bytes(), "EXP", "RELU_0_TO_1"))
    return path


def test_unsupported_op_fails_clearly(reject_models, targets, tmp_path):
    data = reject_models["unsupported_exp"].read_bytes()
    with pytest.raises(PipelineError, match=r"op EXP at operator #1 .*hint: TFLite Micro's EXP kernel is float32 only") as err:
        tflm_export.export(data, targets.get("nucleo-f746zg"), tmp_path / "proj", host_min=1)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "proj").exists()


def test_an_op_tflm_lacks_fails_clearly(tflm_lacks, targets, tmp_path):
    with pytest.raises(PipelineError, match=r"op RELU_0_TO_1 at operator #1 .*TFLite Micro has no kernel") as err:
        tflm_export.export(tflm_lacks.read_bytes(), targets.get("nucleo-f746zg"), tmp_path / "proj", host_min=1)
    assert "\n" not in str(err.value) and not (tmp_path / "proj").exists()


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
    assert art.meta["arena_bytes"] == art.meta["arena_basis_bytes"] + art.meta["arena_margin_bytes"]
    assert art.meta["arena_basis"] == "32-bit estimate" and art.meta["pointer_bytes"] == 4
    assert art.meta["arena_basis_bytes"] < art.meta["tflm_host_min_arena_bytes"]


def test_adapter_package_unsupported_op_writes_nothing(tflm_lacks, targets, tmp_path):
    dest = tmp_path / "tflm-app"
    with pytest.raises(PipelineError, match="RELU_0_TO_1"):
        cortex_m.package(_ctx(targets, tmp_path, tflm_lacks, tflm_dir=str(dest)),
                         _inputs(tmp_path, tflm_lacks))
    assert not dest.exists()


def test_bench_and_run_with_tflm_never_pretend(zoo_models, targets, tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINE_TFLM_SRC", raising=False)
    with pytest.raises(NotImplementedYet, match="cannot be compiled here") as err:
        cortex_m.bench(_ctx(targets, tmp_path, zoo_models["dense"]), _inputs(tmp_path, zoo_models["dense"]))
    assert "\n" not in str(err.value) and "engine 'tflm'" in str(err.value)
    with pytest.raises(NotImplementedYet, match="cannot be compiled here"):
        cortex_m.flash(targets.get("nrf52840dk"), zoo_models["dense"], "pyocd", {"engine": "tflm"})
    assert shutil.which("arm-none-eabi-gcc")


def test_tflm_src_must_be_a_checkout(tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINE_TFLM_SRC", raising=False)
    assert tflm_export.tflm_src_from({}) is None
    with pytest.raises(PipelineError, match="not a tflite-micro checkout"):
        tflm_export.tflm_src_from({"tflm_src": str(tmp_path)})
    monkeypatch.setenv("PIPELINE_TFLM_SRC", str(tmp_path))
    with pytest.raises(PipelineError, match="not a tflite-micro checkout"):
        tflm_export.tflm_src_from({})


def test_each_engine_and_kernel_set_builds_into_its_own_folder():
    """`pipeline compare build/*/report.json` can show AOT and TFLite Micro only if neither build
    overwrites the other."""
    from pipeline.build import build_folder
    names = [build_folder("cortex-m4", o) for o in
             ({}, {"engine": "aot"}, {"engine": "tflm"}, {"engine": "tflm", "tflm_kernels": "cmsis_nn"},
              {"engine": "tflm", "tflm_kernels": "reference"})]
    assert names == ["cortex-m4", "cortex-m4", "cortex-m4-tflm", "cortex-m4-tflm", "cortex-m4-tflm-reference"]


def test_flash_without_a_tflm_build_says_how_to_make_one(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pipeline.cli import cli
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["flash", "--target", "cortex-m4", "--engine", "tflm", "--tflm-kernels", "reference"])
    assert isinstance(res.exception, PipelineError)      # pipeline.cli.main prints it as one line, exit 2
    msg = str(res.exception)
    assert "cortex-m4-tflm-reference/bench/work/tflm/firmware.elf" in msg and "--engine tflm --tflm-src PATH" in msg


# --- compiled with a real tflite-micro checkout (PIPELINE_TFLM_SRC); skipped otherwise -------------

TFLM_SRC = os.environ.get("PIPELINE_TFLM_SRC")
needs_tflm = pytest.mark.skipif(
    not TFLM_SRC, reason="PIPELINE_TFLM_SRC is not set: no tflite-micro checkout to compile the TFLM firmware with")


@needs_tflm
@pytest.mark.may_skip("needs a user's tflite-micro checkout (PIPELINE_TFLM_SRC); no registry here has one")
@pytest.mark.slow
@pytest.mark.parametrize("name", ["conv_stack", "dense"])
def test_compiled_tflm_firmware_is_byte_exact_in_qemu(zoo_models, host_min, targets, tmp_path, name):
    import numpy as np

    from pipeline.aot.device.protocol import QemuLink, session
    from pipeline.aot.tflm.reference import random_inputs, tflm_run
    data = zoo_models[name].read_bytes()
    m = read_model(data)
    target = targets.get("cortex-m4")
    p = tflm_export.export(data, target, tmp_path / "proj", host_min=host_min[name])
    build = tflm_export.build_project(tmp_path / "proj", tflm_export.tflm_src_from({}))
    assert build.flash_bytes > len(data)
    with session(QemuLink(build.elf, "mps2-an386"), 60) as dev:
        ident = dev.identify()
        assert ident.engine == "tflm" and ident.model == m.sha256 and ident.arena == p.arena.total
        for seed in range(3):
            xs = random_inputs(m, seed)
            dev.load_input(0, np.ascontiguousarray(xs[0]).tobytes())
            want = np.asarray(tflm_run(m, data, xs)[0]).astype(m.tensors[m.outputs[0]].dtype).tobytes()
            dev.infer(1, 0)
            assert dev.read_output(0) == want
            dev.infer(2, 1)                                   # again, without a new input
            assert dev.read_output(0) == want
        mem = dev.memory()
        assert set(mem) == {"arena", "stack_used", "stack_size"} and 0 < mem["arena"] <= p.arena.total
        assert isinstance(dev.profile(), dict)
