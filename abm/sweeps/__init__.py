"""Experiments at scale: sweep specifications, designs, backends and a resumable store."""

from abm.sweeps.spec import SweepSpec, SweepSpecError, load_spec
from abm.sweeps.sweep import SweepResult, sweep

__all__ = ["SweepResult", "SweepSpec", "SweepSpecError", "load_spec", "sweep"]
