"""Mining pools (abm/pools.py): payouts by scheme, fee response, the share cap, choice, events,
calibration of the 2026 landscape, and the accounting invariants with pools on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import abm
from abm import MiningIndustry
from abm.firms import SOVEREIGN
from abm.pools import (
    CLOSED,
    FPPS,
    PPLNS,
    cap_weights,
    fee_targets,
    payout_value,
    payout_variance,
    pool_payouts,
)
from abm.scenario import Scenario
from tests.conftest import small_scenario
from tests.test_invariants import run_checked

POOLS_ON = {"pools.enabled": True}  # pools are off by default (abm.scenario.PoolsConfig)

# the calibrated 2026 shares of the three largest pools (CALIBRATION.md: 20 Mar 2025,
# mempool.space, 246, 173 and 111 of 809.65 EH/s)
TOP3 = {"Foundry USA": 246 / 809.65, "AntPool": 173 / 809.65, "ViaBTC": 111 / 809.65}
SEEDS = range(1, 11)


# -- payouts by scheme, by hand ------------------------------------------------------------------
def test_payout_of_one_day_by_scheme_by_hand() -> None:
    # FPPS, fee 2%: found 10 blocks, 8 expected, 3.2 BTC a block -> pays 8 x 3.2 x 0.98 =
    # 25.088, keeps the fee 8 x 3.2 x 0.02 = 0.512 and the luck (10 - 8) x 3.2 = 6.4;
    # PPLNS, fee 1%: pays 10 x 3.2 x 0.99 = 31.68, fee 0.32, no luck
    paid, fees, luck = pool_payouts(
        np.array([FPPS, PPLNS]),
        np.array([0.02, 0.01]),
        np.array([10.0, 10.0]),
        np.array([8.0, 8.0]),
        3.2,
    )
    np.testing.assert_allclose(paid, [25.088, 31.68])
    np.testing.assert_allclose(fees, [0.512, 0.32])
    np.testing.assert_allclose(luck, [6.4, 0.0])
    # what the pool found is split three ways, nothing lost
    np.testing.assert_allclose(paid + fees + luck, [32.0, 32.0])


def test_expected_value_and_variance_of_a_miners_payout() -> None:
    """A miner with 1% of the network in a pool with 10% (144 blocks a day, 3.2 BTC each):
    FPPS at 2% pays 0.98 x 144 x 0.01 x 3.2 = 4.51584 BTC every day (variance 0); PPLNS at 2%
    pays 0.98 x 3.2 x N x 0.1 with N ~ Poisson(14.4): the same mean, variance
    (0.98 x 3.2 x 0.1)^2 x 14.4 = 1.41616742 and relative variance 1 / 14.4."""
    rng = np.random.default_rng(3)
    n = 400_000
    found = rng.poisson(144 * 0.1, n).astype(float)
    for scheme, var in ((FPPS, 0.0), (PPLNS, 1.41616742)):
        paid, _, _ = pool_payouts(
            np.full(n, scheme), np.full(n, 0.02), found, np.full(n, 14.4), 3.2
        )
        miner = paid * 0.1  # its tenth of the pool's hashrate
        assert miner.mean() == pytest.approx(4.51584, rel=3e-3)
        assert miner.var() == pytest.approx(var, rel=1e-2, abs=1e-12)
    np.testing.assert_allclose(
        payout_variance(np.array([FPPS, PPLNS]), np.array([0.1, 0.1])), [0.0, 1 / 14.4]
    )


def test_risk_aversion_sends_small_firms_to_fpps_and_large_ones_to_pplns() -> None:
    # PPLNS at 1% in a 5% pool (variance 1 / 7.2) against FPPS at 2%: a small firm (aversion
    # 2) values them 0.99 - 1/7.2 = 0.851111 and 0.98; a large one (0.1) 0.99 - 0.05/7.2 =
    # 0.983056 and 0.98
    var = payout_variance(np.array([PPLNS, FPPS]), np.array([0.05, 0.3]))
    fee = np.array([0.01, 0.02])
    small = payout_value(fee, var, 2.0)
    large = payout_value(fee, var, 0.1)
    np.testing.assert_allclose(small, [0.99 - 1 / 7.2, 0.98])
    np.testing.assert_allclose(large, [0.99 - 0.05 / 7.2, 0.98])
    assert small.argmax() == 1 and large.argmax() == 0


# -- fees ---------------------------------------------------------------------------------------
def test_fee_target_rises_with_growth_and_follows_competitors() -> None:
    # day-one fee 2%, share 0.3 -> 0.4, competitors' mean fee 2% -> 2.5%, slope 0.05,
    # weight 0.5: 0.02 + 0.05 x 0.1 + 0.5 x 0.005 = 0.0275
    t = fee_targets(
        np.array([0.02]),
        np.array([0.4]),
        np.array([0.3]),
        np.array([0.025]),
        np.array([0.02]),
        0.05,
        0.5,
    )
    np.testing.assert_allclose(t, [0.0275])


def test_pools_revise_fees_part_way_to_their_targets() -> None:
    """Two open pools with 40 and 60 (others closed): pool 0 grew from 0.3 to 0.4 and its
    competitor charges 3% (2.5% on day one): target 0.02 + 0.05 x 0.1 + 0.5 x 0.005 = 0.0275,
    half-way from 2%: 0.02375; pool 1 kept its share and sees 2% as on day one: stays 3%."""
    m = MiningIndustry(small_scenario(years=0.1, **POOLS_ON))
    p = m.pools
    p.status[2:] = CLOSED
    p.hashrate_ths[:] = 0.0
    p.hashrate_ths[:2] = [40.0, 60.0]
    p.fee[:2] = p.fee0[:2] = [0.02, 0.03]
    p._share0_net[:2] = [0.3, 0.6]
    p.fee_competitors0[:2] = [0.025, 0.02]
    p.revise_fees(30)
    np.testing.assert_allclose(p.fee[:2], [0.02375, 0.03])


def test_share_cap_water_fills() -> None:
    # weights 0.5, 0.3, 0.2; the first pool has room for 0.3: the other 0.7 split 3:2
    np.testing.assert_allclose(
        cap_weights(np.array([0.5, 0.3, 0.2]), np.array([0.3, 1.0, 1.0])), [0.3, 0.42, 0.28]
    )
    # rooms smaller than the unit: each pool gets its room
    np.testing.assert_allclose(cap_weights(np.array([0.5, 0.5]), np.array([0.2, 0.3])), [0.2, 0.3])


# -- the day's payout in the model ----------------------------------------------------------------
def test_firms_are_paid_by_their_pools_scheme() -> None:
    """After one day: a firm in an FPPS pool gets its hashrate / the network's x the expected
    blocks x the reward per block x (1 - fee); one in a PPLNS pool its share of its pool's
    blocks x reward x (1 - fee)."""
    m = MiningIndustry(small_scenario(years=0.1, **POOLS_ON))
    p = m.pools
    pool, fee = p.firm_pool.copy(), p.fee.copy()  # (firms due for review choose after mining)
    m.step()
    today = m.last_day
    b, op = today.blocks, today.op
    per_block = b.reward_btc / b.n_blocks
    expected = abm.chain.expected_blocks_per_day(op.hashrate_ehs, b.difficulty_start)
    checked = set()
    for r in np.flatnonzero(op.by_firm_ths > 0):
        k = pool[r]
        if p.scheme[k] == FPPS:
            want = op.by_firm_ths[r] / op.total_ths * expected * per_block * (1 - fee[k])
        else:
            want = op.by_firm_ths[r] / b.pools.hashrate_ths[k] * b.pools.blocks[k] * per_block
            want *= 1 - fee[k]
        assert b.by_firm_btc[r] == pytest.approx(want, rel=1e-9)
        checked.add(int(p.scheme[k]))
    assert checked == {FPPS, PPLNS}
    total = b.to_firms_btc + b.to_world_btc + b.pool_fees_btc + b.pool_luck_btc
    assert total == pytest.approx(b.reward_btc, rel=1e-12)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    cap=st.floats(0.15, 0.6),
    fee=st.floats(0.0, 0.04),
    luck=st.booleans(),
)
def test_invariants_hold_with_pools_and_their_events(
    seed: int, cap: float, fee: float, luck: bool
) -> None:
    """BTC through pools: every balance follows from the ledger (btc_pool_fees and
    btc_pool_luck included), with a fee war, a pool exit, a share cap and a ban shutting
    pools."""
    day = dt.date(2026, 1, 1)
    sc = small_scenario(
        n_firms=40,
        years=0.4,
        **{
            **POOLS_ON,
            "run.seed": seed,
            "protocol.block_luck": luck,
            "events": [
                {"kind": "pool_fee_war", "date": day + dt.timedelta(20), "fee": fee, "days": 30},
                {"kind": "pool_exit", "date": day + dt.timedelta(40), "pool": "ViaBTC"},
                {"kind": "pool_share_cap", "date": day + dt.timedelta(60), "cap": cap},
                {
                    "kind": "regional_ban",
                    "date": day + dt.timedelta(100),
                    "region": "china",
                    "shut_pools": True,
                },
            ],
        },
    )
    m = MiningIndustry(sc)
    run_checked(m)
    assert m.ledger["btc_pool_fees"] > 0


# -- events -------------------------------------------------------------------------------------
def _events_run(events: list[dict], years: float = 0.5) -> abm.runner.RunResult:
    sc = Scenario().with_overrides({"run.years": years, "events": events, **POOLS_ON})
    return abm.run(sc, seed=5, keep_model=True)


def test_pool_exit_fee_war_cap_and_ban() -> None:
    d0 = dt.date(2026, 1, 1)
    r = _events_run(
        [
            {"kind": "pool_exit", "date": d0 + dt.timedelta(30), "pool": "F2Pool"},
            {
                "kind": "pool_fee_war",
                "date": d0 + dt.timedelta(60),
                "pools": ["ViaBTC"],
                "fee": 0.0,
                "days": 40,
            },
            {"kind": "pool_share_cap", "date": d0 + dt.timedelta(120), "cap": 0.2},
        ]
    )
    t = r.pools
    f2 = t[t["pool"] == "F2Pool"]
    assert f2[f2["day"] >= 30]["hashrate_ehs"].eq(0).all()
    assert f2[f2["day"] < 30]["hashrate_ehs"].gt(0).all()
    via = t[(t["pool"] == "ViaBTC") & t["day"].between(60, 99)]
    assert via["fee"].eq(0.0).all()
    # a free fee (0%) draws the rest of the world's hashrate: e^(20 x 0.03) = 1.82 x weight
    before = t[(t["pool"] == "ViaBTC") & t["day"].between(50, 59)]["share"].mean()
    assert via["share"].mean() > before
    # the cap is enforced each day at the review phase on the day's running hashrate, so the
    # rigs that switch on the next morning, and sites bought in that day's deals (which run
    # after it), can take a pool over it until the next review: for one day at a time
    capped = t[t["day"] >= 121].groupby("day")["share"].max()
    assert capped.max() <= 0.2 + 0.03
    over = (capped > 0.2 + 0.01).to_numpy()
    assert not (over[1:] & over[:-1]).any()  # never two days running
    assert capped.median() <= 0.2 + 1e-9
    ban = _events_run(
        [
            {
                "kind": "regional_ban",
                "date": d0 + dt.timedelta(10),
                "region": "china",
                "shut_pools": True,
            }
        ],
        years=0.1,
    )
    p = ban.model.pools
    china = [n for n, reg in zip(p.names, p.region, strict=True) if reg == 2]
    assert china and all(p.status[p.names.index(n)] == CLOSED for n in china)


# -- calibration and behaviour over seeds -----------------------------------------------------
@pytest.fixture(scope="module")
def first_years() -> list[abm.runner.RunResult]:
    return [
        abm.run(Scenario().with_overrides(POOLS_ON), seed=s, years=1.0, keep_model=True)
        for s in SEEDS
    ]


def test_first_year_shares_of_the_three_largest_pools_match_2026(first_years) -> None:
    """Over 10 seeds, each of the three largest pools' mean share of hashrate in the first year
    lies within 5 points of its calibrated 2026 share, and the pool Nakamoto coefficient
    starts at 2-3."""
    for name, target in TOP3.items():
        means = [r.pools[r.pools["pool"] == name]["share"].mean() for r in first_years]
        assert abs(np.mean(means) - target) < 0.05, (name, np.mean(means), target)
        blocks = [r.summary["pool_block_shares_first_year"][name] for r in first_years]
        assert abs(np.mean(blocks) - target) < 0.05, (name, np.mean(blocks), target)
    for r in first_years:
        assert 2 <= r.timeseries["nakamoto_pool"].iloc[0] <= 3
        assert r.timeseries["nakamoto_pool"].iloc[0] <= r.timeseries["nakamoto_owner"].iloc[0]


def test_the_worlds_hashrate_sits_in_independent_pools(first_years) -> None:
    r = first_years[0]
    m = r.model
    p = m.pools
    world = m.last_day.op.world_ths
    firms = np.bincount(
        p.firm_pool[p.firm_pool >= 0],
        weights=m.last_day.op.by_firm_ths[p.firm_pool >= 0],
        minlength=p.n,
    )
    in_world = p.hashrate_ths - firms
    assert in_world.sum() == pytest.approx(world, rel=1e-9)
    assert np.all(in_world[p.owner >= 0] <= 1e-6)  # none in owned pools


def test_sovereigns_choose_pools_and_own_pools_hold_their_groups(first_years) -> None:
    for r in first_years:
        m = r.model
        t, p = m.firms, m.pools
        sov = np.flatnonzero((t.kind == SOVEREIGN) & t.active)
        assert sov.size and np.all(p.firm_pool[sov] >= 0)
        for k in np.flatnonzero((p.owner >= 0) & (p.status != CLOSED)):
            group = np.flatnonzero(t.active & (t.ultimate_owner == t.ultimate_owner[p.owner[k]]))
            assert np.all(p.firm_pool[group] == k)


def test_pools_off_pays_by_hash_share() -> None:
    r = abm.run(Scenario().with_overrides({"run.years": 0.1, "pools.enabled": False}), seed=2)
    assert "hhi_pool" not in r.timeseries and "hhi_pool_end" not in r.summary
    assert r.ledger["btc_pool_luck"] == 0.0
    issued = r.ledger["btc_subsidy"] + r.ledger["btc_fees"]
    assert r.ledger["btc_pool_fees"] == pytest.approx(0.02 * issued, rel=1e-12)
    assert len(r.pools) == 0


def test_pools_that_grow_raise_their_fees(first_years) -> None:
    """Cong, He & Li: within each run, the independent pools whose share grew over the first
    year charge more than those that shrank (fee change against share change, both demeaned
    per run, correlate positively over the 10 seeds)."""
    d_fee, d_share = [], []
    for r in first_years:
        p = r.pools
        public = p[(p["owner_id"] < 0) & p["day"].isin([0, 364])]
        wide = public.pivot(index="pool", columns="day", values=["fee", "share"])
        df = (wide["fee"][364] - wide["fee"][0]).to_numpy()
        ds = (wide["share"][364] - wide["share"][0]).to_numpy()
        d_fee.append(df - df.mean())
        d_share.append(ds - ds.mean())
    corr = np.corrcoef(np.concatenate(d_fee), np.concatenate(d_share))[0, 1]
    assert corr > 0.5, corr


def test_one_group_one_pool_after_an_acquisition() -> None:
    """Listed-01 and Listed-02 run their own pools; when Listed-01 buys Listed-02, Listed-02's
    pool closes and its firms mine in Listed-01's."""
    from abm.deals import Match, execute
    from abm.scenario import PoolSpec

    base = Scenario()
    pools = [
        *base.pools.pools,
        PoolSpec(name="L2 Pool", scheme="pplns", fee=0.0, owner="Listed-02"),
    ]
    over = {"run.years": 0.1, "pools.enabled": True, "pools.pools": [p.model_dump() for p in pools]}
    sc = base.with_overrides(over)
    m = MiningIndustry(sc, seed=1)
    m.step()
    p, t = m.pools, m.firms
    a, b = t.name.index("Listed-01"), t.name.index("Listed-02")
    pa, pb = int(p.firm_pool[a]), int(p.firm_pool[b])
    assert p.owner[pa] == a and p.owner[pb] == b and pa != pb
    execute(m, Match(buyer=a, seller=b, site=-1, price_usd=0.0, shares_usd=0.0, gain_usd=0.0))
    assert p.status[pb] != p.status[pa]  # L2 Pool closed, MARA Pool open
    assert p.firm_pool[b] == pa and t.ultimate_owner[b] == a
    m.step()
    assert p.hashrate_ths[pb] == 0.0 and p.hashrate_ths[pa] > 0
