"""Parse the text output of LiteRT's official `benchmark_model` and turn it into report sections.

Handles the formats seen in the wild (fixtures in tests/android/fixtures/benchmark_model/):
  - current:  [INFO: ]count=... lines, "Inference timings in us: Init: .., First inference: ..,
              Warmup (avg): .., Inference (avg): ..", "Memory footprint delta from the start of the
              tool (MB): init=.. overall=..", "Overall peak memory footprint (MB) via periodic monitoring: .."
  - 2020:     same, with "Peak memory footprint (MB): init=.. overall=.." for the delta line
  - 2018:     "Average inference timings in us: Warmup: .., Init: .., no stats: .."
The two stat lines are tied to their phase by the "Running benchmark for at least ..." line that
precedes each (first: warm-up, second: timed runs); op-profiling tables also contain "count="
but are never preceded by that line, so they are not mistaken for the timings.
"""
from __future__ import annotations

import math
import re
import statistics

from ..errors import DeviceError

MB = 1024 * 1024
_PREFIX = r"^\s*(?:[A-Z]+:\s*)?"  # "INFO: ", "VERBOSE: " or nothing
_RUNNING = re.compile(_PREFIX + r"Running benchmark for at least", re.M)
_STAT = re.compile(_PREFIX + r"(count=\d+.*)$", re.M)
_FIELD = re.compile(r"(count|first|curr|min|max|avg|std)=([-+0-9.eE]+)")
_TIMINGS = re.compile(r"Inference timings in us: Init: ([0-9.eE+-]+), First inference: ([0-9.eE+-]+), "
                      r"Warmup \(avg\): ([0-9.eE+-]+), Inference \(avg\): ([0-9.eE+-]+)")
_LEGACY = re.compile(r"Average inference timings in us: Warmup: ([0-9.eE+-]+), Init: ([0-9.eE+-]+), "
                     r"(?:no stats|Inference): ([0-9.eE+-]+)")
_INIT_MS = re.compile(r"Initialized session in ([0-9.]+) ?ms")
_DELTA = re.compile(r"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
                    r"init=([0-9.eE+-]+) overall=([0-9.eE+-]+)")
_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring: ([0-9.eE+-]+)")
_THREADS = re.compile(r"(?:#threads used for CPU inference|Num threads): \[(\d+)\]")
_GRAPH = re.compile(r"Graph: \[([^\]]*)\]")
_DELEGATE = re.compile(r"Created TensorFlow Lite (?:(\w+) )?delegate for (\w+)")
_SIZE = re.compile(r"The input model file size \(MB\): ([0-9.eE+-]+)")
_ERROR = re.compile(r"^.*(?:ERROR: |Benchmarking failed|Failed to ).*$", re.M)


def _stat(line: str) -> dict:
    """'count=50 first=1 curr=2 min=1 max=3 avg=2.1 std=0' -> numbers; 'count=N curr=X(all same)' too."""
    f = {k: float(v) for k, v in _FIELD.findall(line)}
    f["count"] = int(f.get("count", 0))
    if "min" not in f and "curr" in f:  # all values identical: the tool prints only curr
        f.update(first=f["curr"], min=f["curr"], max=f["curr"], avg=f["curr"], std=0.0)
    return f


def _phase_stats(text: str) -> list[dict]:
    """The stat line that follows each 'Running benchmark for at least' line, in order."""
    stats = []
    for m in _RUNNING.finditer(text):
        nxt = _STAT.search(text, m.end())
        if nxt is not None:
            stats.append(_stat(nxt.group(1)))
    if not stats:  # a trimmed log without the 'Running' lines: standalone stat lines only
        stats = [_stat(m.group(1)) for m in _STAT.finditer(text)][:2]
    return stats


def parse(text: str) -> dict:
    """One benchmark_model run -> numbers (µs, MB). Raises DeviceError when it holds no timings."""
    out: dict = {"init_us": None, "first_inference_us": None, "warmup_avg_us": None, "inference_avg_us": None,
                 "warmup": None, "inference": None, "memory_mb": {}, "threads": None, "graph": None,
                 "delegates": [], "model_size_mb": None, "format": None}
    stats = _phase_stats(text)
    if m := _TIMINGS.search(text):
        out.update(format="current", init_us=float(m[1]), first_inference_us=float(m[2]),
                   warmup_avg_us=float(m[3]), inference_avg_us=float(m[4]))
    elif m := _LEGACY.search(text):
        out.update(format="legacy", warmup_avg_us=float(m[1]), init_us=float(m[2]), inference_avg_us=float(m[3]))
    if len(stats) >= 2:
        out["warmup"], out["inference"] = stats[0], stats[1]
    elif len(stats) == 1 and out["format"] is not None:
        out["inference"] = stats[0]
    if out["inference"] is None or out["inference"]["count"] == 0:
        errors = _ERROR.findall(text)
        why = errors[0].strip() if errors else (text.strip().splitlines() or ["no output"])[-1].strip()
        raise DeviceError(f"benchmark_model printed no inference timings ({why[:200]}); "
                          "run it by hand with the same flags to see its full output")
    if out["first_inference_us"] is None and out["warmup"]:
        out["first_inference_us"] = out["warmup"]["first"]
    if out["init_us"] is None and (m := _INIT_MS.search(text)):
        out["init_us"] = float(m[1]) * 1000.0
    if m := _DELTA.search(text):
        out["memory_mb"].update(init_delta=float(m[1]), overall_delta=float(m[2]))
    if m := _PEAK.search(text):
        out["memory_mb"]["peak"] = float(m[1])
    if m := _THREADS.search(text):
        out["threads"] = int(m[1])
    if m := _GRAPH.search(text):
        out["graph"] = m[1]
    if m := _SIZE.search(text):
        out["model_size_mb"] = float(m[1])
    out["delegates"] = sorted({(d[0] or d[1]).lower() for d in _DELEGATE.findall(text)})
    return out


def latency_section(runs: list[dict], note: str = "") -> dict:
    """Report `latency` from K parsed runs (one per input, MLPerf-style: the median of the K means).

    benchmark_model prints no per-iteration times, so median/p90 over single runs are unknown; the
    median reported is the median of the K runs' averages, and mean/std pool all timed iterations
    (the tool's std is the population std, so pooling is exact).
    """
    if not runs:
        raise DeviceError("no benchmark_model runs to summarise")
    inf = [r["inference"] for r in runs]
    n = sum(s["count"] for s in inf)
    mean = sum(s["avg"] * s["count"] for s in inf) / n
    var = sum(s["count"] * (s["std"] ** 2 + (s["avg"] - mean) ** 2) for s in inf) / n
    warm = runs[0]["warmup"]
    return {
        "unit": "us",
        "warmup": int(warm["count"]) if warm else 0,
        "runs": int(min(s["count"] for s in inf)),
        "inputs": len(runs),
        "min": float(min(s["min"] for s in inf)),
        "median": float(statistics.median(s["avg"] for s in inf)),
        "max": float(max(s["max"] for s in inf)),
        "mean": float(mean),
        "std": float(math.sqrt(max(var, 0.0))),
        "comparable": True,
        "note": note or ("LiteRT benchmark_model on the phone; median of the per-run averages of "
                         f"{len(runs)} run(s); mean/std over all {n} timed invokes"),
    }


def memory_section(runs: list[dict]) -> dict | None:
    """peak_rss_bytes from the tool's periodic monitoring; its init/overall deltas are not a peak."""
    peaks = [r["memory_mb"]["peak"] for r in runs if "peak" in r["memory_mb"]]
    return {"peak_rss_bytes": int(round(max(peaks) * MB))} if peaks else None
