"""The package's import graph, read from the AST (pipeline/code_closure.py): no cycles, no module
imports a CLI module, and no target-kind adapter imports another (issue #19)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.code_closure import imported_files

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "pipeline"
# The command-line front ends: they import the rest, nothing imports them (__main__ runs cli).
CLI_MODULES = {PACKAGE / "cli.py", PACKAGE / "inspect.py"}
ADAPTERS = PACKAGE / "adapters"


def _graph() -> dict[Path, set[Path]]:
    graph = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        # A module's own parent packages are initialised before it on any import: an edge to them
        # (`from . import numerics` reads pipeline/verify/__init__.py first) is not a cycle.
        parents = {p / "__init__.py" for p in f.parents if p.is_relative_to(PACKAGE)}
        graph[f] = imported_files(f, REPO) - parents
    return graph


def _cycles(graph: dict[Path, set[Path]]) -> list[list[Path]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[Path, int] = {}
    low: dict[Path, int] = {}
    stack: list[Path] = []
    on_stack: set[Path] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _rel(paths) -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in paths)


def test_there_are_no_import_cycles():
    assert [_rel(c) for c in _cycles(_graph())] == []


def test_the_cycle_finder_finds_a_cycle():
    a, b, c = Path("a.py"), Path("b.py"), Path("c.py")
    assert _cycles({a: {b}, b: {c}, c: {a}}) == [[a, b, c]]
    assert _cycles({a: {b}, b: set(), c: {a}}) == []


def test_no_module_imports_a_cli_module():
    offenders = {f: imps & CLI_MODULES for f, imps in _graph().items()
                 if imps & CLI_MODULES and f not in CLI_MODULES and f.name != "__main__.py"}
    assert {str(f.relative_to(REPO)): _rel(i) for f, i in offenders.items()} == {}


def test_no_adapter_imports_another():
    kinds = {f for f in ADAPTERS.glob("*.py") if f.name not in ("__init__.py", "base.py")}
    reach = {}
    for f, imps in _graph().items():
        if f in kinds and imps & (kinds - {f}):
            reach[str(f.relative_to(REPO))] = _rel(imps & (kinds - {f}))
        # nothing outside the registry reaches into an adapter module either
        if f not in kinds and f.parent != ADAPTERS and imps & kinds:
            reach[str(f.relative_to(REPO))] = _rel(imps & kinds)
    assert reach == {}


def test_build_options_are_one_frozen_typed_object_and_stage_keys_name_its_fields():
    import dataclasses

    from pipeline.errors import PipelineError
    from pipeline.options import NAMES, BuildOptions
    from pipeline.stages import CHAIN
    for stage in CHAIN:
        unknown = set(getattr(stage, "OPTION_KEYS", ())) - set(NAMES)
        assert not unknown, f"{stage.NAME}.OPTION_KEYS names no BuildOptions field: {sorted(unknown)}"
    opts = BuildOptions.of({"device": "emulator", "runs": 3})
    assert dict(opts) == {"device": "emulator", "runs": 3} and opts.get("engine") is None
    assert {**opts, "device": "qemu"} == {"device": "qemu", "runs": 3}
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.device = "qemu"
    with pytest.raises(PipelineError, match="unknown build option 'devise'; did you mean 'device'"):
        BuildOptions.of({"devise": "qemu"})
