"""The Android Studio project: every text file is rendered from templates/, data files are copied.

Template paths mirror the project tree; `__package__` in a path becomes the package's directory
and a trailing `.j2` is dropped (`gitignore.j2` becomes `.gitignore`, which a package would lose).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from ..atomic import sha256_file, write_bytes, write_json, write_text
from ..errors import PipelineError

# Pinned so a build is reproducible; all are published releases (Google Maven / Maven Central /
# Gradle Plugin Portal). LiteRT 1.4.2 is the current Interpreter-API line (minSdk 21).
VERSIONS = {
    "litert": "1.4.2",
    "agp": "8.7.3",
    "kotlin": "2.0.21",
    "gradle": "8.10.2",
    "compile_sdk": 35,
    "target_sdk": 35,
    "min_sdk": 24,
    "androidx_test_runner": "1.6.2",
    "androidx_test_junit": "1.2.1",
    "junit": "4.13.2",
}
DEFAULT_PACKAGE = "dev.pipeline.classifier"
REPORT_FILE = "pipeline-android-report.json"
TEST_FILES = {"x": "test_x.bin", "y": "test_y.bin", "host_top1": "host_top1.bin", "meta": "test_set.json"}
MAIN_ASSETS = Path("app/src/main/assets")
TEST_ASSETS = Path("app/src/androidTest/assets")
_PACKAGE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_KOTLIN_KEYWORDS = {"as", "break", "class", "continue", "do", "else", "false", "for", "fun", "if", "in",
                    "interface", "is", "null", "object", "package", "return", "super", "this", "throw",
                    "true", "try", "typealias", "typeof", "val", "var", "when", "while"}


def check_package(name: str) -> str:
    if not _PACKAGE_RE.match(name) or any(part in _KOTLIN_KEYWORDS for part in name.split(".")):
        raise PipelineError(
            f"android package '{name}' is not a valid application id; use lower-case dotted words, "
            f"e.g. '{DEFAULT_PACKAGE}'")
    return name


# ----------------------------------------------------------------------------- Kotlin literals

def kfloat(value: float) -> str:
    """A Kotlin Float literal that parses back to exactly this float32 (shortest round-trip form)."""
    text = np.format_float_scientific(np.float32(value), unique=True, trim="0", exp_digits=1)
    if not np.isfinite(np.float32(value)):
        raise PipelineError(f"cannot write {value!r} as a Kotlin Float literal")
    return text.replace("+", "") + "f"


def kfloats(values) -> str:
    values = values if isinstance(values, (list, tuple)) else [values]
    return "floatArrayOf(" + ", ".join(kfloat(v) for v in values) + ")"


def kints(values) -> str:
    return "intArrayOf(" + ", ".join(str(int(v)) for v in values) + ")"


def kstr(value: str) -> str:
    """A Kotlin string literal: escapes quotes, backslashes, `$` templates and control characters."""
    out = []
    for ch in str(value):
        if ch in '\\"$':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def xmlcomment(value: str) -> str:
    """Text that is safe inside <!-- -->: no '--'."""
    return str(value).replace("--", "- -")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("pipeline.android", "templates"), undefined=StrictUndefined,
                      keep_trailing_newline=True, autoescape=False)
    env.filters.update(kfloat=kfloat, kfloats=kfloats, kints=kints, kstr=kstr, xmlcomment=xmlcomment)
    return env


def template_names() -> list[str]:
    return sorted(_env().list_templates(filter_func=lambda n: n.endswith(".j2")))


def _dest(name: str, package: str) -> Path:
    rel = name[: -len(".j2")].replace("__package__", package.replace(".", "/"))
    if rel == "gitignore":
        rel = ".gitignore"
    return Path(rel)


# ----------------------------------------------------------------------------- the project

def write_project(dest: Path, *, model: Path, spec: dict, x_test: np.ndarray, y_test: np.ndarray,
                  host_top1: np.ndarray, target_id: str, package: str = DEFAULT_PACKAGE,
                  threads: int = 4, warmup: int = 5, pipeline_version: str = "") -> dict[str, Any]:
    """Write the project into `dest` (which should be empty); returns its meta (files -> sha256)."""
    package = check_package(package)
    dest = Path(dest)
    sha = sha256_file(model)
    if sha != spec["model_sha256"]:
        raise PipelineError(f"{model}: sha256 {sha[:12]} differs from the preprocess spec's "
                            f"{spec['model_sha256'][:12]}")
    x = np.ascontiguousarray(x_test, dtype="<f4")
    y = np.ascontiguousarray(y_test).astype("<i4")
    top = np.ascontiguousarray(host_top1).astype("<i4")
    if x.shape[1:] != tuple(spec["input_shape"]) or not (len(x) == len(y) == len(top)):
        raise PipelineError(f"test set shapes x {list(x.shape)}, y {list(y.shape)}, host top-1 {list(top.shape)} "
                            f"do not match the input shape {spec['input_shape']}")
    header = (f"generated from {sha} (sha256 of model_int8.tflite) by pipeline {pipeline_version or 'dev'} "
              f"for target {target_id}; regenerate with `pipeline build` rather than editing")
    values = {
        "header": header, "spec": spec, "package": package, "package_path": package.replace(".", "/"),
        "target_id": target_id, "versions": VERSIONS, "threads": int(threads), "warmup": int(warmup),
        "n_test": int(len(y)), "input_size": int(np.prod(spec["input_shape"])), "files": TEST_FILES,
        "report_file": REPORT_FILE, "project_name": f"pipeline-{target_id}",
        "app_label": f"pipeline {target_id} classifier",
    }
    env = _env()
    for name in template_names():
        write_text(dest / _dest(name, package), env.get_template(name).render(**values))

    # Data files cannot carry a comment; JSON ones carry `generated_from` instead.
    write_bytes(dest / MAIN_ASSETS / "model_int8.tflite", Path(model).read_bytes())
    write_json(dest / MAIN_ASSETS / "labels.json", {"generated_from": sha, "labels": spec["labels"]})
    write_json(dest / MAIN_ASSETS / "preprocess.json", spec)
    write_bytes(dest / TEST_ASSETS / TEST_FILES["x"], x.tobytes())
    write_bytes(dest / TEST_ASSETS / TEST_FILES["y"], y.tobytes())
    write_bytes(dest / TEST_ASSETS / TEST_FILES["host_top1"], top.tobytes())
    write_json(dest / TEST_ASSETS / TEST_FILES["meta"], {
        "generated_from": sha, "n": int(len(y)), "sample_shape": list(spec["input_shape"]),
        "layout": "channels_first", "normalized": True,
        "x": {"file": TEST_FILES["x"], "dtype": "float32", "byte_order": "little"},
        "y": {"file": TEST_FILES["y"], "dtype": "int32", "byte_order": "little"},
        "host_top1": {"file": TEST_FILES["host_top1"], "dtype": "int32", "byte_order": "little",
                      "note": "top-1 of this host's LiteRT (reference kernels) for the same int8 inputs"},
    })
    files = sorted(p for p in dest.rglob("*") if p.is_file())
    return {"project": dest.name, "package": package, "model_sha256": sha, "n_test": int(len(y)),
            "report_file": REPORT_FILE, "versions": dict(VERSIONS),
            "files": {p.relative_to(dest).as_posix(): sha256_file(p) for p in files}}
