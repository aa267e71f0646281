"""abm: an agent-based model of Bitcoin-mining industry consolidation on a vectorised Mesa engine.

Public API::

    from abm import Scenario, MiningIndustry, run, load_scenario
    result = run(seed=1)                 # the calibrated 2026 baseline, 10 years
    result.timeseries, result.firms, result.summary
"""

from abm.model import MiningIndustry
from abm.runner import RunResult, run
from abm.scenario import Scenario, ScenarioError, load_scenario


def __getattr__(name: str):
    # abm.sweep imports scipy.stats (designs, Sobol indices): load it only when used
    if name == "sweep":
        from abm.sweeps import sweep

        return sweep
    raise AttributeError(f"module 'abm' has no attribute {name!r}")


__all__ = [
    "MiningIndustry",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run",
    "sweep",
]
__version__ = "0.1.0"
