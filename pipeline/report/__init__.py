"""Benchmark reports: one versioned schema for every target, compare, regression gate, HTML.

Public API:
    io.write_report(path, report) / io.read_report(path) / io.build_report(**sections)
    compare.compare_command(paths, markdown, html, baseline, fail_on) -> exit code
    gate.parse_fail_on(spec) / gate.check(current, baseline, rules)
    pipeline.stages.report.make_report(...) builds a report from the bench/verify/train outputs.
Submodules are imported lazily by their users: matplotlib is only needed for HTML.
"""
from .io import SCHEMA_VERSION, build_report, read_report, validate, write_report

__all__ = ["SCHEMA_VERSION", "build_report", "read_report", "validate", "write_report"]
