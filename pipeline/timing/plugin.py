"""The QEMU instruction-profile plugin: built at `make setup` (tools/qemu_plugin/setup.sh), found or
rebuilt here. setup.sh is idempotent (about 10 ms when the cached plugin matches the source), so
calling it on every use is how a changed plugin source never runs stale."""
from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import PipelineError

SETUP = Path(__file__).resolve().parent.parent.parent / "tools" / "qemu_plugin" / "setup.sh"


def plugin_path() -> Path:
    """Path of the built plugin (.so). One-line PipelineError when it cannot be built."""
    if not SETUP.is_file():
        raise PipelineError(f"the QEMU plugin source is missing ({SETUP}); a source checkout is needed for timing")
    try:
        res = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise PipelineError("building the QEMU plugin took over 600 s; run `make setup` once with network") from None
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(last.removeprefix("error: ") if last.startswith("error: ") else
                            f"building the QEMU plugin failed: {last}")
    so = Path(res.stdout.strip().splitlines()[-1])
    if not so.is_file():
        raise PipelineError(f"the QEMU plugin setup reported {so}, which does not exist")
    return so
