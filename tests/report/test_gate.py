"""Regression gate: rule syntax, pass and fail on crafted baselines, through compare_command too."""
from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.report.compare import compare_command
from pipeline.report.gate import Rule, check, parse_fail_on

from .examples import cortex_m, physical_pi, rpi

RULES = "latency:+10%,accuracy:-0.5pt,ram:+5%"


def test_parse_rules():
    assert parse_fail_on(" latency:+10%, accuracy:-0.5pt ,ram:5%,flash:+1.5%,arena:+0%,model_bytes:+2%") == [
        Rule("latency", 10.0, "%"), Rule("accuracy", 0.5, "pt"), Rule("ram", 5.0, "%"),
        Rule("flash", 1.5, "%"), Rule("arena", 0.0, "%"), Rule("model_bytes", 2.0, "%"),
    ]


@pytest.mark.parametrize("spec, expected", [
    ("latncy:+10%", "unknown metric 'latncy' in 'latncy:+10%'; did you mean 'latency'? allowed metrics: "
                    "accuracy, arena, flash, latency, latency_p90, model_bytes, ram"),
    ("latency+10%", "bad rule 'latency+10%'"),
    ("latency:+10", "bad rule 'latency:+10'"),
    ("ram:+5pt", "'pt' (percentage points) applies to accuracy only"),
    ("latency:-10%", "latency regresses when it goes up; write latency:+10%"),
    ("accuracy:+0.5pt", "accuracy regresses when it goes down; write accuracy:-0.5pt"),
    ("latency:+1%,,ram:+1%", "empty rule"),
    ("latency:+1%,latency:+2%", "metric 'latency' given twice"),
])
def test_bad_syntax_names_the_token(spec, expected):
    with pytest.raises(PipelineError) as info:
        parse_fail_on(spec)
    assert expected in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("--fail-on: ")


def test_identical_report_passes():
    assert check(cortex_m(), cortex_m(), parse_fail_on(RULES)).passed


def test_each_offending_metric_is_one_line():
    base, cur = cortex_m(), cortex_m()
    cur["latency"]["median"] *= 1.2  # +20% > +10%
    cur["accuracy"]["value"] -= 0.006  # -0.6pt > -0.5pt
    cur["memory"]["peak_ram_bytes"] = int(base["memory"]["peak_ram_bytes"] * 1.04)  # +4% < +5%: fine
    result = check(cur, base, parse_fail_on(RULES), "cortex-m4")
    assert len(result.failures) == 2
    assert result.failures[0].startswith("cortex-m4: latency 4,944,000 instructions vs baseline 4,120,000 "
                                         "instructions (+20.0%, limit latency:+10%)")
    assert result.failures[1] == "cortex-m4: accuracy 97.40% vs baseline 98.00% (-0.60pt, limit accuracy:-0.5pt)"


def test_within_limits_passes_and_improvements_pass():
    base, cur = cortex_m(), cortex_m()
    cur["latency"]["median"] *= 1.09
    cur["accuracy"]["value"] -= 0.004
    cur["memory"]["flash_bytes"] = 10  # much smaller: an improvement
    assert check(cur, base, parse_fail_on(RULES + ",flash:+0%")).passed


def test_exactly_at_the_limit_passes():
    base, cur = cortex_m(), cortex_m()
    cur["accuracy"]["value"] = 0.975  # -0.5pt, which is 0.50000000000000044 in floating point
    cur["latency"]["median"] = base["latency"]["median"] * 1.1
    assert check(cur, base, parse_fail_on("accuracy:-0.5pt,latency:+10%")).passed


def test_ram_of_different_kinds_is_not_compared():
    failures = check(rpi(), cortex_m(), parse_fail_on("ram:+5%")).failures
    assert failures == ["current: ram: cannot check, the baseline has peak RAM but the report has peak RSS"]


def test_ram_flash_arena_model_bytes():
    base, cur = cortex_m(), cortex_m()
    cur["memory"]["peak_ram_bytes"] += 1000
    cur["memory"]["arena_bytes"] += 1
    cur["memory"]["flash_bytes"] += 5000
    cur["model"]["bytes"] += 1
    failures = check(cur, base, parse_fail_on("ram:+5%,arena:+0%,flash:+5%,model_bytes:+0.001%")).failures
    assert [f.split(" ")[1] for f in failures] == ["ram", "arena", "flash", "model_bytes"]


def test_latency_units_are_converted_between_ms_and_us():
    base, cur = physical_pi(), physical_pi()
    cur["latency"].update(unit="us", median=1300.0, p90=1450.0)  # 1.30 ms vs 1.25 ms: +4%
    assert check(cur, base, parse_fail_on("latency:+5%")).passed
    assert not check(cur, base, parse_fail_on("latency:+3%")).passed


def test_latency_gate_against_a_non_comparable_baseline_fails_loudly():
    failures = check(physical_pi(), rpi(), parse_fail_on("latency:+10%"), "rpi4").failures
    assert len(failures) == 1
    assert failures[0].startswith("rpi4: latency: cannot check against the baseline, latency is not comparable:")


def test_missing_metric():
    base, cur = cortex_m(), cortex_m()
    del cur["memory"]["arena_bytes"]
    result = check(cur, base, parse_fail_on("arena:+5%"))
    assert result.failures == ["current: arena: missing from the report (baseline 9,216 B)"]
    result = check(rpi(), rpi(), parse_fail_on("arena:+5%"))  # a Pi has no arena: nothing to check
    assert result.passed and "in neither report" in result.notes[0]


def test_incomplete_current_report_fails():
    cur = cortex_m()
    cur["status"], cur["error"] = "incomplete", "qemu timed out"
    assert check(cur, cortex_m(), parse_fail_on(RULES)).failures == [
        "current: status: report is incomplete (qemu timed out)"]


def test_compare_command_exit_codes(write, capsys):
    base = write("base.json", cortex_m())
    same = write("same.json", cortex_m())
    slow = cortex_m()
    slow["latency"]["median"] *= 1.5
    slow = write("slow.json", slow)
    assert compare_command([same], baseline=base, fail_on=RULES) == 0
    assert "gate: passed" in capsys.readouterr().out
    assert compare_command([slow], baseline=base, fail_on=RULES) == 1
    out = capsys.readouterr().out
    assert "REGRESSION cortex-m4: latency 6,180,000 instructions vs baseline 4,120,000 instructions" in out
    assert "gate: FAILED (1 regression)" in out


def test_compare_command_bad_arguments(write):
    base = write("base.json", cortex_m())
    with pytest.raises(PipelineError, match="--fail-on needs --baseline"):
        compare_command([base], fail_on=RULES)
    with pytest.raises(PipelineError, match="unknown metric 'speed'"):
        compare_command([base], baseline=base, fail_on="speed:+1%")
    bad = cortex_m()
    bad["status"], bad["error"] = "incomplete", "no board"
    with pytest.raises(PipelineError, match="the baseline report is incomplete"):
        compare_command([base], baseline=write("bad.json", bad), fail_on=RULES)
