"""The comparison table as plain strings: one row per metric, one column per report.

The terminal, Markdown and HTML renderers all draw this same table, so a number never differs
between them and the "not comparable" rule is applied once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import metrics
from .format import DASH, count, number, percent, size

NOT_COMPARABLE = "not comparable"


@dataclass
class Table:
    headers: list[str]  # one per report
    rows: list[tuple[str, list[str]]]  # (metric label, one cell per report)
    notes: list[str] = field(default_factory=list)  # printed under the table (why not comparable...)


def _runtime_tag(r: dict) -> str:
    rt = r.get("runtime", {})
    return " ".join(x for x in (rt.get("name"), rt.get("engine")) if x)


def _device_tag(r: dict) -> str:
    d = r.get("device", {})
    return " ".join(x for x in (d.get("kind"), d.get("transport")) if x)


def column_names(reports: list[dict[str, Any]], roles: list[str] | None = None) -> list[str]:
    """Target ids tagged with a role ('baseline'); where ids collide, whatever tells them apart
    (the runtime, else the device), else `#n`."""
    roles = roles or [""] * len(reports)
    tag = [f" ({role})" if role else "" for role in roles]
    names = [metrics.label(r) + t for r, t in zip(reports, tag)]
    for name in {n for n in names if names.count(n) > 1}:
        group = [i for i, n in enumerate(names) if n == name]
        for describe in (_runtime_tag, _device_tag):
            tags = [describe(reports[i]) for i in group]
            if len(set(tags)) == len(tags):
                for i, t in zip(group, tags):
                    names[i] = f"{metrics.label(reports[i])} · {t}{tag[i]}"
                break
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[i] = f"{name} #{seen[name]}"
    return names


def build_table(reports: list[dict[str, Any]], names: list[str], files: list[str] | None = None) -> Table:
    comp = metrics.latency_comparability(reports, names)
    rows: list[tuple[str, list[str]]] = []
    notes: list[str] = []

    def row(title: str, fn) -> None:
        rows.append((title, [fn(r) for r in reports]))

    if files:
        rows.append(("file", list(files)))
    row("target", _target)
    row("device", _device)
    row("runtime", _runtime)
    row("status", lambda r: r["status"] if r["status"] == "complete" else f"incomplete: {r.get('error', '')}")
    row("accuracy", _accuracy)
    row("float reference", lambda r: percent(r.get("accuracy", {}).get("float_reference")))
    row("agreement", _agreement)
    if comp.ok:
        unit = comp.unit
        tag = " (emulated)" if comp.emulated else ""
        row("latency median", lambda r: _lat(r, "median", unit, tag))
        row("latency p90", lambda r: _lat(r, "p90", unit, tag))
        row("MAC / unit", lambda r: _mpu(r, unit))
        if comp.emulated and len(comp.members) > 1:
            notes.append("latency: every timing here is emulated on the same emulated device; "
                         "compare them with each other only, never with device timings")
    else:
        cell = lambda r: NOT_COMPARABLE if "latency" in r else DASH  # noqa: E731
        row("latency median", cell)
        row("latency p90", cell)
        row("MAC / unit", cell)
        notes.append(f"latency: not comparable: {comp.reason}")
    if any("modelled" in r.get("latency", {}) for r in reports):
        row("latency modelled", _modelled)
        notes.append("latency modelled: the executed instructions under QEMU priced with the core's cycle table "
                     "(pipeline/timing/), a model at the chip clock shown, not a measurement")
    row("timing runs", _runs)
    row("RAM", _ram)
    row("arena", lambda r: _arena(r))
    row("flash", lambda r: size(r.get("memory", {}).get("flash_bytes")))
    row("model", _model)
    row("created", lambda r: r["provenance"]["created_at"])
    return Table(headers=names, rows=rows, notes=notes)


def _target(r: dict) -> str:
    t = r["target"]
    return " · ".join(x for x in (t["id"], t["kind"], t.get("core")) if x)


def _device(r: dict) -> str:
    d = r.get("device")
    if not d:
        return DASH
    return f"{d['kind']} · {d['transport']} · {d['name']}"


def _runtime(r: dict) -> str:
    rt = r.get("runtime")
    if not rt:
        return DASH
    parts = [" ".join(x for x in (rt["name"], rt.get("version")) if x)]
    if rt.get("engine"):
        parts.append(rt["engine"])
    if rt.get("threads"):
        parts.append(f"{rt['threads']} thread{'s' if rt['threads'] > 1 else ''}")
    return " · ".join(parts)


def _accuracy(r: dict) -> str:
    a = r.get("accuracy")
    if not a:
        return DASH
    n = f" (n={a['n']})" if "n" in a else ""
    return f"{percent(a['value'])} {a['metric']}{n}"


def _agreement(r: dict) -> str:
    ag = r.get("accuracy", {}).get("agreement")
    if not ag:
        return DASH
    return ", ".join(f"{k} {percent(v, 1)}" for k, v in sorted(ag.items()))


def _lat(r: dict, stat: str, unit: str | None, tag: str) -> str:
    v = metrics.latency(r, stat, unit)
    if v is None:
        return DASH
    return f"{number(v)} {unit}{tag}"


def _mpu(r: dict, unit: str | None) -> str:
    lat = r.get("latency")
    if not lat or unit is None:
        return DASH
    # Recomputed in the common unit where possible: a stored macs_per_unit is in the report's own unit.
    macs, median = r.get("model", {}).get("macs"), metrics.latency(r, "median", unit)
    if macs is not None and median:
        v = macs / median
    elif "throughput" in r and lat["unit"] == unit:
        v = r["throughput"]["macs_per_unit"]
    else:
        return DASH
    return f"{number(v)} MAC/{_SINGULAR.get(unit, unit)}"


_SINGULAR = {"instructions": "instruction", "cycles": "cycle"}


def _modelled(r: dict) -> str:
    m = r.get("latency", {}).get("modelled")
    if not m:
        return DASH
    return f"{number(m['cycles'])} cycles = {m['ms']:.2f} ms @ {m['clock_mhz']:g} MHz (modelled)"


def _runs(r: dict) -> str:
    lat = r.get("latency")
    if not lat:
        return DASH
    inputs = f"{lat['inputs']} inputs × " if "inputs" in lat else ""
    warm = f" (+{lat['warmup']} warm-up)" if "warmup" in lat else ""
    return f"{inputs}{lat['runs']} runs{warm}"


def _ram(r: dict) -> str:
    found = metrics.ram(r)
    return DASH if not found else f"{size(found[0])} ({found[1]})"


def _arena(r: dict) -> str:
    mem = r.get("memory", {})
    own, tflm = mem.get("arena_bytes"), mem.get("tflm_arena_bytes")
    if own is None and tflm is None:
        return DASH
    text = size(own) if own is not None else DASH
    return f"{text} (TFLM {size(tflm)})" if tflm is not None else text


def _model(r: dict) -> str:
    m = r.get("model")
    if not m:
        return DASH
    parts = [size(m["bytes"])]
    if m.get("quantization"):
        parts.append(m["quantization"])
    if "params" in m:
        parts.append(f"{count(m['params'])} params")
    if "macs" in m:
        parts.append(f"{count(m['macs'])} MACs")
    return " · ".join(parts)
