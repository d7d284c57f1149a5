"""The movement lowerings' index arithmetic (pipeline/aot/ops/movement.py) against numpy's own
definitions, over every small case: a wrong clamp or mirror index fails here without a model."""
import itertools

import numpy as np
import pytest

from pipeline.aot.ops.movement import _collapse, _mirror_index, _ss_range, nearest_index


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_strided_slice_ranges_are_python_slices(dim):
    """TFLM's start/stop clamping (strided_slice_logic.h) visits what a Python slice visits,
    masks included (a begin/end mask bit is an omitted bound)."""
    items = list(range(dim))
    bounds = range(-dim - 2, dim + 3)
    for b, e, s, bm, em in itertools.product(bounds, bounds, (-3, -2, -1, 1, 2, 3), (0, 1), (0, 1)):
        o = {"begin_mask": bm, "end_mask": em}
        want = items[None if bm else b:None if em else e:s]
        assert _ss_range(o, 0, b, e, s, dim) == want, (b, e, s, bm, em)


def test_strided_slice_shrink_axis_takes_one_element():
    for b in range(-4, 4):
        assert _ss_range({"shrink_axis_mask": 1}, 0, b, 0, 1, 4) == [b % 4]


@pytest.mark.parametrize("mode,offset", [("reflect", 1), ("symmetric", 0)])
def test_mirror_index_is_numpy_pad(mode, offset):
    for dim in range(1, 6):
        src = np.arange(dim)
        for before, after in itertools.product(range(dim - offset + 1), repeat=2):
            want = np.pad(src, (before, after), mode=mode).tolist()
            got = [_mirror_index(i, before, dim, offset) for i in range(dim + before + after)]
            assert got == want, (mode, dim, before, after)


def test_nearest_index_known_values():
    # 5 -> 7 with align_corners: scale 4/6, round((i) * 0.666..) half away from zero
    assert [nearest_index(i, 5, 7, True, False) for i in range(7)] == [0, 1, 1, 2, 3, 3, 4]
    # 6 -> 4 with half-pixel centers: floor((i + 0.5) * 1.5)
    assert [nearest_index(i, 6, 4, False, True) for i in range(4)] == [0, 2, 3, 5]
    # 5 -> 10 plain: floor(i / 2)
    assert [nearest_index(i, 5, 10, False, False) for i in range(10)] == [i // 2 for i in range(10)]


def test_collapse_merges_runs_only():
    ax = lambda n, s: np.arange(n) * s
    dense = _collapse([ax(1, 0), ax(3, 8), ax(2, 4), ax(4, 1)])
    assert len(dense) == 1 and dense[0].tolist() == list(range(24))
    moved = _collapse([ax(4, 1), ax(6, 4)])            # a transpose: no merge
    assert [a.size for a in moved] == [4, 6]
