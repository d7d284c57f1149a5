"""Self-contained HTML: the comparison table, notes, gate result and inline SVG charts.

No external URL, script or font: the file is opened from CI artifacts and pull requests, often
offline, and must look the same there.
"""
from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from . import metrics, plots
from .format import count, number, percent
from .io import now
from .table import Table


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,  # a misspelt template variable is a bug, not an empty cell
        trim_blocks=True, lstrip_blocks=True,
    )


def charts(reports: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    comp = metrics.latency_comparability(reports, names)
    out: dict[str, Any] = {"latency_accuracy": None, "latency_note": "", "memory": None, "quant": []}
    points = [
        (names[i], metrics.latency(reports[i], "median", comp.unit), reports[i]["accuracy"]["value"] * 100)
        for i in comp.members if "accuracy" in reports[i]
    ]
    if not comp.ok:
        out["latency_note"] = "Latency vs accuracy is not plotted: latency is not comparable (see the note above)."
    elif not points:
        out["latency_note"] = "Latency vs accuracy is not plotted: no report has both a latency and an accuracy."
    else:
        out["latency_accuracy"] = plots.latency_accuracy(points, comp.unit or "", comp.emulated)
        if comp.emulated:
            out["latency_note"] = "Emulated timing: it measures the emulator on the host, not the device."
    entries = [(names[i], _memory(r)) for i, r in enumerate(reports)]
    entries = [e for e in entries if e[1]]
    if entries:
        out["memory"] = plots.memory_bars(entries)
    for i, r in enumerate(reports):
        if r.get("quantization_layers"):
            out["quant"].append(plots.quantization_layers(names[i], r["quantization_layers"], i))
    return out


def _memory(r: dict[str, Any]) -> dict[str, int]:
    mem, found = r.get("memory", {}), {}
    ram = metrics.ram(r)
    if ram:
        found["RAM"] = ram[0]
    if "arena_bytes" in mem:
        found["arena"] = mem["arena_bytes"]
    if "flash_bytes" in mem:
        found["flash"] = mem["flash_bytes"]
    if "model" in r:
        found["model"] = r["model"]["bytes"]
    return found


def _details(r: dict[str, Any], name: str) -> dict[str, Any]:
    prov = r["provenance"]
    training = [
        (stage, percent(e.get("accuracy")), count(e.get("params")), count(e.get("macs")))
        for stage, e in r.get("training", {}).items()
    ]
    facts = [("pipeline", prov["pipeline_version"]), ("created", prov["created_at"])]
    facts += [(k, prov[k]) for k in ("config_hash", "dataset_hash", "started_at", "finished_at") if k in prov]
    facts += [(k, r["model"][k]) for k in ("sha256",) if "model" in r]
    lat = r.get("latency")
    if lat:
        # Each report's own timing, shown alone: the summary may have withheld it as not comparable.
        own = f"median {number(lat['median'])} {lat['unit']}"
        own += f", p90 {number(lat['p90'])} {lat['unit']}" if "p90" in lat else ""
        facts.append(("own latency", own + ("" if lat["comparable"] else " (not comparable: emulated timing)")))
        if lat.get("note"):
            facts.append(("latency note", lat["note"]))
    return {"name": name, "facts": facts, "toolchain": sorted(prov.get("toolchain", {}).items()),
            "training": training, "sections": sorted(r.get("memory", {}).get("sections", {}).items())}


def render(reports: list[dict[str, Any]], names: list[str], table: Table,
           gate_lines: list[str] | None = None, gate_notes: list[str] | None = None, title: str = "") -> str:
    template = _env().get_template("report.html.j2")
    return template.render(
        title=title or "Benchmark report: " + ", ".join(names),
        generated=now(),
        table=table,
        charts=charts(reports, names),
        details=[_details(r, n) for r, n in zip(reports, names)],
        gate=None if gate_lines is None else {"failures": gate_lines, "notes": gate_notes or []},
    )
