"""Read, validate, build and write benchmark reports (schema `schema/report-v1.json`).

Every report is validated on write *and* on read: a report produced by an older or hand-edited
file must fail with one line naming the file and the field, not deep inside `compare`.
"""
from __future__ import annotations

import datetime as _dt
import functools
import importlib.metadata
import json
import math
import numbers
import platform
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from ..atomic import write_json
from ..errors import PipelineError, allowed_list, did_you_mean

SCHEMA_VERSION = "1"
SCHEMA_FILE = f"report-v{SCHEMA_VERSION}.json"
_MAX_MESSAGE = 240  # a huge offending value must not turn the one-line error into a page

# Host packages whose versions go into provenance: (report key, distribution names to try).
# Looked up in installed metadata, which never imports them (importing torch costs seconds).
_TOOLCHAIN_DISTS = (
    ("numpy", ("numpy",)),
    ("litert", ("ai-edge-litert",)),
    ("tflm", ("tflite-micro",)),
    ("torch", ("torch",)),
    ("tensorflow", ("tensorflow-cpu", "tensorflow")),
)


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schema", SCHEMA_FILE).read_text()
    return json.loads(text)


@functools.lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _describe(err: ValidationError) -> str:
    """`field.path: what is wrong`, phrased for a person rather than for the validator."""
    where = _path(err.absolute_path)
    inst = err.instance
    if err.validator == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in allowed)
        key = extra[0] if extra else "?"
        return (f"{_join(where, key)}: unknown field{did_you_mean(key, allowed)}"
                f" (allowed: {allowed_list(allowed)})")
    if err.validator == "required" and isinstance(inst, dict):
        missing = [k for k in err.validator_value if k not in inst]
        key = missing[0] if missing else "?"
        return f"{_join(where, key)}: missing required field"
    if err.validator == "enum":
        options = [str(o) for o in err.validator_value]
        return (f"{where or '<root>'}: {inst!r} is not one of {allowed_list(options)}"
                f"{did_you_mean(str(inst), options)}")
    if err.validator == "pattern" and err.schema.get("description"):
        return f"{where or '<root>'}: {inst!r} is not {err.schema['description']}"
    msg = err.message
    if len(msg) > _MAX_MESSAGE:
        msg = msg[:_MAX_MESSAGE] + "..."
    return f"{where or '<root>'}: {msg}"


def validate(report: Any, source: Path | str = "<report>") -> None:
    """Raise PipelineError (`source: field.path: problem`) unless `report` matches the schema."""
    if not isinstance(report, dict):
        raise PipelineError(f"{source}: <root>: expected a JSON object, got {type(report).__name__}")
    # Check the version first: a v2 report would otherwise fail on some unrelated new field.
    version = report.get("schema_version")
    if version is None:
        raise PipelineError(
            f"{source}: schema_version: missing required field (this pipeline reads '{SCHEMA_VERSION}')")
    if version != SCHEMA_VERSION:
        raise PipelineError(
            f"{source}: schema_version: unsupported version {version!r} (this pipeline reads '{SCHEMA_VERSION}')"
        )
    errors = list(_validator().iter_errors(report))
    if errors:
        # A field's own error beats the "complete needs latency / incomplete needs error" rule,
        # which a bad `status` value would trigger as a confusing side effect.
        direct = [e for e in errors if not e.schema_path or e.schema_path[0] != "allOf"] or errors
        # best_match prefers the shallowest error; tie-break on the path so the message is stable.
        err = best_match(sorted(direct, key=lambda e: [str(p) for p in e.absolute_path]))
        raise PipelineError(f"{source}: {_describe(err)}")


def _plain(obj: Any, where: str, source: Path | str) -> Any:
    """Plain JSON types (numpy scalars, tuples, Paths converted); NaN/inf rejected with their path."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        if not math.isfinite(value):
            raise PipelineError(f"{source}: {where or '<root>'}: {value} is not a finite number (JSON cannot hold it)")
        return value
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise PipelineError(f"{source}: {where or '<root>'}: key {k!r} is not a string")
            out[k] = _plain(v, _join(where, k), source)
        return out
    if isinstance(obj, (list, tuple)):
        return [_plain(v, f"{where}[{i}]", source) for i, v in enumerate(obj)]
    raise PipelineError(f"{source}: {where or '<root>'}: a {type(obj).__name__} is not a JSON value")


def write_report(path: Path | str, report: dict[str, Any]) -> Path:
    """Validate, then write atomically: a reader never sees an invalid or half-written report."""
    plain = _plain(report, "", path)
    validate(plain, path)
    try:
        return write_json(path, plain)
    except OSError as err:
        raise PipelineError(f"{path}: cannot write the report: {err.strerror or err}") from None


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


def read_report(path: Path | str) -> dict[str, Any]:
    """Load and validate one report; any problem is a one-line PipelineError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"{path}: no such report file") from None
    except UnicodeDecodeError:
        raise PipelineError(f"{path}: not a JSON report (not UTF-8 text)") from None
    except OSError as err:
        raise PipelineError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as err:
        raise PipelineError(f"{path}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except ValueError as err:  # NaN / Infinity, which Python's json would otherwise accept
        raise PipelineError(f"{path}: not valid JSON: {err}") from None
    validate(data, path)
    return data


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pipeline_version() -> str:
    try:
        return importlib.metadata.version("pipeline")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"  # running from a source tree that was never installed


@functools.lru_cache(maxsize=1)
def _host_toolchain() -> tuple[tuple[str, str], ...]:
    found = [("python", platform.python_version())]
    for key, dists in _TOOLCHAIN_DISTS:
        for dist in dists:
            try:
                found.append((key, importlib.metadata.version(dist)))
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return tuple(found)


def toolchain_versions() -> dict[str, str]:
    """Versions of python and the installed ML packages on the host that built the report."""
    return dict(_host_toolchain())


def build_report(**sections: Any) -> dict[str, Any]:
    """A report dict with schema_version, status and provenance basics filled in.

    Sections that are None are left out (a target kind that has no arena passes memory without it).
    `provenance` and its `toolchain` are merged over the defaults. Not validated here:
    `write_report` validates.
    """
    report: dict[str, Any] = {k: v for k, v in sections.items() if v is not None}
    report["schema_version"] = SCHEMA_VERSION
    report.setdefault("status", "incomplete" if report.get("error") else "complete")
    given = dict(report.get("provenance") or {})
    toolchain = {**toolchain_versions(), **(given.pop("toolchain", None) or {})}
    provenance = {"pipeline_version": pipeline_version(), "created_at": now(), **given, "toolchain": toolchain}
    report["provenance"] = {k: v for k, v in provenance.items() if v is not None}
    return report
