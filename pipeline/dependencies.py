"""Tell an environment problem from a bug: which installed package failed to import.

An ImportError or OSError raised while a dependency's module body runs (a missing shared library,
an ABI mismatch after a drifted install, a half-removed package) is not a pipeline bug, and the
fix is the same every time: reinstall from the lock. `failed_dependency` names the package from
the traceback: below the deepest frame of this checkout (the import in a stage), the first frame
of an installed package, not the standard library. An OSError
counts only when that frame is a module body (`<module>`), i.e. it happened during an import; an
OSError from a dependency's function at run time (a file it could not open) is not an install
problem.
"""
from __future__ import annotations

import sys
import sysconfig
import traceback
from pathlib import Path

_OWN = Path(__file__).resolve().parent
_CHECKOUT = _OWN.parent
_SITE_DIRS = {"site-packages", "dist-packages"}


def _is_ours(path: Path) -> bool:
    """This package, or anything else in its checkout (tests, benchmarks) but a venv inside it."""
    return path.is_relative_to(_CHECKOUT) and not _SITE_DIRS & set(path.relative_to(_CHECKOUT).parts)


def _import_roots() -> list[tuple[Path, bool]]:
    """sys.path entries, longest first, each with whether it is the standard library's."""
    stdlib = {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib")}
    roots = {Path(p or ".").resolve() for p in sys.path if p is not None} | stdlib
    return sorted(((r, r in stdlib) for r in roots), key=lambda item: len(item[0].parts), reverse=True)


def _top_level(path: Path, roots: list[tuple[Path, bool]]) -> str | None:
    """`torch` for .../site-packages/torch/nn/functional.py (the import root it lies under, then
    its first component); None for the standard library and files on no import root."""
    for root, is_stdlib in roots:
        if path.is_relative_to(root) and path != root:
            return None if is_stdlib else Path(path.relative_to(root).parts[0]).stem.split(".")[0]
    return None


def _distribution(module: str) -> str:
    try:
        from importlib.metadata import packages_distributions

        names = packages_distributions().get(module)
    except Exception:  # noqa: BLE001 - broken metadata is itself an install problem: keep the name
        names = None
    return names[0] if names else module


def failed_dependency(err: BaseException) -> str | None:
    """The distribution whose import raised `err`, or None when `err` is not an import failure of
    a third-party package (our own code's ImportError stays an internal error)."""
    if not isinstance(err, (ImportError, OSError)):
        return None
    roots = _import_roots()
    frames = [f for f in traceback.extract_tb(err.__traceback__) if not f.filename.startswith("<")]
    ours = [i for i, f in enumerate(frames) if _is_ours(Path(f.filename).resolve())]
    # below our deepest frame (the import statement in a stage); above it are click and the like
    for frame in frames[ours[-1] + 1 if ours else 0:]:
        top = _top_level(Path(frame.filename).resolve(), roots)
        if top is None:
            continue
        if isinstance(err, OSError) and not isinstance(err, ImportError) and frame.name != "<module>":
            return None
        return _distribution(top)
    name = getattr(err, "name", None)  # `import x` / `from x import y` failing in our own code
    if isinstance(err, ImportError) and name and name.split(".")[0] != _OWN.name:
        return _distribution(name.split(".")[0])
    return None


def describe(err: BaseException, package: str) -> str:
    reason = " ".join(str(err).split()) or type(err).__name__
    if len(reason) > 200:
        reason = reason[:197] + "..."
    return f"{package} failed to import ({type(err).__name__}: {reason}); reinstall with make setup"
