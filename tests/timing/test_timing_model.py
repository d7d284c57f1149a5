"""The modelled Cortex-M cycles (pipeline/timing/): our QEMU plugin's instruction stream, the M4
table against the TRM on the validation loops, the firmware region against SysTick, the [timing]
table of the target files."""
import shutil

import pytest

from pipeline.errors import PipelineError
from pipeline.timing import microbench, model, profile
from pipeline.timing.profile import Insn

needs_qemu = pytest.mark.skipif(any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "qemu-system-arm", "gcc")),
                                reason="needs arm-none-eabi-gcc, qemu-system-arm and gcc")


@pytest.mark.parametrize("mnemonic, operands, cls", [
    ("ldr.w", "r1, [r4, #4]", "load"), ("ldrbeq", "r1, [r2]", "load"), ("ldr", "pc, [sp], #4", "load_pc"),
    ("pop", "{r4, r5, pc}", "load_pc"), ("pop", "{r4, r5}", "load_multiple"), ("smlals", "r0, r1, r2, r3", "multiply"),
    ("bl", "100 <f>", "branch"), ("bls.n", "40 <f+0x4>", "branch"), ("bx", "lr", "branch_indirect"),
    ("str", "r1, [r2, r3]", "store_register_offset"), ("str.w", "r1, [r2, #8]", "store"), ("vmls.f32", "s0, s1, s2", "fp_mac"),
    ("sxtb16", "r1, r2, ror #8", "alu"), ("mov", "pc, lr", "branch_indirect"), ("sdiv", "r0, r1, r2", "divide"),
])
def test_classes(mnemonic, operands, cls):
    assert model.classify(Insn(0, 4, mnemonic, operands)) == cls


def test_register_lists():
    assert model.register_count(Insn(0, 2, "push", "{r4, r5, r6, r7, lr}")) == 5
    assert model.register_count(Insn(0, 4, "ldmia.w", "r0!, {r1-r3, r5}")) == 4
    assert model.register_count(Insn(0, 4, "vpush", "{d8-d9}")) == 4


def test_unknown_core_is_one_line_error():
    with pytest.raises(PipelineError, match="no cycle table for core 'cortex-m0'"):
        model.table_for("cortex-m0")


def test_plugin_output_parser_rejects_garbage():
    p = profile.parse("R 1\nI 3a 2 0131\nC 3a 0 100 0\n")
    assert p.regions == 1 and p.exec[(0x3A, 0)] == 100 and p.instructions == 100
    with pytest.raises(PipelineError, match="unexpected line"):
        profile.parse("R 1\nX nonsense\n")


def test_timing_table_is_validated(tmp_path):
    from pipeline.targets import load_all, load_file
    t = load_all().get("cortex-m4")
    assert t.timing.clock_mhz == 120 and t.timing.flash_wait_states == 5 and t.clock_mhz == 25
    text = open(t.source).read()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("flash_wait_states = 5", "flash_wait_states = -1"))
    with pytest.raises(PipelineError, match="flash_wait_states"):
        load_file(bad)
    bad.write_text(text.replace("flash_cache = true", "flash_cache = true\nwaits = 3"))
    with pytest.raises(PipelineError, match="waits"):
        load_file(bad)


@needs_qemu
@pytest.mark.emulator
def test_m4_model_within_10_percent_of_the_trm_on_every_class(tmp_path):
    """Issue #21's acceptance: <= 10 % on the M4 validation loops. The reference is the TRM applied
    by hand (microbench.EXPECTED_M4), computed apart from the model; the instruction counts are the
    plugin's and must be the exact dynamic counts of the loops."""
    rows = {r["benchmark"]: r for r in microbench.run(tmp_path)}
    assert set(rows) == set(microbench.EXPECTED_M4)
    # 100 iterations: setup + 100 x (body + SUBS + BNE) + BX LR, exactly (the NOP skipped by B is not run)
    assert rows["bench_alu"]["instructions"] == 1 + 100 * 10 + 1
    assert rows["bench_branch"]["instructions"] == 1 + 100 * 4 + 1
    assert rows["bench_call"]["instructions"] == 2 + 100 * 5 + 1
    for name, r in rows.items():
        assert abs(r["error"]) <= microbench.TOLERANCE, f"{name}: model {r['cycles_modelled']} vs TRM {r['cycles_trm']}"
    # The load classes must really differ: pipelining, LDM's 1+N and the stores' single cycle are all in play
    assert rows["bench_load_pipelined"]["cycles_modelled"] < rows["bench_load_interleaved"]["cycles_modelled"]
    assert rows["bench_ldm_stm"]["by_class"] == {"alu": 102, "branch": 100, "branch_indirect": 1, "load": 1,
                                                 "load_multiple": 100, "store_multiple": 100}


@needs_qemu
@pytest.mark.emulator
def test_firmware_region_matches_systick_and_splits_per_operator(zoo_models, targets, tmp_path):
    """Our firmware on the M4: the plugin's count of `run_once` agrees with the firmware's own SysTick
    count (checked inside time_model), per-operator cycles add up to the total, and ms follow from
    the [timing] clock (120 MHz), not the 25 MHz QEMU board clock."""
    from pipeline.aot.compile.compiler import compile_model
    from pipeline.aot.tflm.reference import random_inputs
    from pipeline.timing.firmware import time_model
    c = compile_model(zoo_models["conv_stack"].read_bytes())
    x = random_inputs(c.model, 0)[0]
    r = time_model(c, targets.get("cortex-m4"), tmp_path, x)
    assert r["unit"] == "cycles (modelled)" and r["instructions"] > 1000
    assert -40 <= r["systick_instructions"] - r["instructions"] <= 200
    assert r["instructions"] < r["cycles"] < 3 * r["instructions"]
    assert set(r["op_cycles"]) == {s.index for s in c.steps}
    assert abs(sum(r["op_cycles"].values()) - r["cycles"]) <= len(c.steps)
    assert r["ms"] == pytest.approx(r["cycles_with_flash"] / 120_000.0)
    assert r["flash"]["worst_case_cycles"] == 5 * r["taken_branches"] > 0
    again = time_model(c, targets.get("cortex-m4"), tmp_path / "b", x)
    assert again["cycles"] == r["cycles"]   # deterministic: the same ELF and input, the same stream


@needs_qemu
@pytest.mark.emulator
def test_bench_report_carries_modelled_cycles_beside_instructions(zoo_models, targets, tmp_path):
    """`pipeline bench` on the M4: the report keeps the measured instructions as its latency and adds
    latency.modelled (cycles, ms at the [timing] clock), valid against the report schema; the op table
    gets modelled cycles per operator. A report written before this change still validates."""
    import json
    import shutil

    from pipeline.adapters import cortex_m
    from pipeline.report import io
    from pipeline.stages.base import Artifact, Context
    from pipeline.stages.progress import Progress
    path = zoo_models["dense"]
    d = tmp_path / "convert"
    d.mkdir()
    shutil.copy(path, d / "model_int8.tflite")
    ctx = Context(config=None, target=targets.get("cortex-m4"), out_dir=tmp_path / "bench", build_dir=tmp_path,
                  progress=Progress(enabled=False), model_path=path, options={})
    cortex_m.bench(ctx, {"convert": Artifact(stage="convert", dir=d, meta={})})
    std = json.loads((tmp_path / "bench" / "bench.json").read_text())
    lat = std["latency"]
    assert lat["unit"] == "instructions" and lat["modelled"]["unit"] == "cycles (modelled)"
    mod = lat["modelled"]
    assert mod["clock_mhz"] == 120 and mod["ms"] == pytest.approx(mod["cycles"] / 120_000.0)
    assert mod["instructions"] - 40 <= lat["median"] <= mod["instructions"] + 200 < mod["cycles"]
    assert "modelled, not measured" in mod["note"] and mod["flash_wait_states"] == 5
    raw = json.loads((tmp_path / "bench" / "aot-bench.json").read_text())
    assert all(isinstance(op["cycles_modelled"], int) and op["cycles_modelled"] > 0 for op in raw["ops"])
    assert abs(sum(op["cycles_modelled"] for op in raw["ops"]) - mod["cycles"]) <= len(raw["ops"])
    report = io.build_report(target={"id": "cortex-m4", "kind": "cortex-m"}, **{k: std[k] for k in ("device", "runtime", "latency", "model")})
    io.validate(report)
    old = json.loads(json.dumps(report))
    del old["latency"]["modelled"]
    io.validate(old)
    bad = json.loads(json.dumps(report))
    bad["latency"]["modelled"]["unit"] = "cycles"
    with pytest.raises(PipelineError, match="modelled"):
        io.validate(bad)


def test_flash_term_is_separate_and_follows_the_cache_flag():
    t = model.Timing("cortex-m4", "", instructions=100, cycles=150.0, taken_branches=10, pipelined_loads=0)
    assert model.Flash(5, cache=False).cycles(t) == 50 == model.Flash(5, cache=True).worst_case(t)
    assert model.Flash(5, cache=True).cycles(t) == 0 and t.cycles == 150.0


@needs_qemu
@pytest.mark.emulator
def test_a_function_the_elf_lacks_or_a_crashed_run_is_a_one_line_error(tmp_path):
    elf = microbench.build(tmp_path)
    with pytest.raises(PipelineError, match="no function 'no_such_function'"):
        profile.run_profiled(elf, "mps2-an386", [], "no_such_function")
    # leaf is reached only through bench_call's BL; timing `reset` has no caller at all
    with pytest.raises(PipelineError, match="nothing in the firmware calls 'reset'"):
        profile.run_profiled(elf, "mps2-an386", [], "reset")


def test_compare_shows_modelled_latency_labelled_beside_the_measured_instructions():
    import copy

    from pipeline.report import io
    from pipeline.report.table import build_table
    from tests.report import examples
    old = examples.cortex_m()
    new = copy.deepcopy(old)
    new["latency"]["modelled"] = {"unit": "cycles (modelled)", "cycles": 4394308.0, "ms": 36.62, "clock_mhz": 120.0,
                                  "model": "Arm Cortex-M4 TRM", "part": "STM32L4R5 @ 120 MHz"}
    io.validate(new)
    t = build_table([old, new], ["old", "new"])
    rows = dict(t.rows)
    assert rows["latency modelled"] == ["—", "4,394,308 cycles = 36.62 ms @ 120 MHz (modelled)"]
    assert rows["latency median"][0] == rows["latency median"][1]      # the measured figure is unchanged
    assert any("not a measurement" in n for n in t.notes)
    assert "latency modelled" not in dict(build_table([old, old], ["a", "b"]).rows)


@pytest.mark.parametrize("prev, insn, dependent", [
    (("adds", "r1, r1, #1"), ("eors", "r2, r1"), True),       # reads r1
    (("adds", "r1, r1, #1"), ("eors", "r2, r3"), False),      # r2 ^= r3: no r1
    (("lsls", "r3, r2, #2"), ("adds", "r4, r5, r6"), False),
    (("cmp", "r3, r2"), ("adds", "r3, r3, r6"), False),       # a compare writes no register
    (("str", "r3, [r2]"), ("adds", "r4, r3, r6"), False),
    (("adds", "r3, r2, #1"), ("mov", "r3, r5"), False),       # MOV does not read its destination
])
def test_m7_dual_issue_dependency(prev, insn, dependent):
    from pipeline.timing.model import _reads_result_of
    got = _reads_result_of(Insn(4, 2, *insn), Insn(2, 2, *prev))
    assert got == dependent
