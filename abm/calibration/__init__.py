"""Calibration by simulated moments: ``abm calibrate SPEC.toml`` (:mod:`abm.calibration.calibrate`).

Stages of Latin-hypercube sweeps (:mod:`abm.sweeps`) over the parameters to fit, each narrowed
to the best points so far; every point scored by the standardised errors of the targets of
``abm/data/targets.toml`` (:mod:`abm.validation.targets`); the accepted points (every fitted
target within its tolerance) are the uncertainty set.
"""

from abm.calibration.calibrate import CalibrationResult, calibrate
from abm.calibration.spec import CalibrationSpec, load_calibration_spec

__all__ = ["CalibrationResult", "CalibrationSpec", "calibrate", "load_calibration_spec"]
