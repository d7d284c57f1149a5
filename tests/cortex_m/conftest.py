import shutil

import pytest


def pytest_collection_modifyitems(config, items):
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        skip = pytest.mark.skip(reason=f"needs {', '.join(missing)}")
        for item in items:
            if "tests/cortex_m" in str(item.fspath):
                item.add_marker(skip)
