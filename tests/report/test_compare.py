"""`pipeline compare`: side by side, and never latency numbers that do not measure the same thing."""
from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.report.compare import compare_command
from pipeline.report.metrics import latency_comparability
from pipeline.report.table import NOT_COMPARABLE, build_table, column_names

from .examples import android, cortex_m, physical_pi, rpi


def _row(table, title):
    return dict(table.rows)[title]


def _table(*reports):
    reports = list(reports)
    return build_table(reports, column_names(reports))


def test_rpi_cortex_m_android_side_by_side(write, capsys):
    paths = [write("rpi.json", rpi()), write("cm.json", cortex_m()), write("android.json", android())]
    assert compare_command(paths) == 0
    out = capsys.readouterr().out
    for text in ("rpi4", "cortex-m4", "android-arm64", "98.10 % top1 (n=1000)", "9.0 KiB (TFLM 14.0 KiB)",
                 "45.8 MiB (peak RSS)", "13.2 KiB (peak RAM)", "litert 2.3.0 · xnnpack · 4 threads"):
        assert text in out, text
    assert "latency: not comparable: different units (rpi4 in us, cortex-m4 in instructions" in out
    assert "2,480" not in out and "4,120,000" not in out  # no latency numbers side by side


def test_emulated_timing_is_not_compared_with_device_timing():
    comp = latency_comparability([physical_pi(), rpi()], ["pi-ssh", "pi-qemu"])
    assert not comp.ok
    assert comp.reason.startswith("pi-qemu has non-comparable (emulated) timing, pi-ssh has device timing")
    table = build_table([physical_pi(), rpi()], ["pi-ssh", "pi-qemu"])
    assert _row(table, "latency median") == [NOT_COMPARABLE, NOT_COMPARABLE]
    assert _row(table, "MAC / unit") == [NOT_COMPARABLE, NOT_COMPARABLE]
    assert table.notes[0].startswith("latency: not comparable: pi-qemu has non-comparable (emulated) timing")


def test_emulated_timings_of_different_emulated_devices_are_not_compared():
    comp = latency_comparability([rpi(), android()])
    assert not comp.ok and "different emulated devices" in comp.reason


def test_emulated_timings_on_the_same_emulated_device_compare_with_a_warning():
    faster = rpi()
    faster["latency"]["median"] = 2000.0
    table = _table(rpi(), faster)
    assert _row(table, "latency median") == ["2,480 us (emulated)", "2,000 us (emulated)"]
    assert "every timing here is emulated" in table.notes[0]


def test_instruction_counts_compare():
    other = cortex_m()
    other["runtime"]["name"] = "tflm"
    other["latency"]["median"] = 26_600_000
    del other["throughput"]
    table = _table(cortex_m(), other)
    assert _row(table, "latency median") == ["4,120,000 instructions", "26,600,000 instructions"]
    assert _row(table, "MAC / unit") == ["0.646 MAC/instruction", "0.1 MAC/instruction"]
    assert table.notes == []


def test_ms_and_us_are_one_dimension():
    us = physical_pi()
    us["latency"].update(unit="us", median=1400.0, p90=1500.0)
    table = _table(physical_pi(), us)
    assert _row(table, "latency median") == ["1.25 ms", "1.40 ms"]


def test_instructions_and_cycles_do_not_compare():
    cycles = cortex_m()
    cycles["latency"]["unit"] = "cycles"
    cycles["device"] = {"kind": "physical", "name": "NUCLEO-F746ZG", "transport": "serial"}
    comp = latency_comparability([cortex_m(), cycles])
    assert not comp.ok and comp.reason == "different units (cortex-m4 in instructions, cortex-m4 in cycles)"


def test_incomplete_report_shows_dashes_and_does_not_block_the_others():
    broken = {"schema_version": "1", "status": "incomplete", "error": "bench: board not found",
              "target": {"id": "nucleo-f746zg", "kind": "cortex-m"}, "provenance": cortex_m()["provenance"]}
    table = _table(cortex_m(), broken)
    assert _row(table, "status") == ["complete", "incomplete: bench: board not found"]
    assert _row(table, "latency median") == ["4,120,000 instructions", "—"]


def test_markdown(write, capsys):
    assert compare_command([write("a.json", physical_pi()), write("b.json", rpi())], markdown=True) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "| metric | rpi4 · physical ssh | rpi4 · emulated qemu-user |"  # told apart by device
    assert lines[1] == "|---|---|---|"
    assert "| latency median | not comparable | not comparable |" in lines
    note = "> latency: not comparable: rpi4 · emulated qemu-user has non-comparable"
    assert any(line.startswith(note) for line in lines)
    assert all(line.count("|") == 4 for line in lines[:lines.index("")])  # a pipe in a cell is escaped


def test_markup_in_report_strings_is_printed_verbatim(write, capsys):
    r = cortex_m()
    r["device"]["name"] = "[bold]board[/bold] | 1"
    compare_command([write("a.json", r)])
    assert "[bold]board[/bold] | 1" in capsys.readouterr().out


def test_one_bad_file_is_a_one_line_error(write):
    bad = rpi()
    bad["schema_version"] = "2"
    with pytest.raises(PipelineError, match=r"b.json: schema_version: unsupported version '2'"):
        compare_command([write("a.json", rpi()), write("b.json", bad)])
    with pytest.raises(PipelineError, match="at least one report"):
        compare_command([])
