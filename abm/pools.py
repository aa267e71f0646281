"""Mining pools: where each firm's hashrate points, who finds the blocks, and how each pool pays.

Pools are agents with a payout scheme, a fee and an owner (:data:`SCHEMES`; an independent pool
is open to all, an owned pool serves its owner and its subsidiaries, as MARA Pool does). Every
site's hashrate points to its owner's pool (``Pools.firm_pool``); the rest of the world's miners
(abm/world.py) spread theirs over the open independent pools. The day's blocks (a Poisson total,
``MiningIndustry.draw_blocks``) fall to the pools by their hashrate, i.e. Poisson by pool; an
FPPS pool pays its miners the expected value of their shares at the day's difficulty less its
fee and keeps the luck, a PPLNS pool shares the blocks it found less its fee (its miners carry
the luck). Firms choose pools at their fleet reviews by expected payout net of fees and the
variance they can bear (a logit whose alternative-specific constants put day one at the
calibrated shares), with inertia; owners large enough run their own pool. Pools revise their
fees toward a target that rises with their growth and follows their competitors (Cong, He & Li
2021). A pool closes when an FPPS reserve runs out, its owner leaves, a ``pool_exit`` event or
a regional ban with ``shut_pools`` shuts it. The pure rules are module functions tested by hand;
:class:`Pools` is the component.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from abm import chain, metrics
from abm.components import BaseComponent
from abm.firms import LARGE, MEDIUM, SIZE_CLASSES, SMALL, SOVEREIGN_CLASS
from abm.scenario import PoolExit, PoolFeeWar, PoolShareCap, RegionalBan

if TYPE_CHECKING:
    from abm.day import Environment, Operation, Today
    from abm.model import MiningIndustry

__all__ = [
    "FPPS",
    "POOL_DAILY_COLUMNS",
    "PPLNS",
    "SCHEMES",
    "PoolDay",
    "Pools",
    "cap_weights",
    "fee_targets",
    "payout_value",
    "payout_variance",
    "pool_payouts",
]

SCHEMES: tuple[str, ...] = ("fpps", "pplns")
FPPS, PPLNS = range(2)  # codes of SCHEMES
POOL_STATUSES: tuple[str, ...] = ("open", "closed")
OPEN, CLOSED = range(2)  # codes of POOL_STATUSES
INDEPENDENT = -1  # owner of an independent pool
NO_POOL = -1  # a firm row not yet assigned

POOL_DAILY_COLUMNS: dict[str, str] = {
    "hhi_pool": "HHI of network hashrate by pool, proxy pools counted with the pool whose "
    "templates they relay (who builds the blocks; the rest of the world's hashrate inside its "
    "pools) [0-10,000]",
    "nakamoto_pool": "fewest pools (template builders) holding more than the threshold share of "
    "network hashrate [-]",
    "cr4_pool": "hashrate share of the four largest template builders [0-1]",
    "entropy_pool": "Shannon entropy of hashrate shares by template builder [bits]",
    "top_pool_share": "hashrate share of the largest template builder [0-1]",
    "top_pool_block_share": "share of the day's blocks found by the largest template builder "
    "(by hashrate) [0-1]",
    "pools_open": "pools open [-]",
    "pool_fee_mean": "fee of the pools weighted by their hashrate [0-1]",
    "pool_fees_btc": "fees kept by the pools that day [BTC]",
    "pool_luck_btc": "luck kept by FPPS pools that day: what they found less the expected value "
    "they paid for [BTC]",
}
POOL_TABLE_COLUMNS: dict[str, str] = {
    "day": "day index since the start [day]",
    "date": "simulated day [date]",
    "pool": "pool name",
    "scheme": "fpps / pplns",
    "owner_id": "firm_id of the owner (-1: independent) [-]",
    "hashrate_ehs": "hashrate pointing to the pool (firms' and the rest of the world's) [EH/s]",
    "share": "share of network hashrate [0-1]",
    "blocks": "blocks found that day [blocks]",
    "fee": "fee that day [0-1]",
}


# -- pure rules (tested by hand) ----------------------------------------------------------------
def payout_variance(
    scheme: np.ndarray, pool_share: np.ndarray, blocks_per_day: float = chain.BLOCKS_PER_DAY
) -> np.ndarray:
    """Variance of a miner's payout of one day relative to its expectation [-]: 0 under FPPS
    (the pool carries the luck), 1 / (blocks_per_day x share) under PPLNS (the pool's blocks are
    Poisson with mean blocks_per_day x its share of network hashrate; an own pool is a PPLNS
    pool of the owner's share). A pool with no share has infinite variance."""
    s = np.asarray(pool_share, dtype=float)
    with np.errstate(divide="ignore"):
        v = np.where(s > 0, 1.0 / (blocks_per_day * np.maximum(s, 1e-300)), np.inf)
    return np.where(np.asarray(scheme) == FPPS, 0.0, v)


def payout_value(fee: np.ndarray, variance: np.ndarray, risk_aversion: np.ndarray) -> np.ndarray:
    """Mean-variance value of a pool per unit of expected gross revenue [-]:
    (1 - fee) - risk_aversion / 2 x variance (arrays broadcast: firms x pools)."""
    return (1.0 - fee) - 0.5 * risk_aversion * variance


def pool_payouts(
    scheme: np.ndarray,
    fee: np.ndarray,
    blocks: np.ndarray,
    expected_blocks: np.ndarray,
    reward_btc_per_block: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(paid to miners, fees kept, luck kept) per pool [BTC]. An FPPS pool pays the expected
    value of its miners' shares, `expected_blocks` x reward, less its fee, and keeps the luck
    (blocks found less expected, x reward); a PPLNS pool pays the reward of the blocks it found
    less its fee and keeps no luck."""
    fpps = np.asarray(scheme) == FPPS
    found = blocks * reward_btc_per_block
    expected = expected_blocks * reward_btc_per_block
    base = np.where(fpps, expected, found)
    fees = fee * base
    return base - fees, fees, np.where(fpps, found - expected, 0.0)


def fee_targets(
    fee0: np.ndarray,
    share: np.ndarray,
    share0: np.ndarray,
    competitors_fee: np.ndarray,
    competitors_fee0: np.ndarray,
    slope: float,
    competition: float,
) -> np.ndarray:
    """Each pool's target fee [0-1]: its day-one fee, plus `slope` x its growth in share since
    day one (larger pools charge more: Cong, He & Li 2021), plus `competition` x the change of
    its competitors' mean fee since day one."""
    return fee0 + slope * (share - share0) + competition * (competitors_fee - competitors_fee0)


def competitors_mean_fee(fee: np.ndarray, weight: np.ndarray, open_: np.ndarray) -> np.ndarray:
    """Mean fee of every other open pool, weighted by `weight` (hashrate) [0-1]; a pool with no
    weighted competitor sees its own fee."""
    w = np.where(open_, weight, 0.0)
    total, wf = w.sum(), (w * fee).sum()
    rest = total - w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rest > 0, (wf - w * fee) / rest, fee)


def cap_weights(weights: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Spread one unit over pools by `weights` without giving any pool more than its `room`
    (water-filling: what a full pool cannot take goes to the others by their weights). If the
    rooms hold less than one unit, every pool gets its room and the rest is left out."""
    w = np.where(room > 0, np.maximum(weights, 0.0), 0.0)
    out = np.zeros_like(w)
    left = 1.0
    free = w > 0
    for _ in range(w.size):
        if left <= 0 or not free.any():
            break
        give = left * w * free / (w * free).sum()
        over = free & (out + give >= room)
        if not over.any():
            return out + give
        left -= (room[over] - out[over]).sum()
        out[over] = room[over]
        free &= ~over
    return out


@dataclass(slots=True)
class PoolDay:
    """The pools' part of the mine phase: per pool, and the payout to firms and the world."""

    hashrate_ths: np.ndarray  # pointing to each pool today (firms' and the world's) [TH/s]
    blocks: np.ndarray  # found by each pool [blocks] (fractional without block luck)
    paid_btc: np.ndarray  # paid by each pool to its miners [BTC]
    fees_btc: float  # kept by the pools as fees [BTC]
    luck_btc: float  # kept by FPPS pools as luck [BTC]
    by_firm_btc: np.ndarray  # paid to each firm [BTC]
    to_world_btc: float  # paid to the rest of the world's miners [BTC]


class Pools(BaseComponent):
    """The pools of one run (see the module docstring). Off (``pools.enabled = false``, or the
    contest limit) it does nothing and every miner is paid by hash share (abm.day.mine)."""

    phases: ClassVar[tuple[str, ...]] = ("events", "decide")

    def __init__(self, m: MiningIndustry) -> None:
        super().__init__(m)
        cfg = m.params.pools
        self.cfg = cfg
        self.enabled = cfg.enabled and not m.contest
        specs = cfg.pools if self.enabled else []
        regions = list(m.params.firms.region_mix)
        self.names: list[str] = [p.name for p in specs]
        self.scheme = np.array([SCHEMES.index(p.scheme) for p in specs], dtype=np.int8)
        self.fee = np.array([p.fee for p in specs], dtype=float)
        self.fee0 = self.fee.copy()
        self.share0 = np.array([p.share for p in specs], dtype=float)
        self.region = np.array(  # -1: outside the model's regions
            [regions.index(p.region) if p.region in regions else -1 for p in specs],
            dtype=np.int8,
        )
        self.owner_name = [p.owner for p in specs]
        self.owner = np.full(len(specs), INDEPENDENT, dtype=np.int32)
        self.status = np.full(len(specs), OPEN, dtype=np.int8)
        self.template = np.array(
            [
                self.names.index(p.templates_of) if p.templates_of else i
                for i, p in enumerate(specs)
            ],
            dtype=np.intp,
        )
        # alternative-specific constants, size classes x pools [share of revenue]
        self.asc = np.zeros((len(SIZE_CLASSES), len(specs)))
        self.world_w0 = np.zeros(len(specs))  # the world's day-one weights
        self.reserve_btc = np.zeros(len(specs))
        self.war_until = np.full(len(specs), -1, dtype=np.int32)  # fee fixed until this day
        self.fee_competitors0 = np.zeros(len(specs))
        self._share0_net = self.share0.copy()  # share of network hashrate on day one [0-1]
        self.firm_pool = np.zeros(0, dtype=np.intp)
        self.hashrate_ths = np.zeros(len(specs))
        self.cap = 1.0  # largest share any pool may hold
        self.started = False
        self.rng = m.streams["pools"]
        self.n_closed = 0
        self.n_opened = 0
        self.n_switches = 0
        public = self.owner == INDEPENDENT
        w = self.share0 * public
        self.mean_fee = float((self.fee * w).sum() / w.sum()) if w.sum() > 0 else 0.0
        self._days: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # hashrate, blocks, fee
        self._daily = {c: np.full(m.n_days, np.nan) for c in POOL_DAILY_COLUMNS}
        self._events: dict[int, list[Any]] = {}
        for e in m.params.events if self.enabled else []:
            if isinstance(e, PoolExit | PoolFeeWar | PoolShareCap) or (
                isinstance(e, RegionalBan) and e.shut_pools and e.share >= 1.0
            ):
                self._events.setdefault((e.date - m.start_date).days, []).append(e)

    # -- set-up ---------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.names)

    def start(self) -> None:
        """Day one: owned pools take their owners' groups; every other firm draws a pool from
        the logit whose constants make its probabilities the calibrated shares for the average
        firm (largest firms first, into pools with room); the rest of the world fills each
        independent pool up to its calibrated share of the network."""
        if not self.enabled:
            return
        m, t = self.m, self.m.firms
        names = list(t.name)
        for p, owner in enumerate(self.owner_name):
            if owner:
                self.owner[p] = names.index(owner) if owner in names else INDEPENDENT
                if self.owner[p] == INDEPENDENT:
                    self.status[p] = CLOSED  # its owner is not in this population
        self.firm_pool = np.full(t.n, NO_POOL, dtype=np.intp)
        h = m.sites.by_firm(m.sites.fleet_ths.sum(axis=1), t.n)
        world = float(m.world.fleet_ths.sum())
        total = float(h.sum()) + world
        for p in np.flatnonzero(self._owned()):
            self.firm_pool[t.ultimate_owner == self.owner[p]] = p
        public = self._public()
        own_ths = float(h[self.firm_pool >= 0].sum())
        target = np.where(public, self.share0, 0.0)
        target = target / target.sum() * (total - own_ths)  # [TH/s]
        rest = np.flatnonzero(self.firm_pool == NO_POOL)
        share = target / total if total > 0 else target
        value = self._values(rest, h[rest], share, total, current=None)
        self.asc = self._calibrated_constants(rest, h[rest], value, share)
        prob = self._probabilities(self.asc[self.m.firms.size_class[rest]], value)
        room = target.copy()
        u = self.rng.random(rest.size)
        for k in np.argsort(-h[rest], kind="stable"):  # set-up only: largest firms first
            fits = prob[k] * (room >= h[rest][k])
            q = fits if fits.sum() > 0 else prob[k]
            p = int(np.searchsorted(np.cumsum(q / q.sum()), u[k] * (1 - 1e-12)))
            self.firm_pool[rest[k]] = p
            room[p] -= h[rest][k]
        self.world_w0 = np.maximum(room, 0.0) * public
        if self.world_w0.sum() <= 0:
            self.world_w0 = target.copy()
        self.world_w0 /= self.world_w0.sum()
        self.hashrate_ths = self._hashrate(h, world)
        self._share0_net = self.hashrate_ths / total if total > 0 else self.share0.copy()
        self.reserve_btc = (
            self.cfg.reserve_days
            * chain.BLOCKS_PER_DAY
            * (chain.subsidy_btc(m.chain.height + 1) + m.params.fees.base_btc_per_block)
            * self.hashrate_ths
            / max(total, 1e-300)
        )
        self.fee_competitors0 = competitors_mean_fee(self.fee0, self.hashrate_ths, public)
        self._update_mean_fee()
        self.started = True

    def on_new_firms(self, rows: np.ndarray) -> None:
        """Firms added after day one (entrants, later sovereigns) draw a pool (or join their
        owner's own pool)."""
        if not self.started:
            return
        t = self.m.firms
        self.firm_pool = np.concatenate(
            [self.firm_pool, np.full(t.n - self.firm_pool.size, NO_POOL, dtype=np.intp)]
        )
        self._choose(rows, np.ones(rows.size, dtype=bool), switching=False)

    def on_acquired(self, buyer: int, members: np.ndarray) -> None:
        """One group, one pool: when a group that runs its own pool takes over firms that ran
        one too, the acquired pools close and their miners join the buyer's; when only the
        acquired firms ran one, the buyer's firms join it."""
        if not self.started:
            return
        t = self.m.firms
        owned = self._owned()
        acquired = owned & np.isin(self.owner, members)
        group = t.ultimate_owner[np.maximum(self.owner, 0)] == t.ultimate_owner[buyer]
        if (owned & group & ~acquired).any():  # the buyer's group runs a pool of its own
            for p in np.flatnonzero(acquired):
                self.close(int(p))
        elif acquired.any():  # the acquired pool is now the group's: the buyer's firms join
            rows = np.flatnonzero(t.active & (t.ultimate_owner == t.ultimate_owner[buyer]))
            self._choose(rows, np.zeros(rows.size, dtype=bool), switching=False)

    def on_exit(self, row: int) -> None:
        """A firm that owns a pool has left: its pool closes and its miners choose again."""
        if self.started:
            for p in np.flatnonzero((self.owner == row) & (self.status == OPEN)):
                self.close(int(p))

    # -- the values of pools to miners ----------------------------------------------------------
    def _public(self) -> np.ndarray:
        return (self.owner == INDEPENDENT) & (self.status == OPEN)

    def _owned(self) -> np.ndarray:
        return (self.owner != INDEPENDENT) & (self.status == OPEN)

    def risk_aversion(self, rows: np.ndarray) -> np.ndarray:
        """Each firm's aversion to payout variance by its size class [-]."""
        c = self.cfg
        table = np.zeros(4)
        table[[SMALL, MEDIUM, LARGE, SOVEREIGN_CLASS]] = (
            c.risk_aversion_small,
            c.risk_aversion_medium,
            c.risk_aversion_large,
            c.risk_aversion_sovereign,
        )
        return table[self.m.firms.size_class[rows]]

    def _values(
        self,
        rows: np.ndarray,
        ths: np.ndarray,
        share: np.ndarray,
        total_ths: float,
        current: np.ndarray | None,
    ) -> np.ndarray:
        """Value of each independent pool to each firm in `rows` (firms x pools; -inf for pools
        it cannot join): net payout less its risk aversion x the variance it would bear, with
        the pool's share counting the firm in; `current` (each firm's pool) adds the switching
        cost to staying."""
        x = ths / total_ths if total_ths > 0 else np.zeros(rows.size)
        inside = (
            (current[:, None] == np.arange(self.n)[None, :])
            if current is not None
            else np.zeros((rows.size, self.n), dtype=bool)
        )
        s = share[None, :] + np.where(inside, 0.0, x[:, None])
        var = payout_variance(self.scheme[None, :], s)
        v = payout_value(self.fee[None, :], var, self.risk_aversion(rows)[:, None])
        if current is not None:
            v = v + self.cfg.switching_cost * inside
        ok = self._public()[None, :]
        if self.cap < 1.0:  # a pool at the cap takes no new hashrate
            ok = ok & ~((s > self.cap + 1e-12) & ~inside)
        return np.where(ok, v, -np.inf)

    def _calibrated_constants(
        self, rows: np.ndarray, ths: np.ndarray, value: np.ndarray, share: np.ndarray
    ) -> np.ndarray:
        """Alternative-specific constants by size class (classes x pools) [share of revenue]:
        noise x log(calibrated share) less the class's hashrate-weighted mean value of the pool,
        so that on day one each class's logit probabilities are the calibrated shares (up to
        the spread of values within the class; Train 2009, sec. 2.8). Owned pools get 0 (they
        are no public choice)."""
        public = self._public()
        classes = self.m.firms.size_class[rows]
        with np.errstate(divide="ignore"):
            log_share = self.cfg.choice_noise * np.log(np.maximum(share, 1e-300))
        v = np.where(public[None, :], value, 0.0)
        overall = (ths @ v) / ths.sum() if ths.sum() > 0 else v.mean(axis=0)
        out = np.zeros((len(SIZE_CLASSES), self.n))
        for c in range(len(SIZE_CLASSES)):  # four classes
            k = classes == c
            w = ths[k].sum()
            mean = (ths[k] @ v[k]) / w if w > 0 else overall
            out[c] = np.where(public, log_share - mean, 0.0)
        return out

    def _probabilities(self, asc: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Logit choice probabilities of the pools (firms x pools) given each firm's constants
        (firms x pools)."""
        u = (asc + value) / self.cfg.choice_noise
        top = np.max(u, axis=1, keepdims=True)
        e = np.where(np.isfinite(u), np.exp(u - np.where(np.isfinite(top), top, 0.0)), 0.0)
        total = e.sum(axis=1, keepdims=True)
        even = np.broadcast_to(self._public() / max(self._public().sum(), 1), e.shape)
        return np.where(total > 0, e / np.where(total > 0, total, 1.0), even)

    def _group_pool(self, rows: np.ndarray) -> np.ndarray:
        """The open own pool of each firm's owner group, NO_POOL if none."""
        t = self.m.firms
        out = np.full(rows.size, NO_POOL, dtype=np.intp)
        for p in np.flatnonzero(self._owned()):  # a handful of own pools
            out[t.ultimate_owner[rows] == t.ultimate_owner[self.owner[p]]] = p
        return out

    def _choose(self, rows: np.ndarray, reconsider: np.ndarray, switching: bool) -> None:
        """Firms in `rows` whose owner group runs a pool join it; the others that `reconsider`
        draw a pool from the logit (Gumbel-max), with the switching cost if `switching`."""
        if rows.size == 0:
            return
        group = self._group_pool(rows)
        has = group != NO_POOL
        self.firm_pool[rows[has]] = group[has]
        pick = rows[~has & reconsider]
        if pick.size == 0 or not self._public().any():
            return
        t = self.m.firms
        total = float(self.hashrate_ths.sum())
        share = self.hashrate_ths / total if total > 0 else self.share0
        ths = t.running_ths[pick]
        current = self.firm_pool[pick] if switching else None
        value = self._values(pick, ths, share, total, current)
        u = (self.asc[t.size_class[pick]] + value) / self.cfg.choice_noise
        u = u + self.rng.gumbel(size=u.shape)
        new = np.argmax(u, axis=1)
        ok = np.isfinite(u[np.arange(pick.size), new])
        before = self.firm_pool[pick]
        self.firm_pool[pick[ok]] = new[ok]
        self.n_switches += int(((before != self.firm_pool[pick]) & (before >= 0)).sum())

    # -- the day --------------------------------------------------------------------------------
    def daily(self, phase: str, today: Today) -> None:
        """Phase events: pool exits, fee wars, share caps, bans that shut pools; phase decide:
        pools fail or revise fees, firms due for review choose pools, owners large enough open
        their own, the share cap turns hashrate away."""
        if not self.started:
            return
        d = today.day
        if phase == "events":
            for e in self._events.get(d, ()):
                self._event(e, d)
            return
        for p in np.flatnonzero((self.status == OPEN) & (self.scheme == FPPS)):
            if self.reserve_btc[p] < 0:
                self.close(int(p))
        if d % self.cfg.fee_period_days == 0 and d > 0:
            self.revise_fees(d)
        t = self.m.firms
        cadence = self.m.params.behaviour.review_cadence_days
        due = np.flatnonzero(t.active & ((d + t.review_offset) % cadence == 0))
        if due.size:
            self._open_own_pools(due)
            self._choose(due, self.rng.random(due.size) < self.cfg.switch_prob, switching=True)
        if self.cap < 1.0:
            self._enforce_cap()

    def _event(self, e: Any, d: int) -> None:
        """Apply a scheduled pool event of day `d`."""
        if isinstance(e, PoolExit):
            self.close(self.names.index(e.pool))
        elif isinstance(e, PoolFeeWar):
            named = [self.names.index(n) for n in e.pools] or list(
                np.flatnonzero(self.owner == INDEPENDENT)
            )
            self.fee[named] = e.fee
            self.war_until[named] = d + e.days
        elif isinstance(e, PoolShareCap):
            self.cap = e.cap
        else:  # a full regional ban that shuts the pools headquartered there
            regions = list(self.m.params.firms.region_mix)
            hit = np.arange(len(regions)) if e.region == "all" else [regions.index(e.region)]
            for p in np.flatnonzero(np.isin(self.region, hit) & (self.status == OPEN)):
                self.close(int(p))
        self._update_mean_fee()

    def close(self, p: int) -> None:
        """Pool p closes: its firms choose again at once (no switching cost), the world's
        weights spread over the pools still open."""
        if self.status[p] == CLOSED:
            return
        self.status[p] = CLOSED
        self.n_closed += 1
        self.hashrate_ths[p] = 0.0
        rows = np.flatnonzero(self.firm_pool == p)
        self.firm_pool[rows] = NO_POOL
        self._choose(rows, np.ones(rows.size, dtype=bool), switching=False)
        self._update_mean_fee()

    def revise_fees(self, d: int) -> None:
        """Open independent pools not in a fee war move part-way to their target fees."""
        c = self.cfg
        public = self._public()
        total = self.hashrate_ths.sum()
        share = self.hashrate_ths / total if total > 0 else self.share0
        comp = competitors_mean_fee(self.fee, self.hashrate_ths, public)
        target = fee_targets(
            self.fee0,
            share,
            self.share0_network(),
            comp,
            self.fee_competitors0,
            c.fee_size_slope,
            c.fee_competition,
        )
        free = public & (self.war_until <= d)
        new = np.clip(self.fee + c.fee_adjust * (target - self.fee), 0.0, c.fee_max)
        self.fee = np.where(free, new, self.fee)
        self._update_mean_fee()

    def share0_network(self) -> np.ndarray:
        """Each pool's share of network hashrate at the start (its fee rule's anchor) [0-1]."""
        return self._share0_net

    def _open_own_pools(self, due: np.ndarray) -> None:
        """Owners due for review (independent, with at least ``own_pool_min_share`` of the
        network with their subsidiaries, and no own pool) open their own PPLNS pool when its
        value (no fee but its running cost, the owner's own luck) beats the best independent
        pool's."""
        t, c = self.m.firms, self.cfg
        total = float(self.hashrate_ths.sum())
        if total <= 0:
            return
        owners = due[(t.ultimate_owner[due] == due) & (self._group_pool(due) == NO_POOL)]
        if owners.size == 0:
            return
        group = np.bincount(
            t.ultimate_owner[t.active], weights=t.running_ths[t.active], minlength=t.n
        )
        x = group[owners] / total
        big = x >= c.own_pool_min_share
        owners, x = owners[big], x[big]
        if owners.size == 0:
            return
        rho = self.risk_aversion(owners)
        own = payout_value(c.own_pool_cost, payout_variance(np.full(x.size, PPLNS), x), rho)
        best = self._values(owners, group[owners], self.hashrate_ths / total, total, None).max(1)
        for r in owners[own > best]:  # rare: an owner crossing the threshold
            self._add_pool(int(r))
            group_rows = np.flatnonzero(t.active & (t.ultimate_owner == r))
            self._choose(group_rows, np.zeros(group_rows.size, dtype=bool), switching=False)

    def _add_pool(self, owner: int) -> None:
        """A new own pool for firm `owner` (PPLNS, its running cost as fee)."""
        t = self.m.firms
        self.names.append(f"{t.name[owner]} Pool")
        self.owner_name.append(t.name[owner])
        grow = {
            "scheme": PPLNS,
            "fee": self.cfg.own_pool_cost,
            "fee0": self.cfg.own_pool_cost,
            "share0": 0.0,
            "_share0_net": 0.0,
            "region": t.region[owner],
            "owner": owner,
            "status": OPEN,
            "template": self.n - 1,
            "world_w0": 0.0,
            "reserve_btc": 0.0,
            "war_until": -1,
            "fee_competitors0": self.cfg.own_pool_cost,
            "hashrate_ths": 0.0,
        }
        for k, v in grow.items():
            a = getattr(self, k)
            setattr(self, k, np.append(a, np.array(v, dtype=a.dtype)))
        self.asc = np.concatenate([self.asc, np.zeros((self.asc.shape[0], 1))], axis=1)
        self.n_opened += 1

    def _enforce_cap(self) -> None:
        """Pools whose firms alone hold more than the cap turn away their smallest firms
        (which choose among the pools with room); the world's part is capped in `pay`."""
        t = self.m.firms
        total = float(self.hashrate_ths.sum())
        if total <= 0:
            return
        ths = np.where(t.active, t.running_ths, 0.0)
        firm_by_pool = np.bincount(self.firm_pool.clip(0), weights=ths, minlength=self.n)
        limit = self.cap * total
        for p in np.flatnonzero(firm_by_pool > limit):  # a few pools, on the days it binds
            rows = np.flatnonzero(self.firm_pool == p)
            rows = rows[np.argsort(-ths[rows], kind="stable")]
            keep = np.cumsum(ths[rows]) <= limit
            out = rows[~keep]
            self.hashrate_ths[p] = float(ths[rows[keep]].sum())
            self.firm_pool[out] = NO_POOL
            self._choose(out, np.ones(out.size, dtype=bool), switching=False)
            self.n_switches += out.size

    # -- mine -------------------------------------------------------------------------------------
    def _world_weights(self, firm_ths: np.ndarray, world_ths: float) -> np.ndarray:
        """Share of the world's hashrate in each pool: day-one weights over the open independent
        pools, moved by their fee changes, within the cap."""
        w = (
            self.world_w0
            * self._public()
            * np.exp(-self.cfg.world_fee_sensitivity * (self.fee - self.fee0))
        )
        if w.sum() <= 0:
            w = self._public().astype(float)
        if w.sum() <= 0:
            return w
        w = w / w.sum()
        if self.cap < 1.0 and world_ths > 0:
            room = np.maximum(self.cap * (firm_ths.sum() + world_ths) - firm_ths, 0.0) / world_ths
            w = cap_weights(w, room)
        return w

    def _hashrate(self, by_firm_ths: np.ndarray, world_ths: float) -> np.ndarray:
        """Hashrate pointing to each pool [TH/s] (firms with no pool mine in none)."""
        fp = self.firm_pool
        ok = fp >= 0
        firm = np.bincount(fp[ok], weights=by_firm_ths[: fp.size][ok], minlength=self.n)
        return firm + world_ths * self._world_weights(firm, world_ths)

    def pay(
        self,
        env: Environment,
        op: Operation,
        n_blocks: int,
        expected_blocks: float,
        reward_btc: float,
    ) -> PoolDay:
        """The day's blocks fall to the pools by hashrate (multinomial given the Poisson total:
        independent Poisson draws by pool; the expected split without block luck); each pool
        pays its miners by its scheme; firms are paid by their hashrate in their pool, the
        world by its hashrate in each."""
        fp, ths = self.firm_pool, op.by_firm_ths
        ok = fp >= 0
        firm = np.bincount(fp[ok], weights=ths[: fp.size][ok], minlength=self.n)
        w = self._world_weights(firm, op.world_ths)
        world = op.world_ths * w
        h = firm + world
        total = float(h.sum())
        self.hashrate_ths = h
        share = h / total if total > 0 else np.zeros(self.n)
        if self.m.params.protocol.block_luck and n_blocks > 0 and total > 0:
            blocks = self.rng.multinomial(n_blocks, share).astype(float)
        else:
            blocks = n_blocks * share
        per_block = (
            reward_btc / n_blocks if n_blocks > 0 else env.subsidy_btc + env.fee_btc_per_block
        )
        paid, fees, luck = pool_payouts(
            self.scheme, self.fee, blocks, expected_blocks * share, per_block
        )
        unpooled = reward_btc - float(blocks.sum()) * per_block if total <= 0 else 0.0
        self.reserve_btc += fees + luck
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(h > 0, paid / h, 0.0)  # [BTC per TH/s]
        by_firm = np.zeros(ths.size)
        by_firm[: fp.size][ok] = ths[: fp.size][ok] * rate[fp[ok]]
        to_world = float(world @ rate)
        luck_btc = float(luck.sum()) + unpooled  # (blocks nobody's pool found: none in a pool)
        self._record(env.day, h, blocks, total, luck_btc, float(fees.sum()))
        self._update_mean_fee()
        return PoolDay(h, blocks, paid, float(fees.sum()), luck_btc, by_firm, to_world)

    def _update_mean_fee(self) -> None:
        total = self.hashrate_ths.sum()
        if total > 0:
            self.mean_fee = float(self.hashrate_ths @ self.fee / total)

    # -- outputs ----------------------------------------------------------------------------------
    def _record(
        self, d: int, h: np.ndarray, blocks: np.ndarray, total: float, luck: float, fees: float
    ) -> None:
        """The day's pool series (by template builder) and the pools' row of the pool table."""
        self._days.append((h.copy(), blocks.copy(), self.fee.copy()))
        builders = np.bincount(self.template, weights=h, minlength=self.n)
        conc = metrics.concentration(builders, self.m.params.run.nakamoto_threshold, 4, 0.0)
        top = int(np.argmax(builders))
        found = blocks.sum()
        by_builder = np.bincount(self.template, weights=blocks, minlength=self.n)
        row = self._daily
        row["hhi_pool"][d] = conc["hhi"]
        row["nakamoto_pool"][d] = conc["nakamoto"]
        row["cr4_pool"][d] = conc["cr4"]
        row["entropy_pool"][d] = conc["entropy"]
        row["top_pool_share"][d] = builders[top] / total if total > 0 else 0.0
        row["top_pool_block_share"][d] = by_builder[top] / found if found > 0 else np.nan
        row["pools_open"][d] = np.count_nonzero(self.status == OPEN)
        row["pool_fee_mean"][d] = h @ self.fee / total if total > 0 else np.nan
        row["pool_fees_btc"][d] = fees
        row["pool_luck_btc"][d] = luck

    def daily_columns(self, n_days: int) -> dict[str, np.ndarray]:
        """The pool columns of the time series for the first `n_days` days (none when off)."""
        if not self.enabled:
            return {}
        return {c: v[:n_days] for c, v in self._daily.items()}

    def _stacked(self, k: int) -> np.ndarray:
        """Days x pools of the k-th daily record (0 hashrate, 1 blocks, 2 fee), pools opened
        later padded with 0."""
        n = self.n
        return np.stack([np.pad(x[k], (0, n - x[k].size)) for x in self._days])

    def share_frame(self) -> pd.DataFrame:
        """Each pool's share of network hashrate by day: a date column and one per pool [0-1]
        (no pool columns with pools off)."""
        if not self._days:
            return pd.DataFrame({"date": pd.to_datetime([]), **{k: [] for k in self.names}})
        h = self._stacked(0)
        total = h.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, h / total, 0.0)
        df = pd.DataFrame(share, columns=self.names)
        df.insert(0, "date", pd.date_range(self.m.start_date, periods=len(df), freq="D"))
        return df

    def table(self) -> pd.DataFrame:
        """One row per pool and day: hashrate, share, blocks and fee (POOL_TABLE_COLUMNS)."""
        cols = list(POOL_TABLE_COLUMNS)
        if not self._days:
            return pd.DataFrame({c: [] for c in cols})
        n = self.n
        h, b, f = self._stacked(0), self._stacked(1), self._stacked(2)
        days = np.repeat(np.arange(h.shape[0]), n)
        total = h.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, h / total, 0.0)
        return pd.DataFrame(
            {
                "day": days,
                "date": pd.Timestamp(self.m.start_date) + pd.to_timedelta(days, "D"),
                "pool": np.tile(np.array(self.names, dtype=object), h.shape[0]),
                "scheme": np.tile(np.array(SCHEMES, dtype=object)[self.scheme], h.shape[0]),
                "owner_id": np.tile(self.owner, h.shape[0]),
                "hashrate_ehs": h.ravel() / 1e6,
                "share": share.ravel(),
                "blocks": b.ravel(),
                "fee": f.ravel(),
            }
        )

    def summary(self) -> dict[str, Any]:
        """Pool-level figures: block shares of the first and the last year by pool and of the
        largest template builder, and the pools' fates."""
        if not self.enabled or not self._days:
            return {}
        n = self.n
        b = self._stacked(1)

        def by_pool(rows: np.ndarray) -> np.ndarray:
            tot = rows.sum()
            return rows.sum(axis=0) / tot if tot > 0 else np.zeros(n)

        def shares(rows: np.ndarray) -> dict[str, float]:
            return {name: float(v) for name, v in zip(self.names, by_pool(rows), strict=True)}

        def top(rows: np.ndarray) -> float:
            return float(np.bincount(self.template, weights=by_pool(rows), minlength=n).max())

        return {
            "pool_block_shares_first_year": shares(b[:365]),
            "pool_block_shares_last_year": shares(b[-365:]),
            "top_pool_block_share_first_year": top(b[:365]),
            "top_pool_block_share_last_year": top(b[-365:]),
            "pools_closed": self.n_closed,
            "pools_opened": self.n_opened,
            "pool_switches": self.n_switches,
        }
