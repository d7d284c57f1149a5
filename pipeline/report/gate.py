"""Regression gate: `--fail-on "latency:+10%,accuracy:-0.5pt,ram:+5%"` against a baseline report.

`%` is relative to the baseline; `pt` is an absolute change in percentage points (accuracy only).
The sign says which way is bad and may be left out; a sign pointing the good way is an error,
because `latency:-10%` would most likely be a typo for a gate that never fires.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..errors import PipelineError, allowed_list, did_you_mean
from . import metrics
from .format import number

# metric -> +1 when an increase is a regression, -1 when a decrease is.
METRICS = {
    "latency": +1, "latency_p90": +1, "accuracy": -1,
    "ram": +1, "flash": +1, "arena": +1, "model_bytes": +1,
}
_TOKEN = re.compile(r"^(?P<metric>[a-z0-9_]+):(?P<sign>[+-]?)(?P<num>\d+(?:\.\d+)?)(?P<unit>%|pt)$")
_SYNTAX = "expected METRIC:+N% (or accuracy:-Npt)"


@dataclass(frozen=True)
class Rule:
    metric: str
    limit: float  # how far it may move the bad way, in `unit`
    unit: str  # "%" or "pt"

    def __str__(self) -> str:
        sign = "+" if METRICS[self.metric] > 0 else "-"
        return f"{self.metric}:{sign}{self.limit:g}{self.unit}"


def parse_fail_on(spec: str) -> list[Rule]:
    tokens = [t.strip() for t in spec.split(",")]
    if not spec.strip() or any(not t for t in tokens):
        raise PipelineError(f"--fail-on: empty rule in {spec!r}; {_SYNTAX}; metrics: {allowed_list(METRICS)}")
    rules: dict[str, Rule] = {}
    for tok in tokens:
        m = _TOKEN.match(tok.replace(" ", ""))
        if not m:
            name = tok.split(":", 1)[0].strip()
            if ":" in tok and name not in METRICS:
                raise _unknown(name, tok)
            raise PipelineError(f"--fail-on: bad rule {tok!r}: {_SYNTAX}; allowed metrics: {allowed_list(METRICS)}")
        name, sign, unit = m["metric"], m["sign"], m["unit"]
        if name not in METRICS:
            raise _unknown(name, tok)
        if unit == "pt" and name != "accuracy":
            raise PipelineError(
                f"--fail-on: bad rule {tok!r}: 'pt' (percentage points) applies to accuracy only; use %")
        bad = "+" if METRICS[name] > 0 else "-"
        if sign and sign != bad:
            raise PipelineError(
                f"--fail-on: bad rule {tok!r}: {name} regresses when it goes {'up' if bad == '+' else 'down'};"
                f" write {name}:{bad}{m['num']}{unit}"
            )
        if name in rules:
            raise PipelineError(f"--fail-on: metric '{name}' given twice in {spec!r}")
        rules[name] = Rule(name, float(m["num"]), unit)
    return list(rules.values())


def _unknown(name: str, tok: str) -> PipelineError:
    hint = did_you_mean(name, METRICS) or ";"
    return PipelineError(
        f"--fail-on: unknown metric '{name}' in {tok!r}{hint} allowed metrics: {allowed_list(METRICS)}")


@dataclass
class GateResult:
    failures: list[str]  # one line per offending metric
    notes: list[str]  # metrics that could not be checked, mismatched targets...

    @property
    def passed(self) -> bool:
        return not self.failures


def check(current: dict[str, Any], baseline: dict[str, Any], rules: list[Rule], name: str = "current") -> GateResult:
    failures: list[str] = []
    notes: list[str] = []
    if metrics.label(current) != metrics.label(baseline):
        notes.append(f"{name}: target '{metrics.label(current)}' differs from the baseline's "
                     f"'{metrics.label(baseline)}'")
    if current.get("status") != "complete":
        failures.append(f"{name}: status: report is incomplete ({current.get('error', 'no error given')})")
        return GateResult(failures, notes)
    for rule in rules:
        line = _check_one(current, baseline, rule, name, notes)
        if line:
            failures.append(line)
    return GateResult(failures, notes)


def _check_one(cur: dict, base: dict, rule: Rule, name: str, notes: list[str]) -> str | None:
    unit = ""
    if rule.metric.startswith("latency"):
        comp = metrics.latency_comparability([base, cur], ["baseline", name])
        if not comp.ok:
            # A gate that cannot be evaluated must not pass silently.
            return (f"{name}: {rule.metric}: cannot check against the baseline, latency is not comparable:"
                    f" {comp.reason}")
        unit = comp.unit or ""
        stat = "p90" if rule.metric == "latency_p90" else "median"
        b, c = metrics.latency(base, stat, unit or None), metrics.latency(cur, stat, unit or None)
        unit = f" {unit}" if unit else ""
    else:
        b, c = metrics.value(base, rule.metric), metrics.value(cur, rule.metric)
    if rule.metric == "ram" and b is not None and c is not None:
        kinds = metrics.ram(base)[1], metrics.ram(cur)[1]
        if kinds[0] != kinds[1]:
            return f"{name}: ram: cannot check, the baseline has {kinds[0]} but the report has {kinds[1]}"
    if b is None and c is None:
        notes.append(f"{name}: {rule.metric}: in neither report; not checked")
        return None
    if b is None:
        notes.append(f"{name}: {rule.metric}: the baseline has none; not checked")
        return None
    if c is None:
        return f"{name}: {rule.metric}: missing from the report (baseline {_fmt(rule.metric, b)}{unit})"
    direction = METRICS[rule.metric]
    if rule.unit == "pt":
        change = (c - b) * 100.0
        shown = f"{change:+.2f}pt"
    else:
        change = (c - b) / b * 100.0 if b else (0.0 if c == b else math.copysign(math.inf, c - b))
        shown = f"{change:+.1f}%"
    if direction * change > rule.limit + 1e-9:  # exactly at the limit passes, float rounding or not
        return (f"{name}: {rule.metric} {_fmt(rule.metric, c)}{unit} vs baseline {_fmt(rule.metric, b)}{unit}"
                f" ({shown}, limit {rule})")
    return None


def _fmt(metric: str, v: float) -> str:
    if metric == "accuracy":
        return f"{v * 100:.2f}%"
    if metric.startswith("latency"):
        return number(v)
    return f"{int(v):,} B"
