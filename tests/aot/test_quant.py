import math

from hypothesis import given, strategies as st

from pipeline.aot.compile import quant as Q


def test_tf_round_is_half_away_from_zero():
    assert [Q.tf_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994)] == [1, 2, 3, -1, -3, 0]


@given(st.floats(min_value=1e-9, max_value=1e3, allow_nan=False))
def test_quantize_multiplier_reconstructs(m):
    q, s = Q.quantize_multiplier(m)
    if q:
        assert (1 << 30) <= q < (1 << 31)
        assert math.isclose(q * 2.0 ** (s - 31), m, rel_tol=2 ** -30)


def test_padding_puts_the_odd_pixel_after():
    # SAME, in 8, k 3, stride 2: out 4, total pad 1 -> 0 before, 1 after
    assert Q.out_size("SAME", 8, 3, 2, 1) == 4 and Q.pad_before(8, 3, 2, 1, 4) == 0
    assert Q.out_size("VALID", 9, 3, 2, 2) == 3




_ACC = st.integers(min_value=-Q.FAST_RQ_MAX_ACC, max_value=Q.FAST_RQ_MAX_ACC - 1)


@given(_ACC, st.integers(min_value=0, max_value=(1 << 31) - 1), st.integers(min_value=1, max_value=31),
       st.integers(min_value=-128, max_value=127))
def test_one_multiply_requantization_equals_the_reference(x, m, r, zp):
    rq = Q.fast_requant(m, -r, zp)
    if r > Q.FAST_RQ_MAX_RIGHT:
        assert rq is None
        return
    assert Q.fast_requant_eval(x, *rq) == Q.mbqm(x, m, -r) + zp


def test_one_multiply_requantization_on_every_tie():
    # ties of the second rounding are where the sign correction matters: sweep x through them
    for r in (1, 2, 3, 7):
        for m in (1 << 30, (1 << 31) - 1, 1518500250, (1 << 30) | 12345, 0):
            rq = Q.fast_requant(m, -r, -5)
            for x in range(-40000, 40000, 3):
                assert Q.fast_requant_eval(x, *rq) == Q.mbqm(x, m, -r) - 5, (x, m, r)


def test_one_multiply_requantization_at_the_accumulator_bound():
    # 2x must fit int32 in the kernels; the extremes of the allowed range still match
    lim = Q.FAST_RQ_MAX_ACC
    for x in (-lim, -lim + 1, lim - 1, lim - 2, -1, 0, 1):
        for m in ((1 << 31) - 1, 1 << 30, 1518500250):
            for r, zp in ((1, 127), (23, -128), (9, 0)):
                assert Q.fast_requant_eval(x, *Q.fast_requant(m, -r, zp)) == Q.mbqm(x, m, -r) + zp


def test_one_multiply_requantization_refuses_left_shifts_and_r0():
    assert Q.fast_requant(1 << 30, 0, 0) is None and Q.fast_requant(1 << 30, 2, 0) is None
