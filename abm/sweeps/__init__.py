"""Experiments at scale: sweep specifications, designs, backends and a resumable store.

from abm import sweep
result = sweep("experiments/sweep_price_energy.toml", "results/spe", workers=2)
result.runs, result.summary_by_point, result.sobol
"""

from abm.sweeps.spec import SweepSpec, SweepSpecError, load_spec
from abm.sweeps.sweep import SweepResult, sweep

__all__ = ["SweepResult", "SweepSpec", "SweepSpecError", "load_spec", "sweep"]
