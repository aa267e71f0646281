"""Columnar tables with rows that are never reused: the firm table and the site table.

A :class:`ColumnTable` holds one numpy array per column (length ``n``) and optional matrices
(``n`` x k, e.g. a fleet by hardware generation). Attributes are views of the first ``n`` rows
of buffers with spare rows (grown x1.5), so appends are amortised O(1) per row; assigning a
column (``t.cash_usd = x``) writes into it in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np


class ColumnTable:
    """Base of the columnar tables. Subclasses set ``COLUMNS`` (name -> (dtype, fill)) and
    ``MATRICES`` (name -> (dtype, fill)); the matrices' width is given at construction."""

    COLUMNS: ClassVar[dict[str, tuple[Any, Any]]] = {}
    MATRICES: ClassVar[dict[str, tuple[Any, Any]]] = {}

    def __init__(self, width: int) -> None:
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "_n", 0)
        object.__setattr__(self, "_buf", {})
        self._grow(0)

    def __setattr__(self, col: str, value: Any) -> None:
        view = self.__dict__.get(col) if col in self.COLUMNS or col in self.MATRICES else None
        if view is None:
            object.__setattr__(self, col, value)
        elif value is not view:  # augmented assignment (t.x += y) hands the view back
            np.copyto(view, value, casting="same_kind")

    @property
    def n(self) -> int:
        return self._n

    def _grow(self, n: int) -> None:
        """Make room for n rows (reallocating x1.5 when full) and expose views of n rows."""
        first = next(iter(self.COLUMNS))
        cap = self._buf[first].shape[0] if self._buf else 0
        if n > cap or not self._buf:
            new_cap = max(n, cap + cap // 2, 16)
            old, n_old = self._buf, self._n
            buf: dict[str, np.ndarray] = {}
            for col, (dtype, fill) in (*self.COLUMNS.items(), *self.MATRICES.items()):
                shape = (new_cap, self.width) if col in self.MATRICES else (new_cap,)
                buf[col] = np.full(shape, fill, dtype=dtype)
                if old:
                    buf[col][:n_old] = old[col][:n_old]
            object.__setattr__(self, "_buf", buf)
        object.__setattr__(self, "_n", n)
        for col, b in self._buf.items():
            self.__dict__[col] = b[:n]

    def append_rows(self, k: int, **cols: Any) -> np.ndarray:
        """Add k rows with the given column and matrix values (others take their fill);
        returns the new row indices."""
        unknown = set(cols) - set(self.COLUMNS) - set(self.MATRICES)
        if unknown:
            raise ValueError(f"unknown {type(self).__name__} columns {sorted(unknown)}")
        start = self._n
        self._grow(start + k)
        new = slice(start, start + k)
        for col, (dtype, fill) in self.COLUMNS.items():
            value = np.asarray(cols[col], dtype=dtype) if col in cols else fill
            self._buf[col][new] = value
        for col in self.MATRICES:
            if col in cols:
                value = np.asarray(cols[col])
                if value.shape != (k, self.width):
                    raise ValueError(f"{col} must be {(k, self.width)}, got {value.shape}")
                self._buf[col][new] = value
        return np.arange(start, start + k)
