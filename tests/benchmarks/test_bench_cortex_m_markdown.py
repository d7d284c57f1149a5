"""The suite's Markdown renders from a result dict: full rows, a model bakenn rejects (its error
is shown), a failed cell, and an empty result."""
from __future__ import annotations

from benchmarks import cortex_m_suite


def _engine(instr, ram, flash, exact=True):
    return {"instructions": instr, "mac_per_instruction": round(1000 / instr, 4), "arena_bytes": ram - 100,
            "stack_used_bytes": 100, "peak_ram_bytes": ram, "static_ram_plus_stack_bytes": ram + 50,
            "flash_bytes": flash, "sections": {".text": flash}, "exact_vs_tflm": exact}


RESULT = {
    "peer": {"name": "bakenn", "version": "1.0.0", "profile": "cortex-m4"},
    "notes": ["default student (digits, cortex-m4) skipped: PipelineError: no data"],
    "models": {
        "mlperf-ad": {
            "model": {"macs": 1000, "ops": ["FULLY_CONNECTED"], "params": 10, "model_bytes": 2048,
                      "macs_vs_anchor": 1.01, "size_vs_anchor": 1.1},
            "tflm_arena_bytes": 4096,
            "boards": {"cortex-m4": {"ours": _engine(2000, 1024, 30000), "bakenn": _engine(4000, 2048, 60000, exact=False),
                                     "ratios": {"instructions_ours_vs_bakenn": 0.5, "peak_ram_ours_vs_tflm_arena": 0.25}},
                       "cortex-m7": {"ours": {"error": "QemuRunError: boom"}, "bakenn": _engine(3000, 2048, 60000),
                                     "ratios": {}}},
        },
        "mlperf-kws": {
            "model": {"macs": 5000, "ops": ["CONV_2D", "SOFTMAX"]},
            "tflm_arena_bytes": None,
            "bakenn_error": "CompileError: unsupported TFLite builtin operator code 25",
            "boards": {"cortex-m4": {"ours": _engine(9000, 4096, 40000), "ratios": {}}},
        },
    },
}


def test_markdown_has_a_row_per_model_and_board_with_measured_numbers():
    md = cortex_m_suite.markdown(RESULT)
    rows = [ln for ln in md.splitlines() if ln.startswith("| mlperf-")]
    assert len(rows) == 3 + 2  # 3 board rows + 2 model-description rows
    ad_m4 = next(r for r in rows if "cortex-m4" in r and "mlperf-ad" in r)
    assert "2,000" in ad_m4 and "4,000" in ad_m4 and "0.50×" in ad_m4 and "0.25×" in ad_m4 and "✓/✗" in ad_m4
    assert "bakenn 1.0.0" in md


def test_markdown_shows_rejections_and_errors_instead_of_dropping_rows():
    md = cortex_m_suite.markdown(RESULT)
    kws = next(r for r in md.splitlines() if r.startswith("| mlperf-kws | 5,000 | cortex-m4"))
    assert "rejected" in kws
    assert "unsupported TFLite builtin operator code 25" in md
    assert "QemuRunError: boom" in md
    assert "student (digits, cortex-m4) skipped" in md


def test_markdown_of_an_empty_result_renders():
    md = cortex_m_suite.markdown({})
    assert md.strip().startswith("Peer: bakenn")


def test_markdown_checks_the_issue_goals_against_the_measurements():
    md = cortex_m_suite.markdown(RESULT)
    assert "Goals (issue #9)" in md
    assert "fewer instructions than bakenn: 1 of 1" in md       # only ad@m4 has both engines measured
    assert "peak RAM ≤ 0.6× TFLM arena: 1 of 1 cells" in md      # 0.25 on ad@m4


def test_the_method_record_has_every_boards_cflags_from_its_target_file(targets):
    """`make bench` records the flags each board was built with; they come from the target files
    (the suite read a BOARDS table the firmware module no longer has, and make bench failed)."""
    method = cortex_m_suite.method(targets)
    assert method["board_cflags"]["mps2-an386"][0] == "-mcpu=cortex-m4"
    assert set(method["board_cflags"]) == {b for _, b in cortex_m_suite.BOARDS}
    assert "-mthumb" in method["cflags"]
