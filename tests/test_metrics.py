"""Tests for abm.metrics: expected values are worked out by hand (arithmetic in comments)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm.metrics import (
    concentration,
    cr_k,
    entropy_bits,
    gini,
    hhi,
    kaplan_meier,
    nakamoto,
    shares,
)

Z95 = 1.959963984540054  # standard normal 97.5% quantile

# ------------------------------------------------------------------------------------------
# Hand-computed cases
# ------------------------------------------------------------------------------------------


def test_shares() -> None:
    np.testing.assert_allclose(shares([50, 30, 20]), [0.5, 0.3, 0.2], rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(shares([0, 0, 0]), [0.0, 0.0, 0.0])
        assert shares([]).shape == (0,)


def test_three_firms() -> None:
    x = [50, 30, 20]
    assert hhi(x) == pytest.approx(3800.0, rel=1e-14)  # 50^2 + 30^2 + 20^2 = 2500 + 900 + 400
    assert nakamoto(x) == 2  # 50% alone is not > 50%; 50 + 30 = 80% is
    assert nakamoto(x, threshold=0.79) == 2  # 80% > 79%
    assert nakamoto(x, threshold=0.8) == 3  # 80% is not > 80%
    assert nakamoto(x, threshold=0.0) == 1
    assert cr_k(x, k=1) == pytest.approx(0.5, rel=1e-15)
    assert cr_k(x, k=2) == pytest.approx(0.8, rel=1e-15)
    assert cr_k(x, k=4) == 1.0  # k >= n
    # Gini = sum_{i,j} |x_i - x_j| / (2 n^2 mean); unordered |diffs| 20 + 30 + 10 = 60,
    # ordered 120; 120 / (2 * 9 * 100/3) = 120 / 600 = 0.2
    assert gini(x) == pytest.approx(0.2, abs=1e-14)
    # H = 0.5 * 1 + 0.3 * log2(1/0.3) + 0.2 * log2(5)
    #   = 0.5 + 0.3 * 1.7369656 + 0.2 * 2.3219281 = 0.5 + 0.5210897 + 0.4643856 = 1.4854753
    assert entropy_bits(x) == pytest.approx(1.4854753, abs=1e-7)


def test_equal_shares() -> None:
    x = [7.0, 7.0, 7.0, 7.0]
    assert hhi(x) == pytest.approx(2500.0, rel=1e-14)  # 4 * 25^2
    assert gini(x) == pytest.approx(0.0, abs=1e-14)
    assert entropy_bits(x) == pytest.approx(2.0, rel=1e-14)  # log2(4)
    assert nakamoto(x) == 3  # two hold exactly 50%, need a third
    assert cr_k(x, k=4) == 1.0


def test_monopoly() -> None:
    x = [1, 0, 0, 0]
    assert hhi(x) == 10_000.0  # 100^2
    assert gini(x) == pytest.approx(0.75, abs=1e-14)  # (n - 1) / n = 3/4
    assert nakamoto(x) == 1
    assert entropy_bits(x) == 0.0
    assert cr_k(x, k=2) == 1.0


def test_gini_ramp() -> None:
    # [1,2,3,4]: unordered |diffs| 1+2+3+1+2+1 = 10, ordered 20; 20 / (2 * 16 * 2.5) = 0.25
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25, abs=1e-14)


@pytest.mark.parametrize("x", [[], [0.0], [0, 0, 0]])
def test_degenerate_inputs(x: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert hhi(x) == 0.0
        assert nakamoto(x) == 0
        assert cr_k(x) == 0.0
        assert gini(x) == 0.0
        assert entropy_bits(x) == 0.0
        assert concentration(x) == {
            "hhi": 0.0,
            "nakamoto": 0.0,
            "cr4": 0.0,
            "gini": 0.0,
            "entropy": 0.0,
        }


def test_concentration_hand_case() -> None:
    got = concentration([20, 50, 30], k=2)
    assert set(got) == {"hhi", "nakamoto", "cr2", "gini", "entropy"}
    assert got["hhi"] == pytest.approx(3800.0, rel=1e-14)
    assert got["nakamoto"] == 2
    assert got["cr2"] == pytest.approx(0.8, rel=1e-15)
    assert got["gini"] == pytest.approx(0.2, abs=1e-14)
    assert got["entropy"] == pytest.approx(1.4854753, abs=1e-7)
    assert set(concentration([1, 2])) == {"hhi", "nakamoto", "cr4", "gini", "entropy"}


def test_invalid_inputs() -> None:
    for f in (shares, hhi, nakamoto, cr_k, gini, entropy_bits, concentration):
        with pytest.raises(ValueError):
            f([1.0, -1.0])
        with pytest.raises(ValueError):
            f([[1.0, 2.0]])
    with pytest.raises(ValueError):
        nakamoto([1, 2], threshold=1.0)
    with pytest.raises(ValueError):
        cr_k([1, 2], k=0)


# ------------------------------------------------------------------------------------------
# Kaplan-Meier
# ------------------------------------------------------------------------------------------


def test_kaplan_meier_textbook() -> None:
    # durations [1,2,2,3,4,5], observed [1,1,0,1,0,1] (the tie at t=2: one exit, one censored)
    # t  n  d  S
    # 0  6  0  1
    # 1  6  1  5/6
    # 2  5  1  5/6 * 4/5 = 2/3
    # 3  3  1  2/3 * 2/3 = 4/9
    # 4  2  0  4/9            (censored only)
    # 5  1  1  4/9 * 0 = 0
    km = kaplan_meier([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    assert list(km.columns) == ["time", "at_risk", "events", "survival", "ci_low", "ci_high"]
    np.testing.assert_array_equal(km["time"], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(km["at_risk"], [6, 6, 5, 3, 2, 1])
    np.testing.assert_array_equal(km["events"], [0, 1, 1, 1, 0, 1])
    np.testing.assert_allclose(km["survival"], [1, 5 / 6, 2 / 3, 4 / 9, 4 / 9, 0], atol=1e-15)
    # S = 1 -> [1, 1]; S = 0 -> [0, 0]
    assert (km.loc[0, "ci_low"], km.loc[0, "ci_high"]) == (1.0, 1.0)
    assert (km.loc[5, "ci_low"], km.loc[5, "ci_high"]) == (0.0, 0.0)

    # Greenwood at t=3: V = sum d/(n(n-d)) = 1/(6*5) + 1/(5*4) + 1/(3*2) = (2 + 3 + 10)/60 = 1/4,
    # Var S = S^2 V = (16/81)/4 = 4/81, SE(S) = 2/9.
    # log-log: se = sqrt(V)/|ln S| = 0.5/ln(9/4) = 0.5/0.8109302 = 0.6165759;
    # z*se = 1.959964 * 0.6165759 = 1.2084665; exp(+-z*se) = 3.348346, 0.298655;
    # low = (4/9)^3.348346 = exp(-3.348346 * 0.8109302) = exp(-2.715275) = 0.066187,
    # high = (4/9)^0.298655 = exp(-0.242188) = 0.784908
    row = km.loc[3]
    assert row["ci_low"] == pytest.approx(0.066187, abs=1e-6)
    assert row["ci_high"] == pytest.approx(0.784908, abs=1e-6)
    # recover V from the interval: ln(ln(low)/ln(S)) = z*se  ->  V = (se * ln S)^2 = 1/4
    s = row["survival"]
    se = math.log(math.log(row["ci_low"]) / math.log(s)) / Z95
    assert (se * math.log(s)) ** 2 == pytest.approx(0.25, rel=1e-9)
    assert se * math.log(1 / s) * s == pytest.approx(2 / 9, rel=1e-9)  # SE(S) = sqrt(4/81)
    # t=1: V = 1/30; lower bound (5/6)^exp(z sqrt(1/30) / ln(6/5))
    v1 = 1 / 30
    exp_lo = (5 / 6) ** math.exp(Z95 * math.sqrt(v1) / math.log(6 / 5))
    exp_hi = (5 / 6) ** math.exp(-Z95 * math.sqrt(v1) / math.log(6 / 5))
    assert km.loc[1, "ci_low"] == pytest.approx(exp_lo, rel=1e-12)
    assert km.loc[1, "ci_high"] == pytest.approx(exp_hi, rel=1e-12)
    # t=4 has no event: same interval as t=3
    assert km.loc[4, "ci_low"] == pytest.approx(row["ci_low"], rel=1e-15)


def test_kaplan_meier_all_censored_and_time_zero() -> None:
    km = kaplan_meier([3.0, 1.5], [0, 0])
    np.testing.assert_array_equal(km["time"], [0.0, 1.5, 3.0])
    np.testing.assert_array_equal(km["at_risk"], [2, 2, 1])
    np.testing.assert_array_equal(km["survival"], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(km["ci_low"], [1.0, 1.0, 1.0])
    # exits at time 0 are counted in the first row: S(0) = 1 - 1/2
    km0 = kaplan_meier([0, 1], [1, 1])
    np.testing.assert_array_equal(km0["at_risk"], [2, 1])
    np.testing.assert_array_equal(km0["survival"], [0.5, 0.0])
    km_empty = kaplan_meier([], [])
    assert km_empty["survival"].tolist() == [1.0]


def test_kaplan_meier_invalid() -> None:
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError):
        kaplan_meier([-1, 2], [1, 1])
    with pytest.raises(ValueError):
        kaplan_meier([1, 2], [1, 2])


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

positive_sizes = st.lists(st.floats(1e-3, 1e6), min_size=1, max_size=60)
int_sizes = st.lists(st.integers(0, 10_000), min_size=1, max_size=60)


@given(positive_sizes)
def test_hhi_bounds(x: list[float]) -> None:
    n = len(x)
    h = hhi(x)
    assert 10_000.0 / n * (1 - 1e-12) <= h <= 10_000.0 * (1 + 1e-12)


@given(int_sizes, st.integers(-20, 20), st.randoms(use_true_random=False))
def test_scale_and_permutation_invariance(x: list[int], exp2: int, rnd) -> None:
    a = np.asarray(x, dtype=float)
    scaled = a * 2.0**exp2  # power-of-two scaling is exact in floating point
    perm = a.copy()
    rnd.shuffle(perm)
    base = concentration(a)
    for other in (scaled, perm):
        got = concentration(other)
        assert got["nakamoto"] == base["nakamoto"]
        for key in ("hhi", "cr4", "gini", "entropy"):
            assert got[key] == pytest.approx(base[key], rel=1e-12, abs=1e-12)
    assert hhi(scaled) == pytest.approx(hhi(a), rel=1e-12, abs=1e-12)
    assert gini(perm) == pytest.approx(gini(a), rel=1e-12, abs=1e-12)


@given(positive_sizes, st.floats(0.0, 0.99))
def test_nakamoto_bounds(x: list[float], threshold: float) -> None:
    k = nakamoto(x, threshold)
    assert 1 <= k <= len(x)
    # the k largest exceed the threshold share, the k-1 largest do not (up to rounding)
    s = np.sort(shares(x))[::-1]
    assert s[:k].sum() > threshold - 1e-12
    assert s[: k - 1].sum() <= threshold + 1e-12


@settings(max_examples=200)
@given(
    st.lists(st.floats(0.0, 1e6), min_size=0, max_size=80),
    st.floats(0.0, 0.99),
    st.integers(1, 10),
)
def test_concentration_equals_individual_functions(
    x: list[float], threshold: float, k: int
) -> None:
    got = concentration(x, threshold=threshold, k=k)
    assert got["nakamoto"] == nakamoto(x, threshold)
    assert got["hhi"] == pytest.approx(hhi(x), rel=1e-12, abs=1e-9)
    assert got[f"cr{k}"] == pytest.approx(cr_k(x, k), rel=1e-12, abs=1e-12)
    assert got["gini"] == pytest.approx(gini(x), rel=1e-9, abs=1e-9)
    assert got["entropy"] == pytest.approx(entropy_bits(x), rel=1e-12, abs=1e-12)
    assert 0.0 <= got["gini"] < 1.0
    if x:
        assert got["entropy"] <= math.log2(len(x)) + 1e-12


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 1)),
        min_size=1,
        max_size=40,
    )
)
def test_kaplan_meier_matches_product_limit(data: list[tuple[int, int]]) -> None:
    t = np.array([d for d, _ in data], dtype=float)
    e = np.array([o for _, o in data])
    km = kaplan_meier(t, e)
    # naive product-limit over the distinct times
    s = 1.0
    for _, row in km.iterrows():
        n_i = int(np.sum(t >= row["time"]))
        d_i = int(np.sum((t == row["time"]) & (e == 1)))
        s *= 1 - d_i / n_i
        assert row["at_risk"] == n_i
        assert row["events"] == d_i
        assert row["survival"] == pytest.approx(s, abs=1e-12)
        assert row["ci_low"] - 1e-12 <= row["survival"] <= row["ci_high"] + 1e-12
        assert row["ci_low"] >= 0.0 and row["ci_high"] <= 1.0
    assert km["time"].iloc[0] == 0.0
    assert np.all(np.diff(km["survival"]) <= 0)


_THREADS_SCRIPT = """
import numpy as np
from abm import metrics
x = np.random.default_rng(3).lognormal(0.0, 2.0, 60_000)
x[::7] = 0.0
c = metrics.concentration(x)
print(float(c["hhi"]).hex(), float(c["gini"]).hex(), float(c["entropy"]).hex(),
      metrics.hhi(x).hex(), metrics.gini(x).hex(), metrics.entropy_bits(x).hex())
"""


def test_metrics_do_not_depend_on_blas_threads():
    """Long dot products in BLAS are split across threads, so their rounding would depend on
    the machine's core count and OPENBLAS_NUM_THREADS; the metrics must not (same seed, same
    numbers on a laptop and a 1-thread cluster job)."""
    import os
    import subprocess
    import sys

    out = []
    for n in ("1", "4"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n}
        proc = subprocess.run(
            [sys.executable, "-c", _THREADS_SCRIPT], env=env, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        out.append(proc.stdout)
    assert out[0] == out[1]


def test_ai_share_on_a_like_for_like_basis_by_hand():
    from abm.metrics import ai_share

    # AI income 30 against mining revenue 170 less 100 of energy: 30 / (30 + 70)
    assert ai_share(30.0, 170.0 - 100.0) == pytest.approx(0.3)
    assert ai_share(0.0, -5.0) == 0.0  # no AI, nothing to share
    assert math.isnan(ai_share(10.0, -20.0))  # mining loses more than AI earns: undefined
