"""The EMA workbench connector: the model as an ``ema_workbench`` model.

Uncertainties and levers are dotted scenario paths with ranges in the sweep specification's
format (:class:`abm.sweeps.spec.ParamRange`: ``low``/``high`` sample a real or integer
parameter, ``levels`` a categorical one); outcomes are numeric metrics of the run summary
(scalar outcomes) and daily series (time-series outcomes, every ``cadence_days``, with EMA's
``TIME`` outcome holding the day); replications are seeds, the same for every experiment
(common random numbers, as a sweep with ``common_seeds``)::

    from abm import ema
    model = ema.build_model(
        uncertainties={"energy.median_price_usd_per_mwh": {"low": 35, "high": 60},
                       "price.drift_per_year": {"low": -0.2, "high": 0.5}},
        levers={"finance.rate_small": {"levels": [0.08, 0.16, 0.24]}},
        outcomes=["small_firm_survival", "hhi_owner_end"], series=["hhi_owner"],
        replications=3, years=2.0)
    experiments, outcomes = ema.perform(model, scenarios=20, workers=2)

EMA names parameters by Python identifiers: a path's dots become ``__``
(``energy__median_price_usd_per_mwh``), the keyword form of
:func:`abm.mesa_compat.kwarg_name`. With ``aggregate`` (default: the mean) each outcome is
the aggregate over the replications, one value (or series) per experiment, as PRIM and
feature scoring take it; with ``aggregate=None`` the outcomes keep every replication
(experiments x replications [x time]: scalar outcomes become ``ArrayOutcome``), for EMA's
``process_replications``.

``perform`` runs on EMA's ``SequentialEvaluator`` (``workers=1``) or
``MultiprocessingEvaluator`` (one BLAS thread per worker, as the sweep backends). EMA has no
Dask evaluator: for a cluster, write the same ranges as a sweep specification
(``[parameters."path"]``), run ``abm sweep SPEC --scheduler tcp://HOST:8786`` (or
``--scheduler local``; :mod:`abm.sweeps.backends`), then load the runs as EMA results with
:func:`from_sweep` for EMA's analyses, or run ``abm discover`` on the sweep.
"""

from __future__ import annotations

import functools
import multiprocessing
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # its optional cluster backend: not used here
    warnings.filterwarnings("ignore", message="ipyparallel not installed")
    from ema_workbench import (
        ArrayOutcome,
        CategoricalParameter,
        IntegerParameter,
        MultiprocessingEvaluator,
        RealParameter,
        ReplicatorModel,
        ScalarOutcome,
        SequentialEvaluator,
        TimeSeriesOutcome,
    )
    from ema_workbench.em_framework import outcomes as outcomes_module

from abm.mesa_compat import kwarg_name, overrides_from_kwargs
from abm.recorder import SERIES_DOCS
from abm.runner import run
from abm.scenario import Scenario, load_scenario
from abm.sweeps.analysis import HEADLINE
from abm.sweeps.backends import one_blas_thread_per_process
from abm.sweeps.spec import (
    ParamRange,
    SweepSpec,
    SweepSpecError,
    load_spec,
    resolve_parameters,
    summary_metrics,
)
from abm.sweeps.tasks import run_seed

__all__ = ["RunFunction", "build_model", "from_spec", "from_sweep", "kwarg_name", "perform"]

Ranges = Mapping[str, ParamRange | Mapping[str, Any]]


@dataclass(frozen=True)
class RunFunction:
    """The function EMA calls for one replication of an experiment (picklable, so it runs in
    worker processes): the base scenario with the experiment's parameters, run to its horizon.

    Returns each summary metric of `outcomes`, each daily column of `series` every
    `cadence_days` (a float array), and ``TIME``, the days of those series.
    """

    base: Scenario
    outcomes: tuple[str, ...]
    series: tuple[str, ...] = ()
    cadence_days: int = 30

    def __call__(self, seed: int, **params: Any) -> dict[str, Any]:
        r = run(self.base.with_overrides(overrides_from_kwargs(params)), seed=int(seed))
        out: dict[str, Any] = {k: float(r.summary[k]) for k in self.outcomes}
        if self.series:
            ts = r.timeseries.iloc[:: self.cadence_days]
            out["TIME"] = ts.index.to_numpy(float)
            out.update({c: ts[c].to_numpy(float) for c in self.series})
        return out


def _ranges(ranges: Ranges | None) -> dict[str, ParamRange]:
    try:
        return {
            p: r if isinstance(r, ParamRange) else ParamRange.model_validate(r)
            for p, r in (ranges or {}).items()
        }
    except ValueError as err:
        raise SweepSpecError(f"ema: invalid parameter range: {err}") from None


def _parameter(path: str, r: ParamRange) -> Any:
    """The EMA parameter of a range: categorical for levels, integer or real for low/high."""
    name = kwarg_name(path)
    if r.levels is not None:
        return CategoricalParameter(name, r.levels)
    if r.integer:
        return IntegerParameter(name, round(r.low), round(r.high))
    return RealParameter(name, r.low, r.high)


def build_model(
    scenario: Scenario | str | Path | None = None,
    uncertainties: Ranges | None = None,
    levers: Ranges | None = None,
    outcomes: Iterable[str] = HEADLINE,
    series: Iterable[str] = (),
    replications: int = 1,
    root_seed: int = 0,
    years: float | None = None,
    cadence_days: int = 30,
    aggregate: Callable[..., Any] | None = np.mean,
    name: str = "abm_mining",
) -> ReplicatorModel:
    """An ``ema_workbench.ReplicatorModel`` of a scenario (default: the calibrated baseline).

    Args:
        scenario: the base scenario, or its TOML file.
        uncertainties: {dotted path: range} in the sweep spec's format (``low``/``high`` or
            ``levels``); an integer scenario parameter gets an integer parameter.
        levers: the same for the policy levers.
        outcomes: numeric metrics of the run summary (scalar outcomes).
        series: daily columns (:data:`abm.recorder.DAILY_COLUMNS`) as time-series outcomes.
        replications: seeds per experiment, spawned from `root_seed` as a sweep's common seeds.
        years: horizon override [years].
        cadence_days: keep every N-th day of the series [days].
        aggregate: reduces the replications of each outcome (default mean; None keeps them).
        name: the EMA model's name (a Python identifier).

    Raises:
        SweepSpecError: a range, an outcome or a series name is invalid.
    """
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if years is not None:
        base = base.with_overrides({"run.years": years})
    unc, lev = _ranges(uncertainties), _ranges(levers)
    if not unc and not lev:
        raise SweepSpecError("ema: give at least one uncertainty or lever")
    if both := unc.keys() & lev.keys():
        raise SweepSpecError(f"ema: {sorted(both)} are both uncertainties and levers")
    for where, ranges in (("uncertainties", unc), ("levers", lev)):
        resolve_parameters(ranges, base, None, f"ema: {where}")
    outcomes, series = tuple(outcomes), tuple(series)
    if unknown := [c for c in series if c not in SERIES_DOCS or c == "date"]:
        raise SweepSpecError(f"ema: unknown series {unknown} (see abm.recorder.DAILY_COLUMNS)")
    known = summary_metrics(base)
    if known is not None and (unknown := [o for o in outcomes if o not in known]):
        raise SweepSpecError(
            f"ema: {unknown} are not numeric summary metrics (e.g. {', '.join(sorted(known)[:6])})"
        )
    if replications < 1:
        raise SweepSpecError(f"ema: replications must be >= 1, got {replications}")

    model = ReplicatorModel(name, function=RunFunction(base, outcomes, series, cadence_days))
    model.uncertainties = [_parameter(p, r) for p, r in unc.items()]
    model.levers = [_parameter(p, r) for p, r in lev.items()]
    model.replications = [{"seed": run_seed(root_seed, 0, i)} for i in range(replications)]
    model.outcomes = [
        *(_outcome(ScalarOutcome, o, aggregate) for o in outcomes),
        *(_outcome(TimeSeriesOutcome, c, aggregate) for c in ("TIME", *series) if series),
    ]
    return model


def _outcome(kind: type, name: str, aggregate: Callable[..., Any] | None) -> Any:
    # EMA registers one outcome class per name and process (to save results): the model
    # built last defines it, so models with and without `aggregate` can share a process
    outcomes_module.register.outcomes.pop(name, None)
    if aggregate is None:  # keep the replications (a scalar outcome cannot hold them)
        return ArrayOutcome(name) if kind is ScalarOutcome else kind(name)
    if kind is TimeSeriesOutcome:  # replications x time -> time
        return kind(name, function=functools.partial(aggregate, axis=0))
    return kind(name, function=aggregate)


def from_spec(
    spec: SweepSpec | str | Path,
    levers: Ranges | None = None,
    outcomes: Iterable[str] = HEADLINE,
    **kwargs: Any,
) -> ReplicatorModel:
    """The EMA model of a sweep specification: its base scenario (with overrides and
    horizon), its parameters as uncertainties, its replications and root seed, and its kept
    series (``[outputs] keep = "timeseries"``). EMA samples the uncertainties itself: the
    spec's design is not used. Other keyword arguments go to :func:`build_model`."""
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    out = spec.outputs
    kwargs.setdefault("series", out.columns if out.keep == "timeseries" else ())
    kwargs.setdefault("cadence_days", out.cadence_days)
    return build_model(
        spec.base_scenario(),
        uncertainties=spec.parameters,
        levers=levers,
        outcomes=outcomes,
        replications=spec.replications,
        root_seed=spec.root_seed,
        name=kwarg_name(spec.name) if kwarg_name(spec.name).isidentifier() else "abm_mining",
        **kwargs,
    )


def perform(
    model: ReplicatorModel,
    scenarios: int | Iterable[Any] = 0,
    policies: int | Iterable[Any] = 0,
    workers: int = 1,
    **kwargs: Any,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Run EMA's experiments: ``(experiments, outcomes)``, as ``perform_experiments``.

    Args:
        model: from :func:`build_model` or :func:`from_spec`.
        scenarios: number of uncertainty samples (EMA's LHS by default) or the samples.
        policies: the same for the levers.
        workers: 1: ``SequentialEvaluator``; more: ``MultiprocessingEvaluator`` processes
            with one BLAS thread each.
        **kwargs: passed to ``perform_experiments`` (samplers, ``combine``, ...).
    """
    if workers > 1:
        with (
            _spawned_workers(),
            one_blas_thread_per_process(),
            MultiprocessingEvaluator(model, n_processes=workers) as evaluator,
        ):
            return evaluator.perform_experiments(scenarios, policies, **kwargs)
    with SequentialEvaluator(model) as evaluator:
        return evaluator.perform_experiments(scenarios, policies, **kwargs)


@contextmanager
def _spawned_workers() -> Iterator[None]:
    """Processes started inside this block are spawned, not forked (forking a process that
    holds threads can deadlock; EMA's pool takes the default start method)."""
    before = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn", force=True)
    try:
        yield
    finally:
        multiprocessing.set_start_method(before, force=True)


def from_sweep(sweep_dir: str | Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A sweep's successful runs as EMA results ``(experiments, outcomes)``: one experiment
    per run, its varied parameters as columns (named as EMA names them), and every numeric
    summary metric as a scalar outcome. For EMA's analyses of sweeps run on any backend."""
    from abm.discovery import sweep_runs

    runs, params, _ = sweep_runs(sweep_dir)
    experiments = runs[params].rename(columns=kwarg_name).reset_index(drop=True)
    experiments["seed"] = runs["seed"].to_numpy()
    skip = {"run_id", "point_id", "replication", "seed", "wall_time_s", *params}
    outcomes = {
        c: runs[c].to_numpy(float)
        for c in runs.columns
        if c not in skip and pd.api.types.is_numeric_dtype(runs[c])
    }
    return experiments, outcomes
