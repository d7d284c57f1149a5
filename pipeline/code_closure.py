"""The code behind a stage, derived from its imports — not a hand-kept list.

A stage's cache key covers every file its behaviour can depend on: its module, every `pipeline`
module it imports (at any depth, lazy imports inside functions included: the AST is read, nothing
is executed), the data files that live beside those modules (templates, C sources, JSON schemas:
the non-Python files of each such package directory and of its non-package sub-folders), and the
trees outside the package that a module declares it reads by path (`CODE_DATA = ("firmware",)`).

The hand-listed CODE_DEPS this replaces had already missed `pipeline/tflite` and
`pipeline/inspect.py` for package/bench (issue #19): editing them could reuse a cache entry the
old code computed.

A parent package's `__init__.py` enters the key by its own text, but its imports are not followed:
`pipeline/stages/__init__.py` imports every stage, and following it would make the report
renderer part of the teacher's key.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

# Files that make up "the code" (templates and C kernels change outputs too).
CODE_SUFFIXES = {".py", ".j2", ".c", ".h", ".ld", ".S", ".txt", ".json", ".sh", ".kts", ".kt", ".toml"}


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of module `dotted` ("pipeline.tflite.reader") under the repository `root`."""
    base = root.joinpath(*dotted.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _dotted(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


@lru_cache(maxsize=None)
def _parse(path: Path, root: Path, mtime_ns: int) -> tuple[tuple[str, ...], tuple[str, ...]]:  # noqa: ARG001
    """(modules `path` imports, as absolute dotted names; its CODE_DATA entries). `mtime_ns` is
    only part of the cache key, so an edited file is parsed again."""
    tree = ast.parse(path.read_text(), str(path))
    package = _dotted(root, path if path.name == "__init__.py" else path.parent).split(".")
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.append(module)
            # `from . import bench` imports the module pipeline.stages.bench; for a name that is
            # not a module the lookup below simply finds no file
            names.extend(f"{module}.{a.name}" for a in node.names)
    return tuple(names), tuple(_code_data(tree))


def _code_data(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "CODE_DATA"
                                                for t in node.targets):
            yield from ast.literal_eval(node.value)


def _data_files(package_dir: Path) -> list[Path]:
    """Non-Python code beside a package's modules, and in its sub-folders that are not packages."""
    out = [f for f in package_dir.iterdir() if f.is_file() and f.suffix in CODE_SUFFIXES - {".py"}]
    for sub in package_dir.iterdir():
        if sub.is_dir() and sub.name != "__pycache__" and not (sub / "__init__.py").exists():
            out.extend(f for f in sub.rglob("*") if f.is_file() and f.suffix in CODE_SUFFIXES
                       and "__pycache__" not in f.parts)
    return out


def code_files(module_file: Path, root: Path, package: str = "pipeline") -> list[Path]:
    """Every file that `module_file`'s behaviour can depend on, sorted (see the module docstring)."""
    root = Path(root).resolve()
    start = Path(module_file).resolve()
    seen: set[Path] = set()
    files: set[Path] = set()
    todo = [start]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        files.add(path)
        files.update(_data_files(path.parent))
        imports, data = _parse(path, root, path.stat().st_mtime_ns)
        for tree in data:
            target = root / tree
            files.update(f for f in target.rglob("*") if f.is_file() and f.suffix in CODE_SUFFIXES
                         and "__pycache__" not in f.parts)
        for name in imports:
            if name.split(".")[0] != package:
                continue
            target = _module_file(root, name)
            if target is not None:
                todo.append(target)
        # parent packages run on import: their text counts, their imports are not followed
        parent = path.parent
        while parent != root and (parent / "__init__.py").is_file():
            files.add(parent / "__init__.py")
            parent = parent.parent
    return sorted(files)


def imported_files(module_file: Path, root: Path, package: str = "pipeline") -> set[Path]:
    """The `package` modules that `module_file` imports directly (lazily or not), as files."""
    root = Path(root).resolve()
    path = Path(module_file).resolve()
    imports, _ = _parse(path, root, path.stat().st_mtime_ns)
    found = (_module_file(root, n) for n in imports if n.split(".")[0] == package)
    return {f for f in found if f is not None and f != path}
