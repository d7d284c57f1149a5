"""The `benchmarks` package lives at the repository root, outside the installed `pipeline`
package: make it importable however pytest is started (`.venv/bin/pytest` does not add the cwd).
No __init__.py here on purpose: a `tests/benchmarks` package would shadow the real one."""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
