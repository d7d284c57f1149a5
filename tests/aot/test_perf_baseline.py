"""Issue #24: compiling out the DSP path, or one more instruction in a kernel's inner loop, fails here.

The gate rebuilds every baseline model (benchmarks/perf_baseline.py) for the M4, M7 and M55 boards,
runs one inference and one `prof` under QEMU -icount (exact instruction counts) and compares with
tests/aot/perf_baseline.json. The disassembly checks prove the fast paths are in those same ELFs, and
the M4 build without __ARM_FEATURE_DSP proves both checks can fail."""
import re
import subprocess
import warnings

import pytest

from benchmarks import perf_baseline as pb

from .exactness import needs_qemu


def on_qemu(test):
    """Builds firmware and runs it under QEMU: ~55 s for the module's measurements on 2 cores."""
    return needs_qemu(pytest.mark.emulator(pytest.mark.slow(test)))


# What the README promises per core, by kernel function (firmware/kernels), as objdump spells it.
# M4/M7: the GEMM assembly (gemm_dsp.c) and the C dot products of conv.c / fc.c (aot_dot.h, __smlad).
# M55: the Helium GEMM (gemm.c): VMLADAVA.S8, which objdump 2.40 prints as vmlava(t).s8 (the t is the
# VPT predicate), tail-predicated VLDRB and the VCTP that makes the predicate.
SMLAD = {"aot_gemm2x2_dsp": ("smlad",), "aot_conv_s8": ("smlad", "sxtb16"), "aot_fc_s8": ("smlad", "sxtb16")}
FAST_PATH = {"cortex-m4": SMLAD, "cortex-m7": SMLAD,
             "cortex-m55": {"aot_gemm_run2": (r"vmlava[te]?\.s8", r"vldrb[te]?\.[su]8", r"vctp\.8")}}
# The model whose ELFs are disassembled: CONV_2D 3x3 and FULLY_CONNECTED reach all the functions above.
DISASSEMBLED = "residual"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    # converted here, not taken from the zoo_models folder or build/bench/mlperf: a file another
    # process state wrote has other layer names, so another sha256 (pb.models)
    return pb.models(tmp_path_factory.mktemp("perf-models"))


@pytest.fixture(scope="module")
def measured(models, tmp_path_factory):
    work = tmp_path_factory.mktemp("perf")
    return work, pb.measure_all(models, work)


@pytest.fixture(scope="module")
def no_dsp(models, tmp_path_factory):
    """The M4 firmware of DISASSEMBLED with the DSP path compiled out: every kernel takes its
    portable C loop (aot_kernels.h, aot_dot.h, aot_gemm.h test __ARM_FEATURE_DSP)."""
    from pipeline.targets import load_all
    work = tmp_path_factory.mktemp("perf-nodsp")
    got = pb.measure(models[DISASSEMBLED][0], load_all().get("cortex-m4"), work, extra_cflags=("-U__ARM_FEATURE_DSP",))
    return work / "firmware.elf", got


def _baseline() -> dict:
    from pipeline.errors import PipelineError
    try:
        return pb.load()
    except PipelineError as err:
        pytest.fail(str(err), pytrace=False)


def mnemonics(elf) -> dict[str, list[str]]:
    """function -> its instructions' mnemonics, from `arm-none-eabi-objdump -d`. `-m armv8.1-m.main`
    is needed for Helium: without it objdump 2.40 decodes MVE as coprocessor instructions (ldc)."""
    out = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", "-m", "armv8.1-m.main", str(elf)],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    fns: dict[str, list[str]] = {}
    cur = None
    for ln in out.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.+)>:$", ln)
        if head:
            cur = fns.setdefault(head.group(1), [])
        elif cur is not None and (ins := re.match(r"^\s*[0-9a-f]+:\t(\S+)", ln)):
            cur.append(ins.group(1))
    return fns


def missing_fast_path(elf, core: str) -> list[str]:
    """One line per promised instruction that a kernel function lacks (or a function not linked)."""
    fns = mnemonics(elf)
    lines = []
    for fn, wanted in FAST_PATH[core].items():
        for pattern in wanted:
            if fn not in fns:
                lines.append(f"{core}: kernel function {fn} is not in {elf.name}")
            elif not any(re.fullmatch(pattern, m) for m in fns[fn]):
                lines.append(f"{core}: no {pattern} in {fn} ({len(fns[fn])} instructions)")
    return lines


@on_qemu
def test_no_figure_rose_over_the_baseline(measured):
    _, got = measured
    rises, drops = pb.compare(_baseline(), got)
    for line in drops:
        warnings.warn(f"perf baseline: {line}")
    if rises:   # the lines alone, without pytest's repr of the list
        pytest.fail(f"{len(rises)} figure(s) rose more than {pb.TOLERANCE:.1%} over {pb.BASELINE.name} "
                    f"(a deliberate change: `make perf-baseline`):\n" + "\n".join(rises), pytrace=False)


@on_qemu
@pytest.mark.parametrize("core", pb.CORES)
def test_kernels_hold_the_fast_path_instructions(core, measured):
    work, _ = measured
    missing = missing_fast_path(work / DISASSEMBLED / core / "firmware.elf", core)
    if missing:
        pytest.fail("the fast path is not in the firmware:\n" + "\n".join(missing), pytrace=False)


@on_qemu
def test_without_dsp_the_smlad_path_is_gone_and_the_gate_fails(no_dsp):
    elf, got = no_dsp
    fns = mnemonics(elf)
    assert not [fn for fn, ms in fns.items() if "smlad" in ms or "sxtb16" in ms]
    assert len(missing_fast_path(elf, "cortex-m4")) >= 3       # gemm2x2_dsp unlinked, no smlad in conv/fc
    rises, _ = pb.compare(_baseline(), {DISASSEMBLED: {"cortex-m4": got}})
    # measured when written: 78200 -> 181240 instructions (+132 %), both CONV_2D ~2.5x
    assert any(r.startswith(f"{DISASSEMBLED} cortex-m4 instructions: ") for r in rises), rises


def test_compare_names_each_rise_on_one_line_and_tolerates_half_a_percent():
    tick = 40.0
    base = {"models": {"m": {"cortex-m4": {"sha256": "a" * 64, "tick": tick, "figures": {
        "instructions": 100000, "op0 CONV_2D instructions": 200, "flash_bytes": 20000}}}}}

    def now(**fig):
        return {"m": {"cortex-m4": {"sha256": "a" * 64, "tick": tick,
                                    "figures": {**base["models"]["m"]["cortex-m4"]["figures"], **fig}}}}

    assert pb.compare(base, now(instructions=100500, flash_bytes=20100)) == ([], [])      # +0.5 %: in
    assert pb.compare(base, now(**{"op0 CONV_2D instructions": 240})) == ([], [])          # one tick
    m55 = now(**{"op0 CONV_2D instructions": 232})     # 200 + one 31.25 tick, both readings rounded
    m55["m"]["cortex-m4"]["tick"] = 31.25
    assert pb.compare(base, m55) == ([], [])
    rises, drops = pb.compare(base, now(instructions=100520, flash_bytes=19000))
    assert rises == ["m cortex-m4 instructions: 100000 -> 100520, +0.5 %"]
    assert drops == ["m cortex-m4 flash_bytes: 20000 -> 19000, -5.0 % (tighten: run `make perf-baseline`)"]
    assert pb.compare(base, now(**{"op0 CONV_2D instructions": 280}))[0] == [
        "m cortex-m4 op0 CONV_2D instructions: 200 -> 280, +40.0 %"]
    missing = pb.compare({"models": {}}, now())[0]
    assert missing == ["m cortex-m4: no baseline entry in perf_baseline.json: run `make perf-baseline`"]
    other = now(instructions=101000)
    other["m"]["cortex-m4"]["sha256"] = "b" * 64
    rises, drops = pb.compare(base, other)
    assert rises == ["m cortex-m4 instructions: 100000 -> 101000, +1.0 % (model sha256 differs from the baseline's)"]
    assert drops == ["m cortex-m4: model sha256 bbbbbbbbbbbb is not the baseline's aaaaaaaaaaaa "
                     "(if the model changed: run `make perf-baseline`)"]


def test_a_missing_or_broken_baseline_file_is_one_line_naming_the_fix(tmp_path):
    from pipeline.errors import PipelineError
    with pytest.raises(PipelineError, match=r"missing: run `make perf-baseline`$"):
        pb.load(tmp_path / "none.json")
    for text in ("{", '{"models": {"m": {"cortex-m4": {"figures": {}}}}}', "[]"):
        (tmp_path / "b.json").write_text(text)
        with pytest.raises(PipelineError, match=r"is not a perf baseline .*: run `make perf-baseline`$"):
            pb.load(tmp_path / "b.json")
    assert pb.load(pb.BASELINE)["models"]["mlperf_kws"]["cortex-m4"]["figures"]["instructions"] > 0
