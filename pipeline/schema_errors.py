"""Turn a pydantic ValidationError into one line: file, key, value, allowed set, "did you mean"."""
from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from .errors import PipelineError, allowed_list, did_you_mean


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (sub)model that contains the key at `loc`."""
    current: Any = model
    for part in loc[:-1]:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
        # `EmulatorSpec | None`: look inside the optional for the model
        current = next((a for a in (current, *get_args(current)) if hasattr(a, "model_fields")), current)
    return list(getattr(current, "model_fields", {}))


def describe(err: ValidationError, model: type[BaseModel], source: Path | str) -> PipelineError:
    # A misspelled key shows up twice (unknown 'ram_kbb' + missing 'ram_kb'): report the typo.
    first = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(first["loc"])
    key = ".".join(str(p) for p in loc) or "<root>"
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        allowed = _fields_at(model, loc)
        return PipelineError(
            f"{source}: unknown key '{key}' (value {value!r}){did_you_mean(str(loc[-1]), allowed)}"
            f" allowed keys: {allowed_list(allowed)}"
        )
    if first["type"] == "missing":
        return PipelineError(f"{source}: missing required key '{key}'")
    msg = first["msg"]
    if "expected" in first.get("ctx", {}):
        # Literal/enum: the allowed set is in ctx; add a suggestion.
        expected = str(first["ctx"]["expected"]).replace("'", "").replace(" or ", ", ")
        options = [o.strip() for o in expected.split(",")]
        return PipelineError(
            f"{source}: bad value {value!r} for '{key}'{did_you_mean(str(value), options)}"
            f" allowed: {expected}"
        )
    return PipelineError(f"{source}: bad value {value!r} for '{key}': {msg}")
