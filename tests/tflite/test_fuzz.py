"""Mutated models must parse or raise TFLiteFormatError: never another exception, never hang."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.tflite import TFLiteFormatError, TFLiteModel, read_model

_SEED = {}


def _seed(zoo_models):
    if "data" not in _SEED:
        _SEED["data"] = zoo_models["dense"].read_bytes()
    return _SEED["data"]


def _mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for pos, val, mode in edits:
        pos %= len(b)
        if mode == 0:
            b[pos] = val
        elif mode == 1:  # overwrite a 32-bit little-endian word: offsets and lengths
            b[pos:pos + 4] = (val * 0x01010101 if val % 2 else val << 24).to_bytes(4, "little")[:len(b) - pos]
        else:
            del b[pos:pos + val % 16 + 1]
    return bytes(b)


_edits = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255), st.integers(0, 2)),
                  min_size=1, max_size=6)


def _check(data):
    try:
        assert isinstance(read_model(data), TFLiteModel)
    except TFLiteFormatError as err:
        assert "\n" not in str(err) and str(err)


def _run(zoo_models, examples):
    seed = _seed(zoo_models)

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_edits)
    def inner(edits):
        _check(_mutate(seed, edits))
    inner()


def test_fuzz_mutations_quick(zoo_models):
    _run(zoo_models, 300)


@given(st.binary(max_size=256))
@settings(max_examples=300, deadline=None, database=None)
def test_fuzz_random_bytes(data):
    _check(data)
    _check(b"\x00\x00\x00\x00TFL3" + data)


@pytest.mark.slow
def test_fuzz_mutations_many(zoo_models):
    _run(zoo_models, 5000)
