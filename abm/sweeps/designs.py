"""Designs of experiments: full grid, Latin hypercube, Sobol/Saltelli. Each returns a list of
design points, a point being {dotted path: value}."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.stats import qmc

from abm.sweeps.spec import SweepSpec


def grid(levels: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Full factorial: every combination of the levels (product of their counts)."""
    keys = list(levels)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*levels.values())]


def latin_hypercube(bounds: dict[str, tuple[float, float]], n: int, seed: int) -> np.ndarray:
    """n points, exactly one in each of n equal strata of every dimension (n x d array)."""
    sampler = qmc.LatinHypercube(d=len(bounds), rng=np.random.default_rng(seed))
    lo = np.array([b[0] for b in bounds.values()])
    hi = np.array([b[1] for b in bounds.values()])
    return qmc.scale(sampler.random(n), lo, hi)


def saltelli(
    bounds: dict[str, tuple[float, float]], n: int, second_order: bool, seed: int
) -> np.ndarray:
    """Saltelli's sampling for Sobol indices: N (2D + 2) points with second-order indices,
    N (D + 2) without (SALib)."""
    from SALib.sample import sobol

    return sobol.sample(problem(bounds), n, calc_second_order=second_order, seed=seed)


def problem(bounds: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """SALib's problem definition for these parameter bounds."""
    return {"num_vars": len(bounds), "names": list(bounds), "bounds": list(bounds.values())}


def points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The design points of a spec (values rounded where a parameter is integer)."""
    params = spec.parameters
    kind = spec.design.kind
    if kind == "grid":
        pts = grid({k: r.levels for k, r in params.items()})
    else:
        bounds = {k: (r.low, r.high) for k, r in params.items()}
        seed = spec.root_seed if spec.design.seed is None else spec.design.seed
        if kind == "lhs":
            x = latin_hypercube(bounds, spec.design.n, seed)
        else:
            x = saltelli(bounds, spec.design.n, spec.design.second_order, seed)
        pts = [dict(zip(bounds, (float(v) for v in row), strict=True)) for row in x]
    for p in pts:
        for k, r in params.items():
            if r.integer:
                p[k] = round(p[k])
    return pts
