"""Bad model and input files through the real CLI: one line, exit 2, nothing written."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from .conftest import cli, error_line, one_line

F = ["truncated", "corrupt", "empty", "not_tflite", "bad_offset", "bad_buffer_index"]


def _bad(kind: str, good: bytes) -> bytes:
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "corrupt":
        b = bytearray(good)
        b[40:60] = b"\xff" * 20
        return bytes(b)
    if kind == "empty":
        return b""
    if kind == "not_tflite":
        return b"PK\x03\x04 this is a zip file, not a model" * 4
    if kind == "bad_offset":  # root table offset far past the end of the file
        return struct.pack("<I", 0x7FFFFFF0) + good[4:]
    if kind == "bad_buffer_index":  # the first tensor with a buffer field points at buffer 0xFFFF
        from pipeline.tflite.flatbuf import Buf
        buf = Buf(good)
        root = buf.table(buf.uoffset(0, "root"), "Model")
        b = bytearray(good)
        for t in root.tables(2, "subgraphs")[0].tables(0, "tensors"):
            pos = t._field(2)
            if pos:
                b[pos:pos + 4] = struct.pack("<I", 0xFFFF)
                return bytes(b)
        raise AssertionError("no tensor with a buffer field")
    raise AssertionError(kind)


@pytest.fixture(scope="module")
def bad_files(models, tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good = models["dense"].read_bytes()
    out = {k: d / f"{k}.tflite" for k in F}
    for k, p in out.items():
        p.write_bytes(_bad(k, good))
    np.save(d / "x.npy", np.zeros((1, 10), np.int8))
    return d, out


@pytest.mark.parametrize("kind", F)
def test_inspect_bad_model(bad_files, kind, tmp_path):
    d, files = bad_files
    res = cli("inspect", files[kind], "--target", "cortex-m4", cwd=tmp_path)
    if kind == "bad_buffer_index":
        assert "uses buffer 65535" in res.stderr
    assert res.returncode == 2, res.stderr
    assert one_line(res.stderr).startswith("error: ")


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
@pytest.mark.parametrize("kind", F)
def test_run_bad_model(bad_files, kind, target, tmp_path):
    d, files = bad_files
    out = tmp_path / "y.npy"
    res = cli("run", "--target", target, "--model", files[kind], "--inputs", d / "x.npy", "--outputs", out,
              cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    assert one_line(res.stderr).startswith("error: ")
    assert not out.exists() and not list(tmp_path.glob(".*tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["truncated", "not_tflite"])
def test_build_with_bad_model(bad_files, kind, tmp_path):
    d, files = bad_files
    res = cli("build", "--target", "cortex-m4", "--model", files[kind], cwd=tmp_path, timeout=300)
    assert res.returncode == 2, res.stderr
    error_line(res.stderr)
    assert "running" not in res.stderr  # refused before any stage ran


def test_float_only_model_where_int8_is_required(models, tmp_path):
    res = cli("inspect", models["float"], "--target", "cortex-m4", cwd=tmp_path)
    assert res.returncode == 2 and "float-only model where int8 is required" in one_line(res.stderr)
    np.save(tmp_path / "x.npy", np.zeros((1, 16), np.int8))
    res = cli("run", "--target", "cortex-m4", "--model", models["float"], "--inputs", tmp_path / "x.npy",
              "--outputs", tmp_path / "y.npy", cwd=tmp_path)
    assert res.returncode == 2 and "float32, expected int8" in one_line(res.stderr)
    assert not (tmp_path / "y.npy").exists()


@pytest.mark.slow
def test_float_only_model_in_build(models, tmp_path):
    res = cli("build", "--target", "cortex-m4", "--model", models["float"], cwd=tmp_path, timeout=300)
    assert res.returncode == 2 and "float-only model where int8 is required" in error_line(res.stderr)


def test_huge_model_is_refused_before_reading(tmp_path):
    huge = tmp_path / "huge.tflite"
    with open(huge, "wb") as f:  # sparse: 300 MB on paper, nothing on disk
        f.write(b"\x00\x00\x00\x00TFL3")
        f.truncate(300 * 2**20)
    np.save(tmp_path / "x.npy", np.zeros((1, 10), np.int8))
    for args in (["inspect", huge], ["build", "--target", "host", "--model", huge],
                 ["run", "--target", "host", "--model", huge, "--inputs", tmp_path / "x.npy",
                  "--outputs", tmp_path / "y.npy"],
                 ["run", "--target", "cortex-m4", "--model", huge, "--inputs", tmp_path / "x.npy",
                  "--outputs", tmp_path / "y.npy"]):
        res = cli(*args, cwd=tmp_path, timeout=120)
        assert res.returncode == 2, (args, res.stderr)
        assert "over the 256 MB limit" in one_line(res.stderr), args


@pytest.mark.parametrize("target", ["host", "cortex-m4"])
@pytest.mark.parametrize("x", ["shape", "rank", "dtype", "garbage", "pickle"])
def test_run_wrong_inputs(models, target, x, tmp_path):
    path = tmp_path / "x.npy"
    if x == "shape":
        np.save(path, np.zeros((1, 7), np.int8))
    elif x == "rank":
        np.save(path, np.zeros((2, 3, 4, 5), np.int8))
    elif x == "dtype":
        if target == "cortex-m4":  # float inputs are quantized on purpose there (documented); strings are not
            np.save(path, np.array([["a"] * 10]))
        else:
            np.save(path, np.zeros((1, 10), np.float64))
    elif x == "garbage":
        path.write_bytes(b"\x93NUMPY garbage garbage")
    else:
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    out = tmp_path / "y.npy"
    res = cli("run", "--target", target, "--model", models["dense"], "--inputs", path, "--outputs", out,
              cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    assert one_line(res.stderr).startswith("error: ")
    assert not out.exists()
