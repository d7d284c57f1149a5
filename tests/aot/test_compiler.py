"""Build-time behaviour: errors, memory plan invariants, generated file headers."""
import re

import pytest

from pipeline.aot.compile.compiler import compile_model, write_sources
from pipeline.aot.compile.plan import ALIGN
from pipeline.errors import PipelineError


def test_unsupported_op_names_op_and_index(reject_models):
    with pytest.raises(PipelineError, match=r"operator 1 \(EXP\) is not supported .*only on float") as err:
        compile_model(reject_models["unsupported_exp"])
    assert "\n" not in str(err.value)


def test_memory_plan_never_overlaps_live_tensors(zoo_models):
    for name, path in zoo_models.items():
        c = compile_model(path)
        bufs = list(c.memory.buffers.values())
        for b in bufs:
            assert b.offset % ALIGN == 0 and b.offset + b.size <= c.arena_bytes
        for i, a in enumerate(bufs):
            for b in bufs[i + 1:]:
                live = a.first <= b.last and b.first <= a.last
                disjoint = a.offset + a.size <= b.offset or b.offset + b.size <= a.offset
                in_place = c.memory.aliases.get(a.tensor) == b.tensor or c.memory.aliases.get(b.tensor) == a.tensor
                assert not live or disjoint or (in_place and a.offset == b.offset), (name, a, b)
        assert c.arena_bytes <= c.memory.naive_bytes


def test_input_bytes_are_reused_after_their_last_reader(zoo_models):
    c = compile_model(zoo_models["conv_stack"])
    inp = c.memory.buffers[c.model.inputs[0]]
    assert inp.last == 0            # read by operator 0 only, then free like any other tensor
    later = [b for b in c.memory.buffers.values() if b.first > 0]
    assert any(b.offset < inp.offset + inp.size and inp.offset < b.offset + b.size for b in later)
    header = c.sources.files["aot_model.h"]
    assert "#define AOT_INPUTS_CONSUMED 1" in header and f"#define AOT_INPUT_STAGING_BYTES {inp.size}u" in header


def test_reuse_saves_memory(zoo_models):
    c = compile_model(zoo_models["conv_stack"])
    assert c.arena_bytes < c.memory.naive_bytes


def test_generated_files_carry_the_model_hash(zoo_models, tmp_path):
    c = compile_model(zoo_models["residual"])
    out = write_sources(c, tmp_path / "gen")
    for name in ("aot_model.c", "aot_model.h"):
        first = (out / name).read_text().splitlines()[0]
        assert f"generated from {c.model.sha256}" in first
    text = (out / "aot_model.c").read_text()
    assert re.search(r"static const int8_t op0_w\[\d+\] __attribute__\(\(aligned\(16\)\)\)", text)
    assert f"#define AOT_ARENA_BYTES {c.arena_bytes}u" in (out / "aot_model.h").read_text()


def test_generation_is_deterministic(zoo_models):
    a = compile_model(zoo_models["broadcast"]).sources.files
    b = compile_model(zoo_models["broadcast"].read_bytes()).sources.files
    assert a == b


def test_garbage_is_a_one_line_error(tmp_path):
    p = tmp_path / "x.tflite"
    p.write_bytes(b"\x00" * 64)
    with pytest.raises(PipelineError):
        compile_model(p)


def test_fuzzed_models_compile_or_fail_cleanly(zoo_models):
    """Any byte-mutated model either compiles or raises a one-line PipelineError."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    seed = zoo_models["conv_stack"].read_bytes()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.integers(0, len(seed) - 1), st.integers(0, 255)), min_size=1, max_size=4))
    def inner(edits):
        b = bytearray(seed)
        for pos, val in edits:
            b[pos] = val
        try:
            compile_model(bytes(b))
        except PipelineError as err:
            assert "\n" not in str(err)
    inner()


def test_tflm_arena_is_the_exact_minimum(zoo_models):
    from tflite_micro.python.tflite_micro import runtime

    from pipeline.aot.tflm.reference import _quiet_stderr, tflm_arena_bytes
    data = zoo_models["residual"].read_bytes()
    n = tflm_arena_bytes(data)
    runtime.Interpreter.from_bytes(data, arena_size=n)
    with _quiet_stderr(), pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(data, arena_size=n - 1)
    assert compile_model(data).arena_bytes < n  # our plan holds activations only


def test_one_multiply_requantization_needs_a_bounded_accumulator():
    """The kernels double the accumulator (aot_rq2), so a layer whose |accumulator| can reach 2^30
    keeps the reference's general path: the bound is |bias| + 255 * sum|w| per output."""
    import numpy as np

    from pipeline.aot.compile.step import acc_bound, rq_consts
    from pipeline.aot.compile.quant import FAST_RQ_MAX_ACC
    w = np.array([[127, -128, 3], [1, 2, 3]], np.int8)
    assert acc_bound(w, None) == 255 * 258
    assert acc_bound(w, np.array([-10, 5])) == 255 * 258 + 10
    ms = [(1 << 30, -3), (1518500250, -5)]
    rec = rq_consts("op0_rq", ms, -7, FAST_RQ_MAX_ACC - 1)
    assert rec is not None and list(rec.values) == [1 << 30, 4 - 7 * 8, 3, 1518500250, 16 - 7 * 32, 5]
    assert rq_consts("op0_rq", ms, -7, FAST_RQ_MAX_ACC) is None
    assert rq_consts("op0_rq", [(1 << 30, 1)], 0, 0) is None   # a left shift: general path


def test_gemm_accumulator_starts_are_laid_out_for_one_ldm():
    from pipeline.aot.compile.compiler import gemm_acc0_layout
    assert gemm_acc0_layout([10, 11, 20, 21]).tolist() == [11, 10, 10, 11, 21, 20, 20, 21]
    assert gemm_acc0_layout([10, 11, 5]).tolist() == [11, 10, 10, 11, 5, 5, 5, 5]
