import shutil

import pytest

from pipeline.aot import zoo
from pipeline.targets import load_all


def pytest_collection_modifyitems(config, items):
    missing = [t for t in ("arm-none-eabi-gcc", "qemu-system-arm") if shutil.which(t) is None]
    if missing:
        skip = pytest.mark.skip(reason=f"needs {', '.join(missing)}")
        for item in items:
            if "tests/cortex_m" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def zoo_models(tmp_path_factory):
    return zoo.build(None, tmp_path_factory.getbasetemp() / "zoo")


@pytest.fixture(scope="session")
def reject_models(tmp_path_factory):
    return zoo.build(list(zoo.REJECTS), tmp_path_factory.getbasetemp() / "zoo")


@pytest.fixture(scope="session")
def targets():
    return load_all()
