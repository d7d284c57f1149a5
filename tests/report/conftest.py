from __future__ import annotations

import pytest

from .examples import dump


@pytest.fixture
def write(tmp_path):
    """write(name, report) -> Path of a JSON file in tmp_path (no validation: tests craft bad ones)."""
    return lambda name, report: dump(tmp_path / name, report)
