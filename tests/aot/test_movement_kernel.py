"""The gather kernel (firmware/kernels/gather.c) on 2- and 4-byte elements, which no int8 zoo model
reaches: compiled for the host on its own and checked against numpy on a channel-moving transpose
(element by element, an arithmetic and a table axis) and a resize-like row gather (memcpy runs)."""
import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from pipeline.aot.compile.codegen import KERNELS
from pipeline.aot.compile.host import CFLAGS


class _Gather(ctypes.Structure):
    _fields_ = [("shape", ctypes.c_int32 * 6), ("step", ctypes.c_int32 * 6), ("base", ctypes.c_int32),
                ("elem", ctypes.c_int32), ("run", ctypes.c_int32), ("tabled", ctypes.c_int32),
                ("tab", ctypes.POINTER(ctypes.c_int32))]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no host C compiler")
    out = tmp_path_factory.mktemp("gather") / "gather.so"
    subprocess.run([cc, *CFLAGS, "-shared", "-fPIC", f"-I{KERNELS}", str(KERNELS / "gather.c"), "-o", str(out)],
                   check=True)
    return ctypes.CDLL(str(out))


def _run(lib, x: np.ndarray, shape, step, base, run, tables: dict[int, np.ndarray], out_dtype):
    tab = np.concatenate([tables[k] for k in sorted(tables)] or [np.zeros(1)]).astype(np.int32)
    p = _Gather((ctypes.c_int32 * 6)(*shape), (ctypes.c_int32 * 6)(*step), base, x.itemsize, run,
                sum(1 << k for k in tables), tab.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)))
    out = np.zeros(int(np.prod(shape)), out_dtype)
    lib.aot_gather_axes(ctypes.byref(p), x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
    return out


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_transpose_element_by_element(lib, dtype):
    x = np.arange(3 * 4 * 5, dtype=dtype).reshape(3, 4, 5) * 7 - 100
    e = x.itemsize
    # out (5, 3, 4) = x.transpose(2, 0, 1): axis 0 steps 1 element, axis 1 (a table, reversed
    # rows to make it one) and axis 2 steps 5 elements, the last read element by element
    rows = np.array([2, 1, 0]) * 20 * e
    got = _run(lib, x, [1, 1, 1, 5, 3, 4], [0, 0, 0, e, 0, 5 * e], 0, 0, {4: rows}, dtype)
    assert np.array_equal(got, x[::-1].transpose(2, 0, 1).reshape(-1))


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_row_gather_with_runs(lib, dtype):
    x = np.arange(4 * 6, dtype=dtype).reshape(4, 6) * 3 + 1
    e = x.itemsize
    pick = np.array([3, 3, 0, 2, 1])
    got = _run(lib, x, [1, 1, 1, 1, 5, 4], [0, 0, 0, 0, 0, e], 2 * e, 1, {4: pick * 6 * e}, dtype)
    assert np.array_equal(got, x[pick][:, 2:6].reshape(-1))
