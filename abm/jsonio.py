"""The one way abm writes JSON: strict JSON, never ``NaN`` or ``Infinity``.

Python's ``json`` writes non-finite floats as the bare words ``NaN`` and ``Infinity``, which
are not JSON (most readers reject them). Every JSON file the tool writes (summary.json,
manifest.json, engine.json, validation.json, a sweep's lock) goes through :func:`json_text`,
which writes a non-finite number as ``null``: "not defined" (e.g. the hashprice of a network
with no hashrate), and converts numpy scalars and arrays to plain numbers and lists.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_text", "jsonable", "write_json"]


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars and arrays as Python numbers and lists, tuples as lists, and
    every non-finite float (NaN, +-inf) as None, recursively through dicts and lists."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any) -> str:
    """Strict, indented JSON of `value` (see :func:`jsonable`), ending in a newline."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False) + "\n"


def write_json(path: str | Path, value: Any) -> None:
    """Write :func:`json_text` of `value` to `path`."""
    Path(path).write_text(json_text(value))
