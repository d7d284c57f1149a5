"""Content-addressed stage cache.

An entry is a directory `<root>/<stage>/<key>/` holding the stage's files and `meta.json`. It is
built in a temporary sibling directory and renamed into place only after the stage returned and
`meta.json` was written, so a build killed at any point leaves either no entry or a whole one;
leftover temporary directories are never read and are swept on the next build.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from .atomic import sha256_file
from .code_closure import code_files
from .stages.base import META_FILE, Artifact

TMP_PREFIX = ".tmp-"
PACKAGE_ROOT = Path(__file__).resolve().parent


def code_digest(stage: ModuleType, root: Path | None = None) -> str:
    """sha256 over the stage's code: its module and everything it imports from this package, with
    the data files beside them (derived, see code_closure.py), so editing any of it re-runs the
    stage and editing anything else does not."""
    repo = Path(root) if root is not None else PACKAGE_ROOT.parent
    module = Path(stage.__file__) if root is None else repo / Path(stage.__file__).resolve().relative_to(PACKAGE_ROOT.parent)
    h = hashlib.sha256()
    for p in code_files(module, repo):
        h.update(str(p.relative_to(repo.resolve())).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def stage_key(stage: ModuleType, *, config_sections: dict, target_fields: dict, options: dict,
              inputs: dict[str, Artifact], model_digest: str | None = None) -> str:
    blob = json.dumps(
        {
            "stage": stage.NAME,
            "code": code_digest(stage),
            "config": config_sections,
            "target": target_fields,
            "options": options,
            "inputs": {name: art.key for name, art in sorted(inputs.items())},
            "model": model_digest,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class StageCache:
    def __init__(self, root: Path):
        self.root = Path(root)

    def entry_dir(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def lookup(self, stage: str, key: str) -> Artifact | None:
        d = self.entry_dir(stage, key)
        # The directory only appears by rename after meta.json was written: existence == complete.
        if (d / META_FILE).is_file():
            return Artifact.load(stage, d, key)
        return None

    def store(self, stage: str, key: str, parents: dict[str, Artifact],
              produce: Callable[[Path], Artifact]) -> Artifact:
        final = self.entry_dir(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f"{TMP_PREFIX}{key}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        try:
            t0 = time.monotonic()
            produced = produce(tmp)
            files = {str(p.relative_to(tmp)): sha256_file(p)
                     for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != META_FILE}
            record = {
                "stage": stage,
                "key": key,
                "meta": produced.meta,
                "files": files,
                "parents": {name: art.key for name, art in sorted(parents.items())},
                "seconds": round(time.monotonic() - t0, 3),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            meta_tmp = tmp / (META_FILE + ".tmp")
            meta_tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
            os.replace(meta_tmp, tmp / META_FILE)
            if final.exists():  # a concurrent build finished the same key first: keep theirs
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Artifact.load(stage, final, key)

    def record(self, stage: str, key: str) -> dict:
        return json.loads((self.entry_dir(stage, key) / META_FILE).read_text())

    def sweep_temporaries(self) -> int:
        """Delete temp dirs left by killed builds (their pid is gone). Returns how many."""
        removed = 0
        if not self.root.is_dir():
            return 0
        for d in self.root.glob(f"*/{TMP_PREFIX}*"):
            pid = d.name.rsplit("-", 1)[-1]
            if pid.isdigit() and _alive(int(pid)) and int(pid) != os.getpid():
                continue
            shutil.rmtree(d, ignore_errors=True)
            removed += 1
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
