"""Interactive visualisation: a Mesa SolaraViz page (:mod:`abm.viz.app`, started by
``abm viz``) and Plotly figure builders (:mod:`abm.viz.charts`)."""

SCENARIO_ENV = "ABM_VIZ_SCENARIO"  # path of the page's starting scenario (unset: the baseline)

__all__ = ["SCENARIO_ENV"]
