"""A stage's code digest comes from its import closure (pipeline/code_closure.py): editing any file
a stage imports re-runs that stage, editing anything else does not (issue #19)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import stages
from pipeline.cache import code_digest
from pipeline.code_closure import code_files

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(REPO / "pipeline", root / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "firmware", root / "firmware")
    return root


def _digests(root: Path) -> dict[str, str]:
    return {s.NAME: code_digest(s, root) for s in stages.CHAIN}


@pytest.mark.parametrize("edited", [
    "pipeline/tflite/reader.py",      # the file the hand-kept lists missed for package/bench
    "pipeline/tflm_arena.py",         # moved out of the CLI module inspect.py
    "pipeline/training/loop.py",
    "pipeline/report/templates/report.html.j2",
    "firmware/kernels/conv.c",        # read by path (CODE_DATA), not imported
    "pipeline/data/dataset.py",
])
def test_editing_a_file_reruns_exactly_the_stages_that_import_it(repo_copy, edited):
    before = _digests(repo_copy)
    path = repo_copy / edited
    assert path.is_file(), edited
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited\n")
        after = _digests(repo_copy)
    finally:
        path.write_bytes(original)
    changed = {name for name in before if before[name] != after[name]}
    importers = {s.NAME for s in stages.CHAIN if path.resolve() in code_files(
        repo_copy / Path(s.__file__).resolve().relative_to(REPO), repo_copy)}
    assert changed == importers and changed, (edited, changed, importers)
    assert changed != set(before), f"editing {edited} re-ran every stage"


def test_the_closure_follows_lazy_imports_and_not_the_stage_registry():
    package = {str(p.relative_to(REPO)) for p in code_files(Path(stages.STAGES.get("package").__file__), REPO)}
    teacher = {str(p.relative_to(REPO)) for p in code_files(Path(stages.STAGES.get("teacher").__file__), REPO)}
    assert "pipeline/tflite/reader.py" in package and "pipeline/tflm_arena.py" in package
    assert any(p.startswith("firmware/kernels/") for p in package)
    assert "pipeline/training/loop.py" in teacher
    # pipeline/stages/__init__.py imports every stage; the teacher does not depend on the report
    assert "pipeline/stages/__init__.py" in teacher and "pipeline/stages/report.py" not in teacher
    assert not any(p.startswith("pipeline/report/") for p in teacher)
