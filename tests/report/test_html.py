"""The HTML report: self-contained, and rendered by a real headless Chromium without errors."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.report.compare import compare_command

from .examples import cortex_m, rpi

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
# Injected into a *copy* of the page only: the report itself carries no script. It records script
# errors, console.error/warn calls and failed resource loads (capture phase) into the DOM, which
# --dump-dom then shows; Chromium's own console log on stderr is checked as well.
ERROR_PROBE = """<script>
(function () {
  var seen = [];
  function note(kind, text) {
    seen.push(kind + ": " + text);
    document.documentElement.setAttribute("data-page-errors", JSON.stringify(seen));
  }
  window.addEventListener("error", function (e) {
    note("error", e.message || (e.target && e.target.outerHTML) || "resource failed");
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("rejection", String(e.reason)); });
  ["error", "warn"].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      note(level, Array.prototype.join.call(arguments, " "));
      original.apply(console, arguments);
    };
  });
})();
</script>"""


def _comparable_pair() -> list[dict]:
    """Two Cortex-M runtimes in instructions: comparable, so the latency/accuracy scatter is drawn."""
    tflm = cortex_m()
    tflm["runtime"] = {"name": "tflm", "version": "2.16", "engine": "reference", "threads": 1}
    tflm["latency"].update(median=26_600_000, p90=26_700_000)
    tflm["accuracy"]["value"] = 0.981
    tflm["memory"].update(arena_bytes=14_336, peak_ram_bytes=19_000, flash_bytes=120_000)
    del tflm["throughput"]
    return [cortex_m(), tflm]


@pytest.fixture
def page(tmp_path, write) -> Path:
    paths = [write(f"r{i}.json", r) for i, r in enumerate(_comparable_pair())]
    out = tmp_path / "report.html"
    assert compare_command(paths, html=out) == 0
    return out


def test_html_is_self_contained(page):
    html = page.read_text()
    assert "<script" not in html and "<link" not in html and "@import" not in html
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html) + re.findall(r"url\(\s*([^)]*)\)", html)
    assert all(ref.startswith(("#", "data:")) for ref in refs), [r for r in refs if not r.startswith("#")]
    assert html.count("<svg") == 4  # scatter, memory bars, two per-layer charts


def test_html_notes_instead_of_a_scatter_when_not_comparable(tmp_path, write):
    out = tmp_path / "r.html"
    compare_command([write("a.json", rpi()), write("b.json", cortex_m())], html=out)
    html = out.read_text()
    assert "latency: not comparable: different units (rpi4 in us, cortex-m4 in instructions)" in html
    assert "Latency vs accuracy is not plotted: latency is not comparable (see the note above)." in html
    assert "median 2,480 us, p90 2,900 us (not comparable: emulated timing)" in html  # own, in details
    assert html.count("<svg") == 3  # memory + per-layer charts only


def test_report_strings_are_escaped(tmp_path, write):
    r = cortex_m()
    r["device"]["name"] = "<b>x</b>"
    r["quantization_layers"][0]["name"] = "<script>alert(1)</script>&"
    out = tmp_path / "r.html"
    compare_command([write("a.json", r)], html=out)
    html = out.read_text()
    assert "<b>x</b>" not in html and "<script>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


class _Dom(HTMLParser):
    """Counts <svg> per chart figure in the DOM that Chromium dumped."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.svgs: dict[str, int] = {}
        self.errors_attr: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.errors_attr = a.get("data-page-errors")
        if tag == "figure":
            self.stack.append(a.get("id") or a.get("class", "figure"))
        if tag == "svg" and self.stack:
            self.svgs[self.stack[-1]] = self.svgs.get(self.stack[-1], 0) + 1

    def handle_endtag(self, tag):
        if tag == "figure" and self.stack:
            self.stack.pop()


def _chromium(url: str, tmp: Path, shot: Path) -> tuple[str, str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp / 'profile'}", f"--screenshot={shot}", "--window-size=1200,1600",
           "--enable-logging=stderr", "--v=0", "--dump-dom", url]
    # Own session: on a hang the whole browser (zygote, renderer, gpu) is killed, not just the parent.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "HOME": str(tmp)})
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("chromium did not finish within 120 s")
    assert proc.returncode == 0, err[-2000:]
    return out, err


def _render(html: str, tmp_path: Path) -> tuple[_Dom, str, list[str], Path]:
    """Load `html` (with the error probe) in Chromium: (parsed DOM, raw DOM, console lines, screenshot)."""
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("<head>", "<head>" + ERROR_PROBE, 1))
    shot = tmp_path / "shot.png"
    dom, log = _chromium(probe.as_uri(), tmp_path, shot)
    parsed = _Dom()
    parsed.feed(dom)
    return parsed, dom, [line for line in log.splitlines() if ":CONSOLE" in line], shot


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")


@needs_chromium
def test_the_error_checks_would_catch_errors(tmp_path):
    """Negative control: a page with a script error and a missing image must be caught."""
    parsed, _, console, _ = _render(
        "<html><head></head><body><img src='missing.png'><script>console.error('boom'); nope();</script></body></html>",
        tmp_path)
    assert any("boom" in line for line in console) and any("nope" in line for line in console)
    assert "missing.png" in parsed.errors_attr and "nope is not defined" in parsed.errors_attr


@needs_chromium
def test_html_renders_in_headless_chromium(page, tmp_path):
    from PIL import Image, ImageStat

    parsed, dom, console, shot = _render(page.read_text(), tmp_path)
    assert console == [], console
    assert parsed.errors_attr is None, parsed.errors_attr
    assert "Benchmark report: cortex-m4 · aot cmsis-nn, cortex-m4 · tflm reference" in dom
    assert parsed.svgs.get("chart-latency-accuracy") == 1
    assert parsed.svgs.get("chart-memory") == 1
    assert parsed.svgs.get("chart chart-quant") == 2  # one per report with per-layer data

    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 20, f"screenshot looks blank (stddev {stat.stddev[0]:.1f})"
    dark = sum(image.histogram()[:200]) / (image.width * image.height)
    assert dark > 0.02, f"only {dark:.1%} of the screenshot is not near-white"
    if os.environ.get("REPORT_SCREENSHOT"):  # for a person to look at: REPORT_SCREENSHOT=/tmp/x.png
        shutil.copy(shot, os.environ["REPORT_SCREENSHOT"])
