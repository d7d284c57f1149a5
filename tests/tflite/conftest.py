import pytest

from pipeline.aot import zoo


@pytest.fixture(scope="session")
def zoo_models(tmp_path_factory):
    """All zoo models, converted once per session (shared dir with tests/aot)."""
    return zoo.build(None, tmp_path_factory.getbasetemp() / "zoo")
