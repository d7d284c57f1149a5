"""Matplotlib charts as inline SVG strings for the self-contained HTML report.

Uses the object API (`Figure`), not pyplot: no global figure state and no GUI backend, so it is
safe inside a build and in tests.
"""
from __future__ import annotations

import io
import re

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from .format import size

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# The XML prolog/DOCTYPE are invalid inside HTML, and <metadata> carries RDF namespace URLs that a
# "no external URLs" check would rightly flag; none of them is needed to draw.
_STRIP = (re.compile(r"<\?xml[^>]*\?>\s*"), re.compile(r"<!DOCTYPE[^>]*>\s*"),
          re.compile(r"<metadata>.*?</metadata>\s*", re.S))


def _svg(fig: Figure, salt: str) -> str:
    buf = io.StringIO()
    # A per-chart salt keeps element ids unique across charts in one page and stable across runs.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    for pattern in _STRIP:
        text = pattern.sub("", text)
    return text.strip()


def latency_accuracy(points: list[tuple[str, float, float]], unit: str, emulated: bool) -> str:
    """points: (label, median latency in `unit`, accuracy in %)."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for i, (name, lat, acc) in enumerate(points):
        ax.scatter([lat], [acc], s=60, color=_COLORS[i % len(_COLORS)], zorder=3)
        ax.annotate(name, (lat, acc), textcoords="offset points", xytext=(6, 6), fontsize=9)
    ax.xaxis.set_major_formatter(EngFormatter())  # 26.6 M, not 2.66 with a 1e7 offset
    ax.set_xlabel(f"median latency ({unit}{', emulated' if emulated else ''})")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Latency vs accuracy (up and to the left is better)", fontsize=10)
    ax.grid(True, alpha=0.3)
    # Latency from zero (ratios read honestly); accuracy padded but never drawn past 100 %.
    lats, accs = [p[1] for p in points], [p[2] for p in points]
    ax.set_xlim(0, max(lats) * 1.25 or 1)
    pad = max(0.5, 0.25 * (max(accs) - min(accs)))
    ax.set_ylim(max(0.0, min(accs) - pad), min(100.0 + pad / 4, max(accs) + pad))
    return _svg(fig, "latacc")


def memory_bars(entries: list[tuple[str, dict[str, int]]]) -> str:
    """entries: (label, {"RAM": bytes, "arena": bytes, "flash": bytes, "model": bytes}); missing = absent."""
    kinds = [k for k in ("RAM", "arena", "flash", "model") if any(k in e[1] for e in entries)]
    fig = Figure(figsize=(max(6.4, 1.6 * len(entries) + 3), 4.2))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(kinds))
    values = [v for _, e in entries for v in e.values() if v > 0]
    for j, kind in enumerate(kinds):
        xs = [i + (j - (len(kinds) - 1) / 2) * width for i in range(len(entries))]
        raw = [e.get(kind) for _, e in entries]
        bars = ax.bar(xs, [(v or 0) / 1024 for v in raw], width=width, label=kind, color=_COLORS[j % len(_COLORS)])
        ax.bar_label(bars, labels=[size(v) if v else "" for v in raw], rotation=90, padding=2, fontsize=7)
    # A Pi's RSS (MiB) next to an MCU's arena (KiB) is invisible on a linear axis.
    if values and max(values) / min(values) > 50:
        ax.set_yscale("log")
        ax.set_ylim(top=max(values) / 1024 * 30)  # room for the rotated value labels
    else:
        ax.set_ylim(top=max(values, default=1024) / 1024 * 1.35)
    ax.set_xlim(-0.6, len(entries) - 0.4)  # one target alone must not get page-wide bars
    ax.set_xticks(range(len(entries)), [name for name, _ in entries])
    ax.set_ylabel("KiB")
    ax.set_title("Memory per target", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return _svg(fig, "memory")


def quantization_layers(name: str, layers: list[dict], index: int) -> str:
    """Horizontal bars of SNR (dB) per layer: the layers that lose most precision stand out."""
    fig = Figure(figsize=(6.4, max(2.4, 0.32 * len(layers) + 1.2)))
    ax = fig.add_subplot()
    labels = [_short(f"{layer['name']} ({layer['op']})" if layer.get("op") else layer["name"]) for layer in layers]
    snr = [layer["snr_db"] for layer in layers]
    ax.barh(range(len(layers)), snr, color=[_COLORS[3] if s < 20 else _COLORS[0] for s in snr])
    ax.set_yticks(range(len(layers)), labels, fontsize=8)
    ax.invert_yaxis()  # first layer on top, as in the model
    ax.set_xlabel("SNR of int8 vs float output (dB); red: below 20 dB")
    ax.set_title(f"Per-layer quantization error: {name}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return _svg(fig, f"quant{index}")


def _short(text: str, limit: int = 40) -> str:
    """TFLite tensor names can be long `a/b/c;d/e` chains: keep the chart readable."""
    return text if len(text) <= limit else text[: limit // 2 - 1] + "…" + text[-(limit // 2):]
