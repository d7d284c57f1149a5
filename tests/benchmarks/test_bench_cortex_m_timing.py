"""The timing suite's Markdown renders from a result dict: ours and bakenn in modelled cycles and
ms, the published X-CUBE-AI row labelled as such with cycles = ms x clock, a failed cell shown with
its error, the validation table."""
from __future__ import annotations

from benchmarks import cortex_m_timing


def _row(instr, cycles, ms):
    return {"instructions": instr, "cycles": cycles, "ms": ms, "ms_worst_case": ms * 1.1, "mac_per_cycle": 2656768 / cycles}


RESULT = {
    "target": "cortex-m4", "part": "STM32L4R5 @ 120 MHz", "clock_mhz": 120.0, "anchor": cortex_m_timing.ANCHOR,
    "notes": [],
    "validation": {"reference": "TRM by hand", "max_abs_error": 0.031,
                   "rows": [{"benchmark": "bench_alu", "instructions": 1002, "cycles_modelled": 1103.0,
                             "cycles_trm": 1103, "error": 0.0}]},
    "models": {
        "kws": {"macs": 2656768, "anchor_ms": 43.4, "ours": _row(2589902, 4394308, 36.62),
                "bakenn": _row(22104607, 27640106, 230.33)},
        "ad": {"macs": 264192, "anchor_ms": 4.79, "ours": {"error": "PipelineError: boom"},
               "bakenn": {"error": "bakenn rejects the model: x"}},
    },
}


def test_rows_anchor_and_validation():
    md = cortex_m_timing.markdown(RESULT)
    assert "| kws | 2,656,768 | ours | 2,589,902 | 4,394,308 | 36.62 |" in md
    assert "| kws | 2,656,768 | bakenn | 22,104,607 | 27,640,106 | 230.33 |" in md
    # the published row: 43.4 ms at 120 MHz = 5,208,000 cycles, 0.510 MAC/cycle, marked published
    assert "| kws | 2,656,768 | X-CUBE-AI 10.2 (published) | – | 5,208,000 (= ms × clock) | 43.4 | – | 0.510 |" in md
    assert "| ad | 264,192 | ours | error |" in md and "`PipelineError: boom`" in md
    assert "max |error| 3.1 %" in md and "| bench_alu | 1002 | 1103 | 1103 | +0.0 % |" in md
    assert "Modelled, not measured" in md and "mlcommons/tiny_results_v1.3" in md


def test_anchor_figures_are_the_published_ones():
    assert cortex_m_timing.ANCHOR["ms"]["kws"] == 43.4 and cortex_m_timing.ANCHOR["clock_mhz"] == 120
