"""The scale knob on every power price (issue 18, item 7): ``energy.price_multiplier``."""

from __future__ import annotations

import numpy as np
import pytest

from abm import Scenario
from abm.markets.energy import scale_power_prices
from abm.model import MiningIndustry
from abm.runner import run
from abm.scenario import ScenarioError
from tests.conftest import small_scenario


def test_every_price_per_mwh_is_multiplied_by_hand():
    sc = Scenario().with_overrides(
        {
            "energy.price_multiplier": 0.78,
            "events": [
                {"kind": "tariff_change", "date": "2027-01-01", "levy_usd_per_mwh": 5.0},
                {"kind": "grid_emergency", "date": "2027-01-01", "region": "us", "days": 3},
            ],
            "capabilities.flex_credit_usd_per_mwh": {"us": 10.0},
        }
    )
    s = scale_power_prices(sc)
    e = s.energy
    assert e.price_multiplier == 1.0
    assert e.median_price_usd_per_mwh == pytest.approx(0.78 * 45.0)  # 35.1
    assert (e.min_price_usd_per_mwh, e.max_price_usd_per_mwh) == pytest.approx((11.7, 93.6))
    assert e.expansion_price_usd_per_mwh == pytest.approx(35.1)
    assert s.world.median_price_usd_per_mwh == pytest.approx(0.78 * 42.0)  # 32.76
    assert s.sites.hosting_rate_min_usd_per_mwh == pytest.approx(46.8)
    assert s.sites.hosting_rate_max_usd_per_mwh == pytest.approx(62.4)
    assert s.sites.min_host_margin_usd_per_mwh == pytest.approx(3.9)
    assert s.capabilities.stranded_price_usd_per_mwh == pytest.approx(19.5)
    assert s.capabilities.flex_credit_usd_per_mwh == pytest.approx({"us": 7.8})
    assert s.sovereigns[0].power_cost_usd_per_mwh == pytest.approx(15.6)  # Bhutan's 20
    tariff, storm = s.events
    assert tariff.levy_usd_per_mwh == pytest.approx(3.9)
    assert storm.credit_usd_per_mwh == pytest.approx(0.78 * sc.events[1].credit_usd_per_mwh)
    # what is not priced per MWh stays: site opex and capex, AI prices, the multiplier's effect
    # is applied once (scaling again changes nothing)
    assert e.fixed_opex_usd_per_mw_day == 270.0 and e.capex_usd_per_mw == 330_000.0
    assert s.ai.price_min_usd_per_mw_year == sc.ai.price_min_usd_per_mw_year
    assert scale_power_prices(s) == s
    assert scale_power_prices(Scenario()) == Scenario()


@pytest.mark.parametrize("bad", [0.0, -1.0, 11.0])
def test_multiplier_bounds(bad):
    with pytest.raises(ScenarioError, match="price_multiplier"):
        Scenario().with_overrides({"energy.price_multiplier": bad})


def test_every_site_price_scales_at_day_0_same_seed():
    k = 0.5
    sc = Scenario()  # the baseline population: hosted small firms, listed hosts, sovereigns
    one = MiningIndustry(sc, seed=7)
    half = MiningIndustry(sc.with_overrides({"energy.price_multiplier": k}), seed=7)
    a, b = one.sites, half.sites
    assert a.n == b.n and np.array_equal(a.owner, b.owner) and np.array_equal(a.host, b.host)
    np.testing.assert_allclose(b.power_price_usd_per_mwh, k * a.power_price_usd_per_mwh, 1e-12)
    assert a.power_price_usd_per_mwh[0] > 0 and a.n > 600
    own = a.host == a.owner
    np.testing.assert_allclose(b.rate_usd_per_mwh[own], k * a.rate_usd_per_mwh[own], rtol=1e-12)
    # hosted: rate = max(drawn in [60, 80] x k, host price + 270/24 + 5 x k); where the drawn
    # rate applied at k = 1 (above its floor), the same draw applies at k unless k's floor binds
    hosted = ~own & (a.host >= 0)
    assert hosted.sum() > 5
    floor_1 = a.power_price_usd_per_mwh + 270 / 24 + 5.0
    floor_k = k * a.power_price_usd_per_mwh + 270 / 24 + k * 5.0
    drawn = hosted & (a.rate_usd_per_mwh > floor_1)
    assert drawn.any()
    expect = np.maximum(k * a.rate_usd_per_mwh[drawn], floor_k[drawn])
    np.testing.assert_allclose(b.rate_usd_per_mwh[drawn], expect, rtol=1e-12)
    assert np.all(b.rate_usd_per_mwh[hosted] >= floor_k[hosted] - 1e-9)
    # nothing but prices changes: the firms' cash, the sites' capacity and fleets
    np.testing.assert_array_equal(one.firms.cash_usd, half.firms.cash_usd)
    np.testing.assert_array_equal(a.capacity_mw, b.capacity_mw)
    np.testing.assert_array_equal(a.fleet_ths, b.fleet_ths)


def test_explicit_firms_prices_and_the_written_scenario_keep_the_knob(tmp_path):
    sc = small_scenario(
        years=0.02,
        **{
            "energy.price_multiplier": 0.5,
            "firms.population": "explicit",
            "firms.explicit": [
                {"name": "A", "hashrate_ehs": 10.0, "power_price_usd_per_mwh": 40.0},
                {"name": "B", "hashrate_ehs": 5.0, "power_price_usd_per_mwh": 70.0},
            ],
            "sovereigns": [],
        },
    )
    m = MiningIndustry(sc, seed=1)
    assert m.sites.power_price_usd_per_mwh[:2] == pytest.approx([20.0, 35.0])
    assert m.params.energy.price_multiplier == 1.0
    out = run(sc, seed=1).save(tmp_path / "out")
    assert "price_multiplier = 0.5" in (out / "scenario.toml").read_text()
