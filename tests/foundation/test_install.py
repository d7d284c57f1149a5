"""A fresh install is the tested install (issue #16).

- the lock lists every dependency of pyproject.toml, within its range, and is not stale;
- every third-party module the code imports is declared (matplotlib was not: it came with mnist1d);
- the venv running these tests holds exactly the locked versions (what `make setup` promises);
- no code picks its Keras through `tf.keras`, and importing onnx2tf leaks no Keras choice into
  processes started afterwards (the fuzz suite's crash on a fresh machine);
- a dependency that fails to import is one line and exit 2; a Ctrl-C that a native module's
  initializer turned into ImportError is still an interrupt (exit 130).
"""
from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
PIPELINE = str(Path(sys.executable).parent / "pipeline")
sys.path.insert(0, str(REPO / "deps"))
import lock  # noqa: E402 - deps/lock.py, the script `make setup` and `make lock` run

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
CODE_DIRS = ("pipeline", "benchmarks", "tests")


def _requirements() -> list[Requirement]:
    return [Requirement(r) for r in PYPROJECT["project"]["dependencies"] + PYPROJECT["build-system"]["requires"]]


def test_the_lock_pins_every_pyproject_dependency_within_its_range():
    pins, header = lock.read_lock()
    problems = []
    for req in _requirements():
        version = pins.get(lock.canonical(req.name))
        if version is None:
            problems.append(f"{req.name}: missing from deps/lock.txt")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} is outside pyproject's '{req.specifier}'")
    assert not problems, "; ".join(problems) + " — run `make lock`"
    assert header.get("inputs") == lock.inputs_digest(), "deps/lock.txt is stale: run `make lock`"


def test_a_dependency_missing_from_the_lock_is_caught(tmp_path):
    """The check above can fail: a lock without numpy is reported."""
    text = "".join(ln + "\n" for ln in lock.LOCK.read_text().splitlines() if not ln.startswith("numpy=="))
    (tmp_path / "lock.txt").write_text(text)
    pins, _ = lock.read_lock(tmp_path / "lock.txt")
    missing = [r.name for r in _requirements() if lock.canonical(r.name) not in pins]
    assert missing == ["numpy"]


def _imported_top_levels(root: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_third_party_module_is_declared_in_pyproject():
    declared = {lock.canonical(r.name) for r in _requirements()}
    # a test helper imported as a sibling module (tests/linux_arm/tiny.py is imported as `linux_arm.tiny`,
    # tests/aot_zoo.py as `aot_zoo`)
    local = ({p.name for p in (REPO / "tests").iterdir() if p.is_dir()} | {p.stem for p in (REPO / "tests").glob("*.py")}
             | {"lock", *CODE_DIRS})
    dists = md.packages_distributions()
    undeclared = []
    for d in CODE_DIRS:
        for module, files in _imported_top_levels(REPO / d).items():
            if module in sys.stdlib_module_names or module in local:
                continue
            owners = {lock.canonical(n) for n in dists.get(module, [module])}
            if not owners & declared:
                undeclared.append(f"{module} ({sorted(owners)}) in {sorted(files)[0]}")
    assert not undeclared, "imported but not in pyproject.toml dependencies: " + "; ".join(undeclared)


def test_the_installed_set_is_exactly_the_lock():
    """`make setup` installs the lock with --no-deps and removes what it does not list."""
    pins, _ = lock.read_lock()
    installed = {lock.canonical(d.metadata["Name"]): d.version for d in md.distributions()}
    installed.pop("pipeline", None)
    differ = [f"{n}: lock {v}, installed {installed.get(n, 'nothing')}" for n, v in pins.items()
              if installed.get(n) != v]
    extra = sorted(set(installed) - set(pins))
    assert not differ and not extra, f"differ: {differ}; not in the lock: {extra} (run `make setup`)"


def _tf_keras_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "keras"
            and isinstance(n.value, ast.Name) and n.value.id in ("tf", "tensorflow")]


def test_no_code_chooses_keras_through_tf_keras():
    uses = [f"{p.relative_to(REPO)}:{line}" for d in CODE_DIRS for p in sorted((REPO / d).rglob("*.py"))
            for line in _tf_keras_uses(p) if p.name != "keras_api.py"]
    assert not uses, "use pipeline.keras_api.keras3() (Keras 3 by name), not tf.keras: " + ", ".join(uses)


def test_tf_keras_attribute_use_is_detected(tmp_path):
    (tmp_path / "m.py").write_text("import tensorflow as tf\nx = tf.keras.layers.Dense\n")
    assert _tf_keras_uses(tmp_path / "m.py") == [2]


AFTER_ONNX2TF = textwrap.dedent("""
    import os, subprocess, sys
    from pipeline.keras_api import keras3, onnx2tf
    onnx2tf()
    assert "TF_USE_LEGACY_KERAS" not in os.environ, os.environ["TF_USE_LEGACY_KERAS"]
    import tensorflow as tf
    assert tf.keras.__name__.startswith("tf_keras"), tf.keras.__name__  # what onnx2tf expects
    assert keras3().ops.mean is not None                                # ours: Keras 3 by name
    sys.path.insert(0, sys.argv[2])                                    # tests/ (the zoo lives there)
    import aot_zoo
    aot_zoo.build(["broadcast", "means"], sys.argv[1])                 # keras.ops.mean, after onnx2tf
    child = subprocess.run([sys.executable, "-c", "import tensorflow as tf; print(tf.keras.ops.mean)"],
                           capture_output=True, text=True)
    assert child.returncode == 0, child.stderr[-500:]
    print("ok")
""")


@pytest.mark.slow
def test_onnx2tf_leaks_no_keras_choice_into_later_processes(tmp_path):
    res = subprocess.run([sys.executable, "-c", AFTER_ONNX2TF, str(tmp_path), str(Path(__file__).resolve().parents[1])], capture_output=True, text=True,
                         timeout=600, cwd=REPO)
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-2000:]


def _shadow(tmp_path: Path, package: str, body: str) -> dict:
    """A package of that name, first on sys.path, whose import runs `body` (a broken install)."""
    pkg = tmp_path / "shadow" / package
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent(body))
    return {"PYTHONPATH": str(tmp_path / "shadow")}


def _report(tmp_path: Path) -> Path:
    from report.examples import cortex_m

    path = tmp_path / "r.json"
    path.write_text(json.dumps(cortex_m()))
    return path


def _pipeline(*args, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([PIPELINE, *map(str, args)], cwd=cwd, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("package,body,reason", [
    ("matplotlib", "raise ImportError('initialization failed')", "ImportError: initialization failed"),
    ("matplotlib", "raise OSError('libfreetype.so.6: cannot open shared object file: No such file or directory')",
     "OSError: libfreetype.so.6: cannot open shared object file"),
])
def test_a_dependency_that_fails_to_import_is_one_line_and_exit_2(tmp_path, package, body, reason):
    out = tmp_path / "out.html"
    res = _pipeline("compare", _report(tmp_path), "--html", out, env=_shadow(tmp_path, package, body), cwd=tmp_path)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.returncode == 2, res.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert lines[0].startswith(f"error: {package} failed to import ({reason}") and \
        lines[0].endswith("; reinstall with make setup"), lines[0]
    assert not out.exists()


@pytest.mark.slow
def test_a_stage_whose_dependency_fails_to_import_is_one_line_and_exit_2(tmp_path):
    """A real build: torch's import raises OSError as a missing shared library does."""
    env = _shadow(tmp_path, "torch", "raise OSError('libtorch_cpu.so: cannot open shared object file')")
    res = _pipeline("build", "--target", "host", "--dataset", "digits", env=env, cwd=tmp_path)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr
    last = [ln for ln in res.stderr.splitlines() if ln.strip()][-1]
    assert last == ("error: torch failed to import (OSError: libtorch_cpu.so: cannot open shared object file);"
                    " reinstall with make setup"), res.stderr[-2000:]


def test_our_own_broken_import_stays_an_internal_error():
    from pipeline.dependencies import failed_dependency

    try:
        from pipeline import no_such_module  # noqa: F401
    except ImportError as err:
        assert failed_dependency(err) is None
    try:
        open("/nonexistent/file")
    except OSError as err:
        assert failed_dependency(err) is None


# What pybind11 does when its module init is interrupted: the KeyboardInterrupt becomes ImportError.
INTERRUPTED_INIT = """
import os, signal, time
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt:
    raise ImportError("initialization failed")
"""


def test_ctrl_c_inside_a_native_module_init_is_an_interrupt(tmp_path):
    res = _pipeline("compare", _report(tmp_path), "--html", tmp_path / "out.html",
                    env=_shadow(tmp_path, "matplotlib", INTERRUPTED_INIT), cwd=tmp_path)
    assert res.returncode == 130, res.stderr[-2000:]
    assert res.stderr.strip().splitlines() == [
        "interrupted; finished stages are cached, the next build resumes after them"]


def test_each_benchmark_peer_lock_pins_what_its_input_asks():
    for source in sorted((REPO / "deps" / "peers").glob("*.in")):
        pins, _ = lock.read_lock(source.with_suffix(".txt"))
        for line in source.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                req = Requirement(line)
                assert req.specifier.contains(pins.get(lock.canonical(req.name), "0"), prereleases=True), \
                    f"{source.name}: {req} not pinned in {source.with_suffix('.txt').name}: run `make lock`"
