import pytest

from pipeline.aot import zoo


@pytest.fixture(scope="session")
def zoo_models(tmp_path_factory):
    """All zoo models, converted once per session (the directory is shared with tests/tflite)."""
    return zoo.build(None, tmp_path_factory.getbasetemp() / "zoo")


@pytest.fixture(scope="session")
def reject_models(tmp_path_factory):
    return zoo.build(list(zoo.REJECTS), tmp_path_factory.getbasetemp() / "zoo")


@pytest.fixture(scope="session")
def host_build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("aot-host")
