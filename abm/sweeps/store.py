"""The results directory of a sweep: one small Parquet file per finished run, consolidated.

    spec.toml                       the resolved specification
    engine.json                     the engine that made the runs (code digest, version, commit)
    base_scenario.toml              the resolved base scenario (overrides and horizon applied)
    parts/run-000042.parquet        one row per finished run, written as it finishes
    timeseries/run-000042.parquet   optional per-run series on the spec's cadence
    runs.parquet                    all runs (consolidated from parts/)

Every file is written to a temporary name and moved into place (os.replace), so a killed
sweep leaves only whole files; a run counts as done once its part exists. ``engine.json``
records the engine that made the runs (:func:`abm.runner.engine_identity`);
:func:`abm.sweeps.sweep.sweep` adds no run to a directory whose runs another engine made, so one
directory never mixes two engines.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from abm.sweeps.spec import SweepSpec, SweepSpecError

__all__ = ["Store", "write_atomic"]

OUTPUTS = (
    "runs.parquet",
    "summary_by_point.csv",
    "sobol_indices.csv",
    "manifest.json",
    "engine.json",
)


def write_atomic(data: pd.DataFrame | str, path: Path) -> None:
    """Write a frame (Parquet, or CSV if the name ends .csv) or text via a temp file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if isinstance(data, str):
            Path(tmp).write_text(data)
        elif path.suffix == ".csv":
            data.to_csv(tmp, index=False)
        else:
            data.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Store:
    """A sweep's results directory."""

    def __init__(self, out_dir: str | Path) -> None:
        self.dir = Path(out_dir)
        self.parts = self.dir / "parts"
        self.series = self.dir / "timeseries"

    def open(self, spec: SweepSpec, force: bool = False) -> None:
        """Create the directory for `spec`, or check that it already holds `spec`.

        Raises SweepSpecError if it holds another specification (or unrelated files), unless
        `force`, which deletes the other sweep's results first.
        """
        spec_text, base_text = spec.to_toml(), spec.base_scenario().to_toml()
        if self.dir.exists() and not self._holds(spec_text, base_text):
            if not force:
                raise SweepSpecError(
                    f"{self.dir}: holds other results than this sweep specification "
                    "(use another directory, or --force / force=True to replace them)"
                )
            self.clear()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        if spec.outputs.keep == "timeseries":
            self.series.mkdir(exist_ok=True)
        for d in (self.dir, self.parts, self.series):
            for f in d.glob(".*.tmp"):  # left by a killed writer
                f.unlink()
        write_atomic(spec_text, self.dir / "spec.toml")
        write_atomic(base_text, self.dir / "base_scenario.toml")

    def made_by(self) -> dict:
        """The engine recorded for the finished runs ({} if none is, or it is unreadable)."""
        try:
            made = json.loads((self.dir / "engine.json").read_text())
        except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
            return {}
        return made if isinstance(made, dict) else {}

    def record_engine(self, engine: dict) -> None:
        write_atomic(json.dumps(engine, indent=2) + "\n", self.dir / "engine.json")

    def _holds(self, spec_text: str, base_text: str) -> bool:
        spec_file, base_file = self.dir / "spec.toml", self.dir / "base_scenario.toml"
        if not spec_file.exists():
            return not any(self.dir.iterdir())  # an empty directory is ours to use
        same_base = not base_file.exists() or base_file.read_text() == base_text
        return spec_file.read_text() == spec_text and same_base

    def clear(self) -> None:
        """Delete every run and output (the spec files stay)."""
        for d in (self.parts, self.series):
            for f in d.glob("*.parquet"):
                f.unlink()
        for name in OUTPUTS:
            (self.dir / name).unlink(missing_ok=True)

    def part(self, run_id: int) -> Path:
        return self.parts / f"run-{run_id:06d}.parquet"

    def done_ids(self) -> set[int]:
        """Run ids with a part on disk (finished, ok or failed)."""
        return {int(f.stem.removeprefix("run-")) for f in self.parts.glob("run-*.parquet")}

    def failed_ids(self) -> set[int]:
        runs = self.read_parts()
        return set() if runs.empty else set(runs.loc[runs["status"] != "ok", "run_id"])

    def forget(self, run_ids: set[int]) -> None:
        """Delete the parts (and series) of these runs, so they run again."""
        for rid in run_ids:
            self.part(rid).unlink(missing_ok=True)
            (self.series / f"run-{rid:06d}.parquet").unlink(missing_ok=True)

    def write_run(self, row: dict, series: pd.DataFrame | None) -> None:
        """Record a finished run: its series first, then its part (the run is then done)."""
        rid = int(row["run_id"])
        if series is not None:
            write_atomic(series, self.series / f"run-{rid:06d}.parquet")
        write_atomic(pd.DataFrame([row]), self.part(rid))

    def read_parts(self) -> pd.DataFrame:
        files = sorted(self.parts.glob("run-*.parquet"))
        if not files:
            return pd.DataFrame()
        frames = [pd.read_parquet(f) for f in files]
        return pd.concat(frames, ignore_index=True).sort_values("run_id", ignore_index=True)

    def consolidate(self) -> pd.DataFrame:
        """Write runs.parquet from the parts (one row per finished run) and return it."""
        runs = self.read_parts()
        write_atomic(runs, self.dir / "runs.parquet")
        return runs
