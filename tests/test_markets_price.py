"""Tests for abm.data_io, abm.markets.price and abm.markets.fees.

Statistical tests use a fixed seed (so they are deterministic) and a tolerance of 5 standard
errors derived in closed form next to each assertion: a correct implementation passes for
all but ~1 in 1.7 million seeds, while the errors they guard against (missing compensator,
missing jump mean, wrong AR scaling) are many standard errors away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abm import data_io
from abm.data_io import DataFileError, daily_path, load_daily_series
from abm.markets import fees as fees_mod
from abm.markets.fees import ar1_filter, fee_path
from abm.markets.price import gbm_jump_path, replay_path

N_SE = 5.0  # tolerance in standard errors

# ----------------------------------------------------------------------------- data_io


def test_packaged_price_history_loads():
    s = data_io.price_history()
    assert isinstance(s.index, pd.DatetimeIndex)
    assert s.index.name == "date"
    assert s.dtype == np.float64
    assert s.index.is_monotonic_increasing and s.index.is_unique
    assert s.index[0] == pd.Timestamp("2015-01-01")
    assert s.iloc[0] == 314.25  # first data line of the CSV: 2015-01-01,314.25
    assert s.index[-1] == pd.Timestamp("2026-02-13")
    assert s.iloc[-1] == 69069.98  # last data line: 2026-02-13,69069.98
    assert (s > 0).all()


def test_price_history_returns_independent_copies():
    a = data_io.price_history()
    a.iloc[0] = -1.0
    assert data_io.price_history().iloc[0] == 314.25


def test_packaged_difficulty_history_loads_and_hashrate_is_consistent():
    d = data_io.difficulty_history()
    assert list(d.columns) == ["difficulty", "implied_hashrate_ehs"]
    assert d.index.name == "date"
    assert d.index[0] == pd.Timestamp("2015-01-01")
    assert d.index[-1] == pd.Timestamp("2023-12-31")
    assert d["difficulty"].iloc[0] == 40640955017
    # hashrate = D * 2^32 / 600 s, in EH/s; e.g. 40640955017 * 4294967296 / 600 / 1e18 = 0.2909.
    # The file rounds to 0.001 EH/s, so allow 0.0005 plus float slack.
    implied = d["difficulty"] * 2.0**32 / 600.0 / 1e18
    np.testing.assert_allclose(d["implied_hashrate_ehs"], implied, rtol=0, atol=0.0005 + 1e-9)


def test_replay_path_matches_first_days_of_file():
    # first three data lines: 314.25, 315.03, 281.08
    np.testing.assert_array_equal(replay_path("2015-01-01", 3), [314.25, 315.03, 281.08])
    # the last day is reachable: a 1-day window on 2026-02-13
    np.testing.assert_array_equal(replay_path("2026-02-13", 1), [69069.98])


def _write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_daily_path_forward_fills_gaps(tmp_path):
    # Jan 3 and Jan 4 missing; Jan 6 blank line is ignored, Jan 7 missing too.
    path = _write(
        tmp_path,
        "date,price_usd\n2020-01-01,10\n2020-01-02,20\n2020-01-05,50\n\n2020-01-08,80\n",
    )
    s = load_daily_series(path, "price_usd")
    assert len(s) == 4
    # Jan 2..Jan 8: 20 (obs), 20, 20 (filled), 50 (obs), 50, 50 (filled), 80 (obs)
    np.testing.assert_array_equal(daily_path(s, "2020-01-02", 7), [20, 20, 20, 50, 50, 50, 80])
    # starting inside a gap takes the last value before it
    np.testing.assert_array_equal(daily_path(s, "2020-01-03", 2), [20, 20])
    # NaN values inside a series count as gaps as well
    s2 = pd.Series([1.0, np.nan, 3.0], index=pd.date_range("2021-03-01", periods=3, name="date"))
    np.testing.assert_array_equal(daily_path(s2, "2021-03-01", 3), [1.0, 1.0, 3.0])


@pytest.mark.parametrize(
    ("start", "n_days"),
    [("2014-12-31", 5), ("2026-02-10", 5), ("2030-01-01", 1)],
)
def test_daily_path_out_of_range_names_span(start, n_days):
    with pytest.raises(DataFileError, match=r"2015-01-01 \.\. 2026-02-13") as info:
        replay_path(start, n_days)
    assert "btc_price_usd_daily.csv" in str(info.value)


def test_daily_path_rejects_bad_arguments():
    s = data_io.price_history()
    with pytest.raises(ValueError, match="n_days"):
        daily_path(s, "2015-01-01", 0)
    with pytest.raises(ValueError, match="midnight"):
        daily_path(s, "2015-01-01 12:00", 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # header + rows; "row N" is the line number in the file (header is line 1)
        ("date,price\n2015-01-01,1\n", r"missing column\(s\) price_usd \(found: date, price\)"),
        ("day,price_usd\n2015-01-01,1\n", r"missing column\(s\) date"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,abc\n", r"row 3: price_usd .* \('abc'\)"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,\n", r"row 3: price_usd is not a positive"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,inf\n", r"row 3: price_usd .* \('inf'\)"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,-5\n", r"row 3: price_usd .* \('-5'\)"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,0\n", r"row 3: price_usd .* \('0'\)"),
        (
            "date,price_usd\n2015-01-01,1\n2015-01-02,2\n2015-01-02,3\n",
            r"row 4: date 2015-01-02 duplicates the date 2015-01-02 of row 3",
        ),
        (
            "date,price_usd\n2015-01-03,1\n2015-01-02,2\n",
            r"row 3: date 2015-01-02 is not after the date 2015-01-03 of row 2",
        ),
        ("date,price_usd\n2015-01-01,1\n01/02/2015,2\n", r"row 3: date is not a YYYY-MM-DD"),
        ("date,price_usd\n", r"no data rows"),
        ("", r"file is empty"),
        ("date,price_usd\n2015-01-01,1\n2015-01-02,2,7\n", r"cannot parse as CSV"),
    ],
)
def test_bad_csv_raises_data_file_error(tmp_path, text, expected):
    path = _write(tmp_path, text, "bad.csv")
    with pytest.raises(DataFileError, match=expected) as info:
        load_daily_series(path, "price_usd")
    assert str(info.value).startswith(str(path))
    assert isinstance(info.value, ValueError)


def test_missing_file_raises_data_file_error(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataFileError, match=r"nope\.csv: file not found"):
        load_daily_series(path, "price_usd")


# ----------------------------------------------------------------------------- price

MU, SIGMA, LAM, M, S = 0.2, 0.6, 10.0, -0.05, 0.1
DT = 1.0 / 365.0
K = np.exp(M + S**2 / 2) - 1  # compensator: exp(-0.045) - 1 = -0.04400


def test_gbm_deterministic_path_is_exponential():
    # sigma = 0, no jumps: log P_t = log P0 + mu t / 365 exactly
    path = gbm_jump_path(np.random.default_rng(0), 1000, 250.0, 0.3, 0.0)
    t = np.arange(1000)
    np.testing.assert_allclose(path, 250.0 * np.exp(0.3 * t / 365.0), rtol=1e-12)
    assert path[0] == 250.0


def test_gbm_shape_start_positive_reproducible():
    a = gbm_jump_path(np.random.default_rng(7), 50, 30_000.0, MU, SIGMA, LAM, M, S)
    b = gbm_jump_path(np.random.default_rng(7), 50, 30_000.0, MU, SIGMA, LAM, M, S)
    assert a.shape == (50,) and a[0] == 30_000.0 and (a > 0).all()
    np.testing.assert_array_equal(a, b)
    assert gbm_jump_path(np.random.default_rng(7), 1, 5.0, MU, SIGMA).tolist() == [5.0]


def test_gbm_draw_order_is_z_then_counts_then_sizes():
    n = 20
    rng = np.random.default_rng(11)
    z = rng.standard_normal(n - 1)
    counts = rng.poisson(LAM * DT * 40, n - 1)  # rate x40 so that some days jump
    w = rng.standard_normal(n - 1)
    k = np.exp(M + S**2 / 2) - 1
    r = (MU - SIGMA**2 / 2 - 40 * LAM * k) * DT + SIGMA * np.sqrt(DT) * z
    r += counts * M + np.sqrt(counts) * S * w
    expected = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(r)]))
    got = gbm_jump_path(np.random.default_rng(11), n, 100.0, MU, SIGMA, 40 * LAM, M, S)
    assert counts.sum() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the diffusion draws come first, so switching jumps off keeps the same Z
    no_jump = gbm_jump_path(np.random.default_rng(11), n, 100.0, MU, SIGMA)
    r0 = (MU - SIGMA**2 / 2) * DT + SIGMA * np.sqrt(DT) * z
    np.testing.assert_allclose(np.diff(np.log(no_jump)), r0, rtol=1e-9, atol=1e-14)


def test_gbm_log_return_moments_long_path():
    n_ret = 200_000
    path = gbm_jump_path(np.random.default_rng(2024), n_ret + 1, 1.0, MU, SIGMA, LAM, M, S)
    r = np.diff(np.log(path))
    assert r.size == n_ret
    # Per-day cumulants (compound Poisson cumulants kappa_j = lam dt E[Y^j]):
    # mean  = (mu - sigma^2/2 - lam k + lam m) dt = (0.2 - 0.18 + 0.440 - 0.5)/365 = -1.10e-4
    # var   = sigma^2 dt + lam dt (m^2 + s^2)      = (0.36 + 10 * 0.0125)/365    = 1.329e-3
    # kappa4 = lam dt (m^4 + 6 m^2 s^2 + 3 s^4)    = 10/365 * 4.5625e-4          = 1.25e-5
    mean = (MU - SIGMA**2 / 2 - LAM * K + LAM * M) * DT
    var = SIGMA**2 * DT + LAM * DT * (M**2 + S**2)
    kappa4 = LAM * DT * (M**4 + 6 * M**2 * S**2 + 3 * S**4)
    se_mean = np.sqrt(var / n_ret)  # 8.2e-5
    # Var(sample variance) = (mu4 - var^2)/n with mu4 = kappa4 + 3 var^2
    se_var = np.sqrt((kappa4 + 2 * var**2) / n_ret)  # 8.9e-6
    assert abs(r.mean() - mean) < N_SE * se_mean
    assert abs(r.var(ddof=1) - var) < N_SE * se_var
    # power: the jump mean lam*m*dt = -1.37e-3 is ~17 se_mean, the jump variance
    # lam dt (m^2 + s^2) = 3.4e-4 is ~38 se_var, so dropping either term would fail.
    assert abs(LAM * M * DT) / se_mean > 3 * N_SE
    assert LAM * DT * (M**2 + S**2) / se_var > 3 * N_SE


def test_gbm_expected_price_grows_at_mu():
    n_paths, n_days = 20_000, 366
    rng = np.random.default_rng(99)
    paths = np.stack(
        [gbm_jump_path(rng, n_days, 1.0, MU, SIGMA, LAM, M, S) for _ in range(n_paths)]
    )
    for t_days in (30, 182, 365):
        t = t_days / 365.0
        # log(P_t/P0) has cumulant generating function
        #   K(u) = t [u (mu - sigma^2/2 - lam k) + u^2 sigma^2 / 2 + lam (exp(u m + u^2 s^2/2) - 1)]
        # K(1) = mu t (the compensator cancels the jump term), and
        # Var(P_t/P0) = exp(K(2)) - exp(2 mu t); at t = 1: exp(0.8712) - exp(0.4) = 0.164.
        k2 = t * (
            2 * (MU - SIGMA**2 / 2 - LAM * K) + 2 * SIGMA**2 + LAM * (np.exp(2 * M + 2 * S**2) - 1)
        )
        se = np.sqrt((np.exp(k2) - np.exp(2 * MU * t)) / n_paths)  # 0.0029 at t = 1
        assert abs(paths[:, t_days].mean() - np.exp(MU * t)) < N_SE * se


def test_gbm_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        gbm_jump_path(rng, 0, 1.0, 0.0, 0.1)
    with pytest.raises(ValueError):
        gbm_jump_path(rng, 10, -1.0, 0.0, 0.1)
    with pytest.raises(ValueError):
        gbm_jump_path(rng, 10, 1.0, 0.0, -0.1)


# ----------------------------------------------------------------------------- fees

BASE, VOL, PHI = 0.036, 0.5, 0.9


def test_ar1_filter_by_hand_and_fallback_loop(monkeypatch):
    # x0 = 1; x1 = 0.5*1 + 2 = 2.5; x2 = 0.5*2.5 + 3 = 4.25
    np.testing.assert_allclose(ar1_filter(np.array([1.0, 2.0, 3.0]), 0.5), [1.0, 2.5, 4.25])
    fast = fee_path(np.random.default_rng(5), 500, BASE, VOL, PHI, 20.0, 0.3)
    monkeypatch.setattr(fees_mod, "_lfilter", None)
    np.testing.assert_allclose(ar1_filter(np.array([1.0, 2.0, 3.0]), 0.5), [1.0, 2.5, 4.25])
    slow = fee_path(np.random.default_rng(5), 500, BASE, VOL, PHI, 20.0, 0.3)
    np.testing.assert_allclose(slow, fast, rtol=1e-12)


def test_fee_path_constant_without_noise_or_spikes():
    f = fee_path(np.random.default_rng(0), 10, BASE, 0.0, PHI, 0.0, 1.0)
    np.testing.assert_array_equal(f, np.full(10, BASE))  # base * exp(0 - 0)


def test_fee_path_log_ar1_statistics():
    n = 200_000
    f = fee_path(np.random.default_rng(31), n, BASE, VOL, PHI, 0.0, 0.0)
    x = np.log(f)
    # log fee = log(base) - vol^2/2 + AR(1) with sd vol, lag-1 autocorrelation phi
    # mean of x: se = vol sqrt((1 + phi) / ((1 - phi) n)) = 0.5 * sqrt(19 / 2e5) = 0.0049
    se_mean_x = VOL * np.sqrt((1 + PHI) / ((1 - PHI) * n))
    assert abs(x.mean() - (np.log(BASE) - VOL**2 / 2)) < N_SE * se_mean_x
    # variance of x: Var(s^2) ~ 2 vol^4 / n * (1 + phi^2) / (1 - phi^2) -> se = 0.0050
    se_var_x = np.sqrt(2 * VOL**4 / n * (1 + PHI**2) / (1 - PHI**2))
    assert abs(x.var() - VOL**2) < N_SE * se_var_x
    # lag-1 autocorrelation: Bartlett se = sqrt((1 - phi^2) / n) = sqrt(0.19 / 2e5) = 0.00097
    xc = x - x.mean()
    rho1 = np.dot(xc[1:], xc[:-1]) / np.dot(xc, xc)
    assert abs(rho1 - PHI) < N_SE * np.sqrt((1 - PHI**2) / n)


def test_fee_path_mean_is_base_without_spikes():
    n = 200_000
    f = fee_path(np.random.default_rng(32), n, BASE, VOL, PHI, 0.0, 0.0)
    # fee = base exp(x - vol^2/2) with x Gaussian AR(1):
    # Cov(fee_t, fee_{t+h}) = base^2 (exp(vol^2 phi^h) - 1); the variance of the sample mean is
    # (1/n) sum_{|h|<n} (1 - |h|/n) gamma(h); terms beyond h = 2000 are < 1e-90 and dropped.
    h = np.arange(1, 2000)
    gamma0 = BASE**2 * np.expm1(VOL**2)
    gamma = BASE**2 * np.expm1(VOL**2 * PHI**h)
    se = np.sqrt((gamma0 + 2 * np.sum((1 - h / n) * gamma)) / n)  # ~ 1.4% of base
    assert abs(f.mean() - BASE) < N_SE * se


def test_fee_spikes_frequency_size_and_tail():
    n, rate, spike_mean = 200_000, 36.5, 0.5  # p = 36.5/365 = 0.1 spike days per day
    f = fee_path(np.random.default_rng(33), n, BASE, 0.0, PHI, rate, spike_mean)
    # volatility 0: non-spike days are exactly base, spike days base + size (size >= 0.3)
    spikes = f[f > BASE] - BASE
    assert np.all((f == BASE) | (f > BASE + 0.3 - 1e-12))
    p = rate / 365.0
    count = spikes.size
    assert abs(count - n * p) < N_SE * np.sqrt(n * p * (1 - p))  # 20000 +- 5 * 134
    # normalised Pareto(2.5): min (alpha-1)/alpha = 0.6, mean 1,
    # E[X^2] = 0.6^2 * alpha/(alpha-2) = 0.36 * 5 = 1.8, Var = 0.8
    assert spikes.min() >= 0.6 * spike_mean - 1e-12
    se_size = spike_mean * np.sqrt(0.8 / count)
    assert abs(spikes.mean() - spike_mean) < N_SE * se_size
    # tail: P(X > 2) = (0.6 / 2)^2.5 = 0.3^2.5 = 0.04930
    q = 0.3**2.5
    frac = np.mean(spikes > 2 * spike_mean)
    assert abs(frac - q) < N_SE * np.sqrt(q * (1 - q) / count)
    # overall mean: base + p * spike_mean = 0.036 + 0.05 = 0.086;
    # Var(daily spike) = p * 1.8 * M^2 - (p M)^2
    se_total = np.sqrt((p * 1.8 * spike_mean**2 - (p * spike_mean) ** 2) / n)
    assert abs(f.mean() - (BASE + p * spike_mean)) < N_SE * se_total


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_days=st.integers(1, 400),
    base=st.floats(1e-4, 1.0),
    vol=st.floats(0.0, 2.0),
    phi=st.floats(0.0, 1.0),
    rate=st.floats(0.0, 365.0),
    spike_mean=st.floats(0.0, 5.0),
)
def test_fee_path_always_positive_and_finite(seed, n_days, base, vol, phi, rate, spike_mean):
    f = fee_path(np.random.default_rng(seed), n_days, base, vol, phi, rate, spike_mean)
    assert f.shape == (n_days,)
    assert np.all(np.isfinite(f)) and np.all(f > 0)


def test_fee_path_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="base"):
        fee_path(rng, 10, -0.01, VOL, PHI, 0.0, 0.0)
    # zero base fees (the contest limit) are allowed and give exactly zero fees
    assert np.all(fee_path(rng, 10, 0.0, VOL, PHI, 0.0, 0.0) == 0.0)
    with pytest.raises(ValueError, match="persistence"):
        fee_path(rng, 10, BASE, VOL, 1.5, 0.0, 0.0)
    with pytest.raises(ValueError, match="spike_rate"):
        fee_path(rng, 10, BASE, VOL, PHI, 400.0, 0.0)
