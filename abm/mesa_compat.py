"""Mesa's conventions on the model: scenario overrides as keyword arguments, and a
``mesa.DataCollector`` over the recorder's daily series.

Keyword arguments name dotted scenario paths with ``__`` for the dots, so Mesa's
``batch_run`` (and the EMA workbench, :mod:`abm.ema`) sweep scenario parameters as
model arguments::

    MiningIndustry(price__drift_per_year=0.3)      # = {"price.drift_per_year": 0.3}
    mesa.batch_run(MiningIndustry, parameters={"rng": [1, 2],
                                               "price__drift_per_year": [0.1, 0.3]},
                   max_steps=20)

The collector does not collect a second time: :class:`RecorderCollector` reads the
recorder's preallocated daily arrays, which the model fills in every step anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

if TYPE_CHECKING:
    from abm.model import MiningIndustry

__all__ = ["RecorderCollector", "kwarg_name", "overrides_from_kwargs"]

SEP = "__"


def kwarg_name(path: str) -> str:
    """The keyword (and Python identifier) of a dotted scenario path: ``a.b`` -> ``a__b``."""
    return path.replace(".", SEP)


def overrides_from_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Dotted-path overrides from keyword arguments: ``{"a__b": v}`` -> ``{"a.b": v}``."""
    return {k.replace(SEP, "."): v for k, v in kwargs.items()}


def _daily_value(model: MiningIndustry, column: str) -> float:
    """Model reporter: the recorder's value of `column` for the last simulated day."""
    return float(model.recorder.daily[column][model.day - 1]) if model.day else float("nan")


class RecorderCollector(mesa.DataCollector):
    """A ``mesa.DataCollector`` whose model variables are the recorder's daily series.

    Each model reporter (one per numeric column of :data:`abm.recorder.DAILY_COLUMNS`) reads
    the recorder's value of the last simulated day. The collected values are not copied step
    by step: ``model_vars`` and the collection steps (Mesa's ``model.time`` after each step:
    1, 2, ...) are views of the days simulated so far, so they equal what calling every
    reporter after every step would have collected. ``collect`` is therefore a no-op.
    """

    def __init__(self, model: MiningIndustry) -> None:
        self._model = model
        self._vars: tuple[int, dict[str, list[float]]] = (-1, {})
        super().__init__(
            model_reporters={c: [_daily_value, [model, c]] for c in model.recorder.daily}
        )

    # DataCollector.__init__ assigns both; the recorder holds the data instead
    @property
    def model_vars(self) -> dict[str, list[float]]:
        n = self._model.day
        if self._vars[0] != n:  # made once per simulated day, however often it is read
            self._vars = (n, {c: v[:n].tolist() for c, v in self._model.recorder.daily.items()})
        return self._vars[1]

    @model_vars.setter
    def model_vars(self, _: Any) -> None:
        pass

    @property
    def _collection_steps(self) -> list[int]:
        return list(range(1, self._model.day + 1))

    @_collection_steps.setter
    def _collection_steps(self, _: Any) -> None:
        pass

    def collect(self, model: MiningIndustry) -> None:
        """Nothing to do: the model's recorder records every day as it is simulated."""
