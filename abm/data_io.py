"""Load observed daily series (BTC price, difficulty) with validation and clear errors.

Every problem in a data file raises :class:`DataFileError` whose message names the file and
the row (line number in the file, header = line 1) and column at fault, so a bad CSV is fixed
in one look instead of surfacing later as NaNs deep inside a simulation.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "DataFileError",
    "daily_path",
    "difficulty_history",
    "load_daily_series",
    "price_history",
]

PRICE_FILE = "btc_price_usd_daily.csv"
DIFFICULTY_FILE = "btc_difficulty_daily_2015_2023.csv"
_DATE_FORMAT = "%Y-%m-%d"
_FIRST_DATA_LINE = 2  # line number of the first data row (line 1 is the header)


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file, row and column."""


def _read_validated(path: str | os.PathLike[str], value_columns: Sequence[str]) -> pd.DataFrame:
    """Read a daily CSV and validate it; return float columns on a DatetimeIndex 'date'."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise DataFileError(f"{name}: file not found")
    try:
        raw = pd.read_csv(name, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{name}: file is empty (expected a header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{name}: cannot parse as CSV: {exc}") from None

    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in ("date", *value_columns) if c not in raw.columns]
    if missing:
        found = ", ".join(raw.columns)
        raise DataFileError(f"{name}: missing column(s) {', '.join(missing)} (found: {found})")

    raw = raw[["date", *value_columns]].apply(lambda col: col.str.strip())
    line = pd.Series(np.arange(len(raw)) + _FIRST_DATA_LINE, index=raw.index)
    keep = (raw != "").any(axis=1)  # blank lines, e.g. a trailing empty line, are ignored
    raw, line = raw[keep], line[keep]
    if raw.empty:
        raise DataFileError(f"{name}: no data rows")

    dates = pd.to_datetime(raw["date"], format=_DATE_FORMAT, errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFileError(
            f"{name}: row {line.iat[i]}: date is not a YYYY-MM-DD date ({raw['date'].iat[i]!r})"
        )
    step = np.diff(dates.to_numpy())
    not_after = step <= np.timedelta64(0, "s")
    if not_after.any():
        i = int(np.argmax(not_after)) + 1
        what = "duplicates" if step[i - 1] == np.timedelta64(0, "s") else "is not after"
        raise DataFileError(
            f"{name}: row {line.iat[i]}: date {raw['date'].iat[i]} {what} the date "
            f"{raw['date'].iat[i - 1]} of row {line.iat[i - 1]} (dates must be strictly increasing)"
        )

    out = {}
    for col in value_columns:
        values = pd.to_numeric(raw[col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataFileError(
                f"{name}: row {line.iat[i]}: {col} is not a positive number ({raw[col].iat[i]!r})"
            )
        out[col] = values
    index = pd.DatetimeIndex(dates.to_numpy(), name="date")
    frame = pd.DataFrame(out, index=index)
    frame.attrs["source"] = name
    return frame


def load_daily_series(path: str | os.PathLike[str], value_column: str) -> pd.Series:
    """Load one positive daily series from a CSV with columns ``date`` and `value_column`.

    Parameters
    ----------
    path
        CSV file with a header line; ``date`` as YYYY-MM-DD, strictly increasing (gaps allowed).
    value_column
        Column to return; every value must be a finite number > 0.

    Returns
    -------
    pandas.Series
        float64 values named `value_column`, on a sorted DatetimeIndex named 'date'.
        ``attrs['source']`` holds the file name (used in :func:`daily_path` errors).

    Raises
    ------
    DataFileError
        File missing or unparsable, column missing, bad/duplicate/unsorted date, or a value
        that is missing, non-numeric, non-finite or <= 0; the message names file, row, column.
    """
    frame = _read_validated(path, [value_column])
    series = frame[value_column]
    series.attrs["source"] = frame.attrs["source"]
    return series


def _packaged(file_name: str, value_columns: Sequence[str]) -> pd.DataFrame:
    """Load and validate a file shipped in ``abm/data``."""
    ref = resources.files("abm") / "data" / file_name
    with resources.as_file(ref) as path:
        return _read_validated(path, value_columns)


@functools.cache
def _price_cached() -> pd.Series:
    frame = _packaged(PRICE_FILE, ["price_usd"])
    series = frame["price_usd"]
    series.attrs["source"] = frame.attrs["source"]
    return series


@functools.cache
def _difficulty_cached() -> pd.DataFrame:
    return _packaged(DIFFICULTY_FILE, ["difficulty", "implied_hashrate_ehs"])


def price_history() -> pd.Series:
    """Observed daily BTC close, USD per BTC, 2015-01-01 .. 2026-02-13 (packaged file).

    Returns a fresh copy each call (the parsed file is cached), so callers may modify it.
    """
    return _price_cached().copy()


def difficulty_history() -> pd.DataFrame:
    """Observed daily network difficulty, 2015-01-01 .. 2023-12-31 (packaged file).

    Columns ``difficulty`` (dimensionless D) and ``implied_hashrate_ehs``
    (EH/s = D * 2^32 / 600 / 1e18). Returns a fresh copy each call.
    """
    return _difficulty_cached().copy()


def daily_path(series: pd.Series, start_date: str | pd.Timestamp, n_days: int) -> np.ndarray:
    """Values of `series` on `n_days` consecutive days from `start_date`, gaps forward-filled.

    A day missing from the series (or holding NaN) takes the last observed value before it,
    so a price path stays defined on every simulated day.

    Parameters
    ----------
    series
        Daily observations on a sorted DatetimeIndex (e.g. from :func:`load_daily_series`).
    start_date
        First day of the path (anything ``pandas.Timestamp`` accepts, at midnight).
    n_days
        Path length in days, >= 1.

    Returns
    -------
    numpy.ndarray
        float64, shape (n_days,).

    Raises
    ------
    DataFileError
        If ``start_date`` is before the first observation or ``start_date + n_days - 1`` after
        the last; the message names the available span (and the source file, if known).
    """
    if int(n_days) != n_days or n_days < 1:
        raise ValueError(f"n_days must be a positive integer, got {n_days!r}")
    n_days = int(n_days)
    if not isinstance(series.index, pd.DatetimeIndex):
        raise TypeError("series must be indexed by a pandas.DatetimeIndex")
    start = pd.Timestamp(start_date)
    if start != start.normalize():
        raise ValueError(f"start_date must be a whole day (midnight), got {start}")
    obs = series.dropna()
    if not (obs.index.is_monotonic_increasing and obs.index.is_unique):
        raise ValueError("series index must be strictly increasing dates (sorted, no duplicates)")
    source = series.attrs.get("source", "series")
    if obs.empty:
        raise DataFileError(f"{source}: no observations")

    first, last = obs.index[0], obs.index[-1]
    end = start + pd.Timedelta(days=n_days - 1)
    if start < first or end > last:
        raise DataFileError(
            f"{source}: requested {start:%Y-%m-%d} .. {end:%Y-%m-%d} ({n_days} days) is outside "
            f"the available span {first:%Y-%m-%d} .. {last:%Y-%m-%d}"
        )
    days = pd.date_range(start, periods=n_days, freq="D")
    return obs.reindex(days, method="ffill").to_numpy(dtype=float)
