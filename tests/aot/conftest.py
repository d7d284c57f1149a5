import pytest


@pytest.fixture(scope="session")
def host_build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("aot-host")
