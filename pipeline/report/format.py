"""Human formatting of report numbers, shared by every renderer so they all read the same."""
from __future__ import annotations

DASH = "—"


def number(v: float | None) -> str:
    """Three significant digits at least, thousands separated: 1,234.5 / 12.35 / 0.0123."""
    if v is None:
        return DASH
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    if a == 0:
        return "0"
    return f"{v:.3g}"


def size(n: int | None) -> str:
    if n is None:
        return DASH
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def count(n: int | None) -> str:
    """12.5 M / 22.7 k / 640."""
    if n is None:
        return DASH
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


def percent(fraction: float | None, digits: int = 2) -> str:
    return DASH if fraction is None else f"{fraction * 100:.{digits}f} %"
