"""`pipeline compare` as a user runs it: exit codes 0 / 1 (regression) / 2 (bad input, one line)."""
from __future__ import annotations

from .examples import cortex_m


def test_compare_cli_exit_codes(run_cli, write, tmp_path):
    base = write("base.json", cortex_m())
    slow = cortex_m()
    slow["memory"]["flash_bytes"] *= 2
    slow = write("slow.json", slow)

    ok = run_cli("compare", str(base), "--markdown")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("| metric | cortex-m4 |")

    gate = run_cli("compare", str(slow), "--baseline", str(base), "--fail-on", "flash:+5%",
                   "--html", str(tmp_path / "out.html"))
    assert gate.returncode == 1, gate.stderr
    assert "REGRESSION cortex-m4: flash 142,000 B vs baseline 71,000 B (+100.0%, limit flash:+5%)" in gate.stdout
    assert "FAILED" in (tmp_path / "out.html").read_text()

    broken = cortex_m()
    broken["latency"]["median"] = "x"
    bad = run_cli("compare", str(write("bad.json", broken)))
    assert bad.returncode == 2
    expected = f"error: {tmp_path / 'bad.json'}: latency.median: 'x' is not of type 'number'"
    assert bad.stderr.strip().splitlines() == [expected]
