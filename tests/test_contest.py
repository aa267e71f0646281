"""Contest limit: the model's best-response dynamics reach the Tullock equilibrium.

Hand computation (experiments/contest.toml): V = 144 x 3.125 BTC x $90,000 = $40,500,000/day.
One generation (S21 XP, 13.5 J/TH) so c_i = 13.5 x 24e-6 MWh x p_i = 0.000324 p_i USD/TH-day.
"""

from __future__ import annotations

import numpy as np
import pytest

from abm import MiningIndustry, load_scenario, run
from abm.behaviour import tullock_equilibrium
from tests.conftest import EXPERIMENTS

V_USD_PER_DAY = 144 * 3.125 * 90_000  # 40.5e6


def contest(prices: list[float], start_height: int | None = None, years: float = 0.6):
    sc = load_scenario(EXPERIMENTS / "contest.toml")
    firms = [
        {
            "name": f"F{i}",
            "hashrate_ehs": 100.0 + 50 * i,
            "power_price_usd_per_mwh": p,
            "generation": "S21 XP",
        }
        for i, p in enumerate(prices)
    ]
    over = {"firms.explicit": firms, "run.years": years}
    if start_height is not None:
        over["protocol.start_height"] = start_height
    r = run(sc.with_overrides(over), keep_model=True)
    x = r.model.firm_installed_ths()
    return x.sum() / 1e6, x / x.sum()


@pytest.mark.parametrize(
    ("prices", "total_ehs", "shares"),
    [
        # 2 equal firms: c = 0.00972; X = (2-1) V / (2c) = 40.5e6 / 0.01944 TH/s = 2083.33 EH/s
        ([30.0, 30.0], 2083.333, [0.5, 0.5]),
        # costs 2:3:4:5 (p = 30,45,60,75): k=3 active (4 < 9/2), k=4 not (5 >= 14/3);
        # sum_A c = 9 x 0.00486 = 0.04374; X = 2 V / 0.04374 = 1851.85 EH/s; s = 1 - 2 c_i / 9
        ([30.0, 45.0, 60.0, 75.0], 1851.852, [5 / 9, 1 / 3, 1 / 9, 0.0]),
        # costs 1:1:1:1 (p = 40): X = 3 V / (4 x 0.01296) = 2343.75 EH/s, shares 1/4
        ([40.0, 40.0, 40.0, 40.0], 2343.750, [0.25] * 4),
        # costs 1:2 (p = 30, 60): X = V / (0.00972 + 0.01944) = 1388.89 EH/s; s = 2/3, 1/3
        ([30.0, 60.0], 1388.889, [2 / 3, 1 / 3]),
    ],
)
def test_converges_to_tullock(prices, total_ehs, shares):
    x_ehs, s = contest(prices)
    assert np.max(np.abs(s - np.array(shares))) < 0.02
    assert abs(x_ehs / total_ehs - 1) < 0.05


def test_closed_form_matches_hand_values():
    # the validation helper agrees with the hand computation above
    x, s = tullock_equilibrium(np.array([2.0, 3.0, 4.0, 5.0]), 9.0)
    assert x == pytest.approx(2 * 9.0 / 9.0)
    np.testing.assert_allclose(s, [5 / 9, 1 / 3, 1 / 9, 0.0])


def test_halving_halves_total_and_keeps_shares():
    prices = [30.0, 45.0, 60.0, 75.0]
    x_before, s_before = contest(prices, start_height=929_100)  # subsidy 3.125
    x_after, s_after = contest(prices, start_height=1_050_000)  # subsidy 1.5625
    assert x_after / x_before == pytest.approx(0.5, rel=0.02)
    np.testing.assert_allclose(s_after, s_before, atol=0.01)


def test_arnosti_weinberg_bound():
    # if firm i is active, firm j's share >= 1 - c_j / c_i (Arnosti & Weinberg 2022)
    prices = np.array([30.0, 36.0, 45.0, 50.0])
    _, s = contest(list(prices))
    for i in range(len(prices)):
        if s[i] > 1e-3:
            for j in range(len(prices)):
                assert s[j] >= 1 - prices[j] / prices[i] - 0.01


def _symmetric_profit_per_firm(n: int) -> float:
    """Mean daily profit (revenue - energy) of one of n symmetric firms over the last 90 days."""
    sc = load_scenario(EXPERIMENTS / "contest.toml")
    firms = [
        {
            "name": f"F{i}",
            "hashrate_ehs": 300.0,
            "power_price_usd_per_mwh": 40.0,
            "generation": "S21 XP",
        }
        for i in range(n)
    ]
    model = MiningIndustry(sc.with_overrides({"firms.explicit": firms, "run.years": 1.0}), seed=1)
    profits = []
    while model.running:
        model.step()
        if model.day > model.n_days - 90:
            t = model.firms
            profits.append((t.revenue_usd - t.site_cost_usd).mean())  # no fixed costs here
    return float(np.mean(profits))


@pytest.mark.parametrize("n", [3, 4, 5])
def test_merger_paradox(n):
    """Tullock contest, n symmetric firms, no cost synergies: each earns V / n^2 (X = (n-1) V /
    (n c), share 1/n, cost c X / n). Merging two leaves n-1 firms earning V / (n-1)^2 each, so
    the merger pays iff 1/(n-1)^2 > 2/n^2, i.e. n < 2 + sqrt(2) = 3.41: only for n <= 3."""
    before = _symmetric_profit_per_firm(n)
    after = _symmetric_profit_per_firm(n - 1)  # the merged firm is one contestant
    assert before == pytest.approx(V_USD_PER_DAY / n**2, rel=0.05)
    assert after == pytest.approx(V_USD_PER_DAY / (n - 1) ** 2, rel=0.05)
    assert (after > 2 * before) == (n <= 3)
