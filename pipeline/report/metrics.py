"""Numbers pulled out of reports, and the rule for when two latencies may be compared.

Kept apart from rendering so the terminal table, Markdown, HTML and the regression gate all apply
one and the same comparability rule.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Wall-clock units convert into each other; instruction and cycle counts measure other things.
_TO_US = {"us": 1.0, "ms": 1000.0}


def dimension(unit: str) -> str:
    return "time" if unit in _TO_US else unit


def convert(value: float, unit: str, to: str) -> float:
    if unit == to:
        return value
    return value * _TO_US[unit] / _TO_US[to]


def label(report: dict[str, Any]) -> str:
    return report.get("target", {}).get("id", "?")


@dataclass
class Comparability:
    """Whether the latencies of a set of reports may stand side by side, and in which unit."""

    ok: bool
    unit: str | None = None
    reason: str = ""
    emulated: bool = False  # every timing is emulated (same emulator): relative use only
    members: list[int] = field(default_factory=list)  # indexes of reports that have a latency


def latency_comparability(reports: list[dict[str, Any]], names: list[str] | None = None) -> Comparability:
    names = names or [label(r) for r in reports]
    idx = [i for i, r in enumerate(reports) if "latency" in r]
    if not idx:
        return Comparability(ok=True, members=[])
    lat = {i: reports[i]["latency"] for i in idx}
    first_unit = lat[idx[0]]["unit"]
    if len({dimension(lat[i]["unit"]) for i in idx}) > 1:
        units = ", ".join(f"{names[i]} in {lat[i]['unit']}" for i in idx)
        return Comparability(ok=False, reason=f"different units ({units})", members=idx)
    emulated = [i for i in idx if not lat[i]["comparable"]]
    real = [i for i in idx if lat[i]["comparable"]]
    if emulated and real:
        why = lat[emulated[0]].get("note") or "emulated timing measures the emulator on the host, not the device"
        return Comparability(
            ok=False, members=idx,
            reason=(f"{', '.join(names[i] for i in emulated)} has non-comparable (emulated) timing, "
                    f"{', '.join(names[i] for i in real)} has device timing: {why}"),
        )
    if emulated and len(idx) > 1:
        # Two emulated timings say something about each other only when the same emulated device ran both.
        devices = {i: _device_key(reports[i]) for i in idx}
        if len(set(devices.values())) > 1:
            which = "; ".join(f"{names[i]}: {' '.join(devices[i])}" for i in idx)
            return Comparability(
                ok=False, members=idx,
                reason=(f"emulated timings from different emulated devices ({which}) "
                        "measure the emulators, not the targets"),
            )
    return Comparability(ok=True, unit=first_unit, emulated=bool(emulated), members=idx)


def _device_key(report: dict[str, Any]) -> tuple[str, ...]:
    d = report.get("device", {})
    return (d.get("transport", "?"), d.get("name", "?"))


def latency(report: dict[str, Any], stat: str = "median", unit: str | None = None) -> float | None:
    lat = report.get("latency")
    if not lat or stat not in lat:
        return None
    return convert(lat[stat], lat["unit"], unit or lat["unit"])


def macs_per_unit(report: dict[str, Any]) -> float | None:
    if "throughput" in report:
        return report["throughput"]["macs_per_unit"]
    macs = report.get("model", {}).get("macs")
    median = latency(report)
    if macs is None or not median:
        return None
    return macs / median


def ram(report: dict[str, Any]) -> tuple[int, str] | None:
    """Peak RAM where the target measures it (MCU), else the process's peak RSS (Linux/Android)."""
    mem = report.get("memory", {})
    if "peak_ram_bytes" in mem:
        return mem["peak_ram_bytes"], "peak RAM"
    if "peak_rss_bytes" in mem:
        return mem["peak_rss_bytes"], "peak RSS"
    return None


def value(report: dict[str, Any], metric: str) -> float | None:
    """The gateable metrics by name (see gate.METRICS); None where the report has no such number."""
    mem = report.get("memory", {})
    if metric == "latency":
        return latency(report, "median")
    if metric == "latency_p90":
        return latency(report, "p90")
    if metric == "accuracy":
        return report.get("accuracy", {}).get("value")
    if metric == "ram":
        found = ram(report)
        return found[0] if found else None
    if metric == "flash":
        return mem.get("flash_bytes")
    if metric == "arena":
        return mem.get("arena_bytes")
    if metric == "model_bytes":
        return report.get("model", {}).get("bytes")
    raise KeyError(metric)
