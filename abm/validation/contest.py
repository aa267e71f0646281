"""Contest limit: the engine in best-response mode against closed-form Tullock equilibria.

The engine runs ``experiments/contest.toml`` (``behaviour.investment_rule = "best_response"``:
constant marginal cost per hash, no capacity, finance or luck) with the firms given here, and
its hashrate after `years` is compared with :func:`abm.behaviour.tullock_equilibrium`, with the
Arnosti-Weinberg (2022) bound, with the halving (V halves: total halves, shares stay), and with
the sovereign extension worked out in :func:`sovereign_equilibrium`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from abm import chain
from abm.behaviour import tullock_equilibrium
from abm.runner import run
from abm.scenario import Scenario, SovereignSpec, load_scenario
from abm.validation.core import EXPERIMENTS, Check, Tolerances, at_least, at_most, within

__all__ = ["ContestOutcome", "checks", "run_contest", "sovereign_equilibrium"]

GENERATION = "S21 XP"  # every private firm's single generation (13.5 J/TH)


def sovereign_equilibrium(
    cost: np.ndarray, reward: float, sovereign_hashrate: float
) -> tuple[float, np.ndarray]:
    """Tullock equilibrium of private firms against a sovereign of fixed hashrate H_s.

    Private firm i (cost c_i per unit of hashrate per period, reward V per period) maximises
    ``V x_i / X - c_i x_i`` with ``X = sum_j x_j + H_s``; H_s is policy, not a best response.
    Interior first-order condition: ``V (X - x_i) / X^2 = c_i``, so ``x_i = X - c_i X^2 / V``
    and its share of the network is ``s_i = x_i / X = 1 - c_i X / V`` (active iff c_i < V / X).
    Summing over the m active firms (``C = sum_A c_i``) and using ``sum_A x_i = X - H_s``:
    ``X - H_s = m X - C X^2 / V``, i.e. ``C X^2 / V - (m - 1) X - H_s = 0``, whose positive root

        X = V [(m - 1) + sqrt((m - 1)^2 + 4 C H_s / V)] / (2 C).

    With H_s = 0 this is Tullock's X = (m - 1) V / C; with one private firm (m = 1) it is
    X = sqrt(V H_s / c), i.e. x = sqrt(V H_s / c) - H_s, the single best response. The active
    set is a prefix of the costs sorted ascending: add the next firm while its cost is below
    V / X of the enlarged set. Returns (total X including H_s, private hashrate x_i).
    """
    c = np.asarray(cost, dtype=float)
    order = np.argsort(c)
    cs = c[order]

    def total(m: int) -> float:
        big_c = cs[:m].sum()
        disc = (m - 1) ** 2 + 4.0 * big_c * sovereign_hashrate / reward
        return reward * ((m - 1) + np.sqrt(disc)) / (2.0 * big_c)

    m = 1 if sovereign_hashrate > 0 else 2
    while m < cs.size and cs[m] < reward / total(m + 1):
        m += 1
    x_total = total(m)
    x = np.zeros_like(c)
    x[order[:m]] = x_total - cs[:m] * x_total**2 / reward
    return x_total, x


@dataclass(frozen=True)
class ContestOutcome:
    """What an engine run reached: hashrate by firm row after the run [TH/s], each row's energy
    cost [USD per TH/s-day] and the reward V paid to miners [USD/day]."""

    hashrate_ths: np.ndarray
    cost: np.ndarray
    reward: float


def contest_scenario(
    prices_usd_per_mwh: list[float],
    years: float,
    start_height: int | None = None,
    sovereign_mw: float = 0.0,
) -> Scenario:
    """experiments/contest.toml with one firm per power price (and optionally a sovereign)."""
    firms = [
        {
            "name": f"F{i}",
            "hashrate_ehs": 100.0 + 50 * i,
            "power_price_usd_per_mwh": p,
            "generation": GENERATION,
        }
        for i, p in enumerate(prices_usd_per_mwh)
    ]
    sc = load_scenario(EXPERIMENTS / "contest.toml")
    over: dict[str, object] = {"firms.explicit": firms, "run.years": years}
    if start_height is not None:
        over["protocol.start_height"] = start_height
    if sovereign_mw > 0:
        spec = SovereignSpec(
            name="sovereign",
            capacity_path=[{"date": sc.run.start_date, "mw": sovereign_mw}],
            power_cost_usd_per_mwh=0.0,
            source="stranded",
        )
        over["sovereigns"] = [spec.model_dump()]
    return sc.with_overrides(over)


def run_contest(sc: Scenario) -> ContestOutcome:
    """Run the engine and read each firm's hashrate, cost per TH-day and the reward V."""
    model = run(sc, keep_model=True).model
    assert model is not None
    s = model.sites  # one site per firm in the contest limit, in the firms' order
    x = np.bincount(s.owner, weights=s.fleet_ths.sum(axis=1), minlength=model.firms.n)
    col = np.argmax(s.fleet_ths > 0, axis=1)
    cost = np.zeros(model.firms.n)
    cost[s.owner] = model.cost_usd_per_th_day[np.arange(s.n), col]
    subsidy = chain.subsidy_btc(sc.protocol.start_height + 1)
    reward = (
        (subsidy + sc.fees.base_btc_per_block)
        * sc.price.initial_usd
        * chain.BLOCKS_PER_DAY
        * (1 - sc.protocol.pool_fee)
    )
    return ContestOutcome(x, cost, reward)


def checks(tolerances: Tolerances, quick: bool = False) -> list[Check]:
    """Contest-limit, halving-invariance and sovereign-extension checks (~1 s per engine run)."""
    years = 0.5 if quick else 0.8
    out: list[Check] = []

    # 1. Tullock shares and total: costs 2:3:4:5, closed form shares 5/9, 1/3, 1/9, 0
    prices = [30.0, 45.0, 60.0, 75.0]
    r = run_contest(contest_scenario(prices, years))
    x_cf, s_cf = tullock_equilibrium(r.cost, r.reward)
    s = r.hashrate_ths / r.hashrate_ths.sum()
    out.append(
        at_most(
            "contest.tullock_shares",
            float(np.max(np.abs(s - s_cf))),
            0.01,
            tolerances,
            unit="share",
            detail=f"max |s - s*|, power 30/45/60/75 USD/MWh: engine {np.round(s, 4).tolist()}, "
            f"closed form {np.round(s_cf, 4).tolist()}",
        )
    )
    out.append(
        within(
            "contest.tullock_total",
            r.hashrate_ths.sum() / 1e6,
            x_cf / 1e6,
            0.02,
            tolerances,
            unit="EH/s",
            detail="X* = (m-1) V / sum_A c",
            relative=True,
        )
    )

    # 2. Arnosti-Weinberg: if i is active, s_j >= 1 - c_j / c_i; slack of the worst pair
    r_aw = run_contest(contest_scenario([30.0, 36.0, 45.0, 50.0], years))
    s_aw = r_aw.hashrate_ths / r_aw.hashrate_ths.sum()
    active = s_aw > 1e-3
    bound = 1.0 - r_aw.cost[None, :] / r_aw.cost[active][:, None]  # rows i active, cols j
    slack = float(np.min(s_aw[None, :] - bound))
    low = int(np.argmin(r_aw.cost))
    low_bound = float(np.max(bound[:, low]))
    out.append(
        at_least(
            "contest.arnosti_weinberg_slack",
            slack,
            0.0,
            tolerances,
            unit="share",
            detail=f"min over active i, all j of s_j - (1 - c_j/c_i), power 30/36/45/50: "
            f"lowest-cost firm's share {s_aw[low]:.4f} >= its bound {low_bound:.4f}",
        )
    )

    # 3. halving in the contest limit: V halves -> X halves, shares unchanged
    before = run_contest(contest_scenario(prices, years, start_height=929_100))
    after = run_contest(contest_scenario(prices, years, start_height=1_050_000))
    ratio = after.hashrate_ths.sum() / before.hashrate_ths.sum()
    out.append(
        within(
            "contest.halving_total_ratio",
            float(ratio),
            0.5,
            0.01,
            tolerances,
            unit="-",
            detail="X after / X before the halving (subsidy 3.125 -> 1.5625 BTC)",
        )
    )
    ds = np.max(
        np.abs(
            after.hashrate_ths / after.hashrate_ths.sum()
            - before.hashrate_ths / before.hashrate_ths.sum()
        )
    )
    out.append(
        at_most(
            "contest.halving_shares",
            float(ds),
            0.01,
            tolerances,
            unit="share",
            detail="max |s after - s before|",
        )
    )

    # 4. sovereign of fixed hashrate (policy MW of S21 XP+ Hydro at zero energy cost)
    r_sov = run_contest(contest_scenario(prices, years, sovereign_mw=8_800.0))
    h_s = float(r_sov.hashrate_ths[-1])  # the sovereign row comes after the firms
    x_tot, x_cf = sovereign_equilibrium(r_sov.cost[:-1], r_sov.reward, h_s)
    priv = r_sov.hashrate_ths[:-1]
    total = priv.sum() + h_s
    out.append(
        at_most(
            "sovereign.private_shares",
            float(np.max(np.abs(priv / total - x_cf / x_tot))),
            0.01,
            tolerances,
            unit="share",
            detail=f"H_s = {h_s / 1e6:.1f} EH/s: engine {np.round(priv / total, 4).tolist()}, "
            f"closed form {np.round(x_cf / x_tot, 4).tolist()}",
        )
    )
    out.append(
        within(
            "sovereign.total",
            total / 1e6,
            x_tot / 1e6,
            0.02,
            tolerances,
            unit="EH/s",
            detail=f"X = V[(m-1) + sqrt((m-1)^2 + 4 C H_s/V)] / (2C); sovereign share "
            f"{h_s / total:.3f} (closed form {h_s / x_tot:.3f})",
            relative=True,
        )
    )
    return out
