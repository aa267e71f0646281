"""Recognise a results folder (a run, a paired comparison or a sweep) and read its tables."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from abm.outputs import manifest_kind
from abm.sweeps.store import Store

__all__ = ["KINDS", "REQUIRED", "ReportError", "Source", "detect"]

Kind = Literal["run", "compare", "sweep"]
KINDS: tuple[Kind, ...] = ("run", "compare", "sweep")

# files that identify each kind of folder (the writers: abm.runner, abm.compare, abm.sweeps)
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "run": ("timeseries.parquet", "summary.json", "survival.parquet", "manifest.json"),
    "compare": ("runs.parquet", "effects.csv", "summary.json", "manifest.json"),
    "sweep": ("runs.parquet", "summary_by_point.csv", "spec.toml", "manifest.json"),
}


class ReportError(ValueError):
    """The results folder cannot be reported on; the message says why."""


@dataclass
class Source:
    """A recognised results folder."""

    kind: Kind
    path: Path
    manifest: dict[str, Any]

    def file(self, name: str) -> Path:
        return self.path / name

    def parquet(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path / name)

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.path / name).read_text())

    def toml(self, name: str) -> dict[str, Any]:
        return tomllib.loads((self.path / name).read_text())


def detect(path: str | Path) -> Source:
    """The kind of results folder at `path`, from its files and its manifest.

    Raises:
        ReportError: missing folder, unreadable manifest, files of no known kind, or a sweep
            whose runs.parquet is stale (:meth:`abm.sweeps.store.Store.stale`).
    """
    folder = Path(path)
    if not folder.exists():
        raise ReportError(f"{folder}: no such directory")
    if not folder.is_dir():
        raise ReportError(f"{folder}: not a directory (give a results folder)")
    manifest_file = folder / "manifest.json"
    if (folder / "parts").is_dir() and not (folder / "runs.parquet").exists():
        raise ReportError(
            f"{folder}: an unfinished sweep (parts/ but no runs.parquet): rerun the same "
            "`abm sweep` command to finish it"
        )
    present = {k for k, files in REQUIRED.items() if all((folder / f).exists() for f in files)}
    if not present:
        expected = "; ".join(f"{k}: {', '.join(files)}" for k, files in REQUIRED.items())
        raise ReportError(
            f"{folder}: not a results folder of abm run, abm compare or abm sweep "
            f"(expected the files of one of them - {expected})"
        )
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"{manifest_file}: unreadable manifest ({err})") from None
    kind = manifest_kind(manifest)
    if kind is None:
        raise ReportError(f"{manifest_file}: not a manifest of abm-mining")
    if kind not in present:
        raise ReportError(
            f"{folder}: manifest.json says kind {kind!r} but the folder holds the files of "
            f"{' / '.join(sorted(present))}"
        )
    if kind == "sweep":
        stale = Store(folder).stale(manifest)
        if stale:
            raise ReportError(
                f"{folder}/runs.parquet is stale ({stale}): rerun the command that made it, "
                f"`abm sweep SPEC.toml --out {folder}`: it rebuilds runs.parquet from the valid "
                "parts, running only what is missing"
            )
    return Source(kind, folder, manifest)  # type: ignore[arg-type]
