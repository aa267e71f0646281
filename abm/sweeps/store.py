"""The results directory of a sweep: one small Parquet file per finished run, consolidated.

    spec.toml                       the resolved specification
    engine.json                     the engine that made the runs (code digest, version, commit)
    base_scenario.toml              the resolved base scenario (overrides and horizon applied)
    parts/run-000042.parquet        one row per finished run, written as it finishes
    timeseries/run-000042.parquet   optional per-run series on the spec's cadence
    runs.parquet                    all runs (consolidated from parts/)
    manifest.json                   kind "sweep"; at the end, the record of runs.parquet
    corrupt/run-000042.parquet      a part found unreadable, moved aside (the run is done again)
    .lock                           held while a sweep writes here (abm.sweeps.lock)

A sweep writes only into a new or empty directory or one of its own (:func:`abm.outputs.check`),
and one sweep at a time (:class:`abm.sweeps.lock.DirectoryLock`). Every file is written to a
temporary name and moved into place (os.replace), so a killed sweep leaves only whole files; a
run counts as done once its part exists. A part that cannot be read back (e.g. truncated by a
full disk) or does not hold its run's row is moved to ``corrupt/`` with a warning, and its run
is done again; ``runs.parquet`` is built from valid parts only. ``engine.json`` records the
engine that made the runs (:func:`abm.runner.engine_identity`); :func:`abm.sweeps.sweep.sweep`
adds no run to a directory whose runs another engine made, so one directory never mixes two
engines.

**Stale runs.parquet.** At the end of a sweep ``manifest.json`` records ``runs_parquet``: the
number of parts, the SHA-256 of the parts (file names and bytes, in name order) and the SHA-256
of ``runs.parquet``. ``runs.parquet`` is current when both digests still match the files on
disk, and stale otherwise (:meth:`Store.stale`): no record (a sweep still running or
interrupted, or made by an older abm), ``runs.parquet`` changed, or a part added, removed or
changed since. ``abm report`` refuses a stale one; rerunning the sweep rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa

from abm.jsonio import json_text
from abm.outputs import check
from abm.sweeps.lock import DirectoryLock
from abm.sweeps.spec import SweepSpec, SweepSpecError

__all__ = ["Store", "write_atomic"]

# what `clear` deletes (manifest.json stays: it marks the directory as a sweep's; its record of
# runs.parquet no longer matches, so the directory reads as stale until the sweep ends)
OUTPUTS = ("runs.parquet", "summary_by_point.csv", "sobol_indices.csv", "engine.json")


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
        self.corrupt = self.dir / "corrupt"
        self.lock = DirectoryLock(self.dir)

    def open(self, spec: SweepSpec, manifest: dict, force: bool = False) -> None:
        """Lock the directory for `spec` (created if new), or check that it holds `spec`;
        `manifest` is written if the directory has none yet (it is then recognised as a sweep's).

        Raises:
            OutputError: the directory is not new, empty or a sweep's (abm.outputs), or another
                sweep is writing into it.
            SweepSpecError: it holds another specification, unless `force`, which deletes the
                other sweep's runs and outputs first.
        """
        check(self.dir, "sweep")
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "manifest.json").exists():  # first: the directory is a sweep's
            write_atomic(json_text(manifest), self.dir / "manifest.json")
        took_over = self.lock.acquire()
        try:
            if took_over:
                warnings.warn(took_over, stacklevel=3)
            self._prepare(spec, force)
        except BaseException:
            self.close()
            raise

    def _prepare(self, spec: SweepSpec, force: bool) -> None:
        spec_text, base_text = spec.to_toml(), spec.base_scenario().to_toml()
        if not self._holds(spec_text, base_text):
            if not force:
                raise SweepSpecError(
                    f"{self.dir}: holds other results than this sweep specification "
                    "(use another directory, or --force / force=True to replace them)"
                )
            self.clear()
        self.parts.mkdir(exist_ok=True)
        if spec.outputs.keep == "timeseries":
            self.series.mkdir(exist_ok=True)
        for d in (self.dir, self.parts, self.series):
            for f in d.glob(".*.tmp"):  # left by a killed writer
                f.unlink()
        write_atomic(spec_text, self.dir / "spec.toml")
        write_atomic(base_text, self.dir / "base_scenario.toml")

    def close(self) -> None:
        """Release the directory's lock."""
        self.lock.release()

    def made_by(self) -> dict:
        """The engine recorded for the finished runs ({} if none is, or it is unreadable)."""
        try:
            made = json.loads((self.dir / "engine.json").read_text())
        except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
            return {}
        return made if isinstance(made, dict) else {}

    def record_engine(self, engine: dict) -> None:
        write_atomic(json_text(engine), self.dir / "engine.json")

    def _holds(self, spec_text: str, base_text: str) -> bool:
        spec_file, base_file = self.dir / "spec.toml", self.dir / "base_scenario.toml"
        if not spec_file.exists():
            return True  # new or empty (abm.outputs.check let it through)
        same_base = not base_file.exists() or base_file.read_text() == base_text
        return spec_file.read_text() == spec_text and same_base

    def clear(self) -> None:
        """Delete every run and output (the spec files, corrupt/ and other files stay)."""
        for d in (self.parts, self.series):
            for f in d.glob("run-*.parquet"):
                f.unlink()
        for name in OUTPUTS:
            (self.dir / name).unlink(missing_ok=True)

    def part(self, run_id: int) -> Path:
        return self.parts / f"run-{run_id:06d}.parquet"

    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("run-*.parquet"))

    def done_ids(self) -> set[int]:
        """Run ids with a part on disk (finished, ok or failed)."""
        return {int(f.stem.removeprefix("run-")) for f in self._part_files()}

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
        """Every valid part, one row per run; invalid parts are moved to corrupt/ (warned)."""
        frames = []
        for f in self._part_files():
            try:
                frame = pd.read_parquet(f)
                _check_part(frame, f)
            except (OSError, ValueError, KeyError, pa.ArrowException) as err:
                self._set_aside(f, err)
                continue
            frames.append(frame)
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True).sort_values("run_id", ignore_index=True)

    def _set_aside(self, part: Path, err: Exception) -> None:
        self.corrupt.mkdir(exist_ok=True)
        dest, k = self.corrupt / part.name, 1
        while dest.exists():
            dest, k = self.corrupt / f"{part.name}.{k}", k + 1
        os.replace(part, dest)
        warnings.warn(
            f"{part}: unreadable part ({type(err).__name__}: {err}); moved to {dest} and its run "
            "is done again (if parts keep breaking, check the disk)",
            stacklevel=3,
        )

    def consolidate(self) -> pd.DataFrame:
        """Write runs.parquet from the valid parts (one row per finished run) and return it."""
        runs = self.read_parts()
        write_atomic(runs, self.dir / "runs.parquet")
        return runs

    def record(self) -> dict:
        """What runs.parquet was built from: number and digest of the parts, its own digest."""
        h = hashlib.sha256()
        files = self._part_files()
        for f in files:
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        runs = self.dir / "runs.parquet"
        runs_sha = hashlib.sha256(runs.read_bytes()).hexdigest() if runs.exists() else None
        return {"parts": len(files), "parts_sha256": h.hexdigest(), "runs_sha256": runs_sha}

    def stale(self, manifest: dict) -> str | None:
        """Why runs.parquet is stale against `manifest`'s record (module docstring), or None."""
        then = manifest.get("runs_parquet")
        if not isinstance(then, dict):
            return (
                "no record of the parts it was built from: a sweep still running or "
                "interrupted, or one made by an older abm"
            )
        now = self.record()
        if now["runs_sha256"] != then.get("runs_sha256"):
            return "runs.parquet changed since the sweep wrote it"
        if now["parts_sha256"] != then.get("parts_sha256"):
            return (
                f"parts/ changed since runs.parquet was built from it ({then.get('parts')} "
                f"parts then, {now['parts']} now)"
            )
        return None


def _check_part(frame: pd.DataFrame, path: Path) -> None:
    """A part holds one row: the run its file is named after, with a status."""
    rid = int(path.stem.removeprefix("run-"))
    if len(frame) != 1 or int(frame["run_id"].iloc[0]) != rid or "status" not in frame:
        raise ValueError(f"does not hold the one row of run {rid}")
