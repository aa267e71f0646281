"""Output directories: one rule for every command that writes results.

abm writes a result into a directory only if the directory is

(a) new (missing parents are created), or
(b) empty, or
(c) made by abm for the same kind of output: its ``manifest.json`` says
    ``"package": "abm-mining"`` and ``"kind": KIND`` (run, compare, sweep, report, validate,
    calibrate),
    and it holds nothing abm did not write there: only the names in :data:`ENTRIES` for that
    kind, report folders of abm's (``abm report`` writes ``report/`` into a results folder),
    and abm's own leftovers (below).

Anything else raises :class:`OutputError`, naming the path and the reason, before any work: a
file, a path under a file, a directory abm cannot create (e.g. under /proc), the current
directory or one containing it, a directory holding files abm did not write, or the result of
another kind of command. Nothing widens this rule (a sweep's ``--force`` replaces only a
sweep's own files), so abm never deletes or overwrites a file it did not write.

Replacing an earlier result is atomic (:func:`replacing`): the new result is written into a
staging directory beside the final one, ``.NAME.abm-staging-HOST-PID-XXXX``; then the earlier
result is renamed to ``.NAME.abm-old-HOST-PID-XXXX``, the staging directory to NAME, and the
earlier result is removed. At every moment NAME or its ``.abm-old-`` copy holds a complete
result. The next :func:`check` of NAME (every command that writes there) repairs what a killed
process left beside it: an ``.abm-old-`` copy whose NAME is missing is renamed back (the
previous result is restored, with a warning); staging directories, and old copies beside a
complete NAME, are removed. Only leftovers of processes of this host that are no longer
running are touched.

Default output paths (:func:`default_dir`) are ``results/`` plus names reduced to the
characters ``A-Z a-z 0-9 . _ -`` (no separators, no leading dots), so they stay under
``results/``.

Sweeps write into their directory run by run (:mod:`abm.sweeps.store`): they use :func:`check`
and never replace the directory.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "ENTRIES",
    "RESULTS_DIR",
    "OutputError",
    "check",
    "default_dir",
    "kind_of",
    "manifest_kind",
    "process_alive",
    "replacing",
    "safe_name",
]

PACKAGE = "abm-mining"
MANIFEST = "manifest.json"
RESULTS_DIR = Path("results")
MAX_NAME_CHARS = 100

# the top-level names each kind of output directory may hold: what its writer makes
ENTRIES: dict[str, frozenset[str]] = {
    "run": frozenset(
        {
            "timeseries.parquet",
            "firms.parquet",
            "sites.parquet",
            "firm_outcomes.parquet",
            "survival.parquet",
            "acquisitions.parquet",
            "contracts.parquet",
            "pools.parquet",  # pools on (abm.pools)
            "summary.json",
            "scenario.toml",
            MANIFEST,
        }
    ),
    "compare": frozenset(
        {
            "runs.parquet",
            "effects.csv",
            "series.parquet",
            "scenario_a.toml",
            "scenario_b.toml",
            "summary.json",
            MANIFEST,
        }
    ),
    "sweep": frozenset(
        {
            "spec.toml",
            "base_scenario.toml",
            "engine.json",
            "runs.parquet",
            "summary_by_point.csv",
            "sobol_indices.csv",
            "parts",
            "timeseries",
            "corrupt",
            ".lock",
            MANIFEST,
        }
    ),
    "report": frozenset(
        {"report.md", "index.html", "figures", "tables", "discovery.json", MANIFEST}
    ),
    "calibrate": frozenset(
        {
            "calibration.toml",
            "stages",
            "points.csv",
            "targets.csv",
            "best.toml",
            "summary.json",
            "figures",
            MANIFEST,
        }
    ),
    "validate": frozenset({"validation.csv", "validation.json", "replay.csv", MANIFEST}),
}
# leftovers of a replacement (`replacing`) and of an atomic file write (abm.sweeps.store)
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.abm-(?P<what>staging|old)-(?P<host>[\w-]+)-(?P<pid>\d+)-")
_TEMP_FILE = re.compile(r"^\.(?P<name>.+)\.[^.]+\.tmp$")


class OutputError(ValueError):
    """An output directory may not be written; the message names the path and why."""


def manifest_kind(manifest: Any) -> str | None:
    """The kind an abm manifest records (None if it is not an abm manifest); runs written before
    manifests had a kind are runs."""
    if not isinstance(manifest, dict) or manifest.get("package") != PACKAGE:
        return None
    return str(manifest.get("kind", "run"))


def kind_of(folder: Path) -> str | None:
    """The kind of abm output `folder` holds, from its manifest (None: not one of abm's)."""
    try:
        kind = manifest_kind(json.loads((folder / MANIFEST).read_text()))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        kind = None
    return kind or _legacy_kind(folder)


def _legacy_kind(folder: Path) -> str | None:
    """Folders abm wrote before every kind had a manifest: reports, unfinished sweeps."""
    for kind, names in (
        ("report", ("report.md", "index.html", "figures", "tables")),
        ("sweep", ("spec.toml", "base_scenario.toml", "parts")),
    ):
        if all((folder / n).exists() for n in names):
            return kind
    return None


def _is_leftover(name: str, kind: str) -> bool:
    """A replacement's staging or old copy (of any entry), or an atomic write's temporary."""
    if _LEFTOVER.match(name):
        return True
    m = _TEMP_FILE.match(name)
    return m is not None and m["name"] in ENTRIES[kind]


def foreign_entries(folder: Path, kind: str) -> list[str]:
    """Names in `folder` that abm did not write there for a `kind` result."""
    out = []
    for p in folder.iterdir():
        if p.name in ENTRIES[kind] or _is_leftover(p.name, kind):
            continue
        if not _our_report(p):
            out.append(p.name)
    return sorted(out)


def _our_report(p: Path) -> bool:
    """A report folder of abm's holding only what abm wrote (a report of this result)."""
    return (
        p.is_dir()
        and not p.is_symlink()
        and kind_of(p) == "report"
        and not foreign_entries(p, "report")
    )


def _listing(names: list[str], n: int = 5) -> str:
    more = f", ... ({len(names)} in all)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def check(path: str | Path, kind: str) -> Path:
    """Refuse (:class:`OutputError`) unless `path` may receive a `kind` result by the rule of
    this module; repair leftovers of a killed replacement there. Returns the resolved path."""
    if kind not in ENTRIES:
        raise ValueError(f"unknown kind of output {kind!r}")
    shown = Path(path)
    if str(path) == "":
        raise OutputError("--out: an empty path")
    if shown.is_symlink() and not shown.exists():
        raise OutputError(f"{shown}: a broken symbolic link")
    if shown.exists() and not shown.is_dir():
        raise OutputError(f"{shown}: is a file, not a directory; give a directory")
    ancestor = _existing_ancestor(shown)
    if not ancestor.is_dir():
        raise OutputError(f"{shown}: is under {ancestor}, which is a file, not a directory")
    final = shown.resolve()
    here = Path.cwd().resolve()
    if final == here or final in here.parents:
        raise OutputError(
            f"{shown}: is the current directory or contains it; abm writes a result into a "
            "directory of its own: give a new subdirectory"
        )
    try:
        recover(final)
        present = [p.name for p in final.iterdir()] if final.is_dir() else []
    except OSError as err:
        raise OutputError(f"{shown}: cannot be read ({err.strerror or err})") from None
    present = [n for n in present if not _is_leftover(n, kind)]
    if present:
        _check_ours(shown, final, kind, present)
    # a replacement stages beside the directory; a sweep writes into it
    _probe(final if kind == "sweep" and final.is_dir() else final.parent, shown)
    return final


def _check_ours(shown: Path, final: Path, kind: str, present: list[str]) -> None:
    found = kind_of(final)
    if found is None:
        raise OutputError(
            f"{shown}: holds files abm did not write ({_listing(sorted(present))}); abm writes "
            f"only into a new or empty directory, or over an earlier `abm {kind}` result: "
            "choose another --out"
        )
    if found != kind:
        raise OutputError(
            f"{shown}: holds the result of `abm {found}`, not of `abm {kind}`: choose another --out"
        )
    foreign = foreign_entries(final, kind)
    if foreign:
        raise OutputError(
            f"{shown}: holds an earlier `abm {kind}` result but also files abm did not write "
            f"({_listing(foreign)}): move them away or choose another --out"
        )


def _existing_ancestor(path: Path) -> Path:
    """`path` itself if it exists, else its nearest existing ancestor."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _probe(folder: Path, shown: Path) -> None:
    """Can directories be made in `folder` (or its nearest existing ancestor)?"""
    where = _existing_ancestor(folder)
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".abm-probe-", dir=where))
    except OSError as err:
        raise OutputError(
            f"{shown}: cannot be written: cannot create a directory in {where} "
            f"({err.strerror or err})"
        ) from None


def _host() -> str:
    """This host, as it appears in the names of staging and old directories."""
    return re.sub(r"[^\w-]", "_", socket.gethostname()) or "host"


def _tag() -> str:
    """This process, as it appears in the names of its staging and old directories."""
    return f"{_host()}-{os.getpid()}"


def _leftovers(final: Path) -> list[tuple[str, Path]]:
    """(staging|old, path) left beside `final` by processes of this host that have ended."""
    here = _host()
    out = []
    for p in final.parent.glob(f".{glob.escape(final.name)}.abm-*"):
        m = _LEFTOVER.match(p.name)
        if m and m["name"] == final.name and m["host"] == here and not process_alive(int(m["pid"])):
            out.append((m["what"], p))
    return out


def process_alive(pid: object) -> bool:
    """Is process `pid` of this host running? (True for this process, and when unknown.)"""
    if not isinstance(pid, int) or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def recover(final: Path) -> None:
    """Repair what a killed replacement of `final` left (see the module docstring)."""
    if not final.parent.is_dir():
        return
    left = _leftovers(final)
    # an old copy that holds a result (not one made empty just before the kill), newest last
    olds = sorted(
        (p for what, p in left if what == "old" and any(p.iterdir())),
        key=lambda p: p.stat().st_mtime_ns,
    )
    if olds and not final.exists():
        restored = olds.pop()
        os.rename(restored, final)
        warnings.warn(
            f"{final}: restored the previous result from {restored.name} (its replacement "
            "was interrupted)",
            stacklevel=3,
        )
    for _, p in left:
        if p.exists():
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def replacing(path: str | Path, kind: str) -> Iterator[Path]:
    """Write a `kind` result atomically: yields a staging directory to fill (including its
    ``manifest.json`` of that kind), which then replaces `path` (see the module docstring).
    If the block raises, nothing changes at `path`."""
    final = check(path, kind)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{final.name}.abm-staging-{_tag()}-", dir=final.parent)
    )
    try:
        yield staging
        if kind_of(staging) != kind:
            raise RuntimeError(f"the {kind} writer left no manifest.json of kind {kind!r}")
        _swap(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, final: Path) -> None:
    """Move the complete `staging` directory to `final`, keeping the earlier result until the
    new one is in place."""
    old = None
    if final.exists() and any(final.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.abm-old-{_tag()}-", dir=final.parent))
        os.rename(final, old)  # (onto the empty directory just made: one atomic step)
    try:
        os.rename(staging, final)  # a missing or empty `final` is replaced in one step
    except BaseException:
        if old is not None:
            os.rename(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def safe_name(name: str) -> str:
    """`name` as one directory name: runs of characters other than ``A-Za-z0-9._-`` become
    ``_``, leading and trailing ``._-`` are dropped, at most 100 characters."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-")[:MAX_NAME_CHARS]
    if not safe:
        raise OutputError(f"{name!r}: gives no usable directory name; give --out")
    return safe


def default_dir(*names: str) -> Path:
    """``results/NAME/...`` from names reduced by :func:`safe_name` (always under results/)."""
    return RESULTS_DIR.joinpath(*(safe_name(n) for n in names))
