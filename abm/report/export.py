"""Static figures (PNG, SVG, PDF) through Kaleido >= 1.0, which drives a Chrome/Chromium.

The browser is the one named by ``BROWSER_PATH``, else the first Chrome or Chromium on the
``PATH`` (Debian: ``/usr/bin/chromium``), else Kaleido's own search. One browser renders all
figures of a report (two tabs in parallel).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go

from abm.report.style import STATIC_HEIGHT, STATIC_SCALE, STATIC_WIDTH

__all__ = ["FORMATS", "ExportError", "browser_path", "export_static"]

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ExportError(RuntimeError):
    """Static export is not possible here (no Kaleido, no browser) or failed."""


def browser_path() -> str | None:
    """The browser Kaleido should drive: ``$BROWSER_PATH``, else a Chrome/Chromium on PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env
    return next((p for b in _BROWSERS if (p := shutil.which(b))), None)


def export_static(
    jobs: Sequence[tuple[go.Figure, Path]], progress: bool = True, tabs: int = 2
) -> float:
    """Write each figure to its path (the format is the file's suffix); returns seconds taken.

    Raises:
        ExportError: Kaleido or a browser is missing, or a figure failed to render.
    """
    if not jobs:
        return 0.0
    try:
        import kaleido
    except ImportError as err:
        raise ExportError(
            f"static export needs kaleido (pip install -e '.[report]'): {err}"
        ) from None
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), unit="image", desc="static figures", file=sys.stderr)

    async def render(k: kaleido.Kaleido, fig: go.Figure, path: Path) -> None:
        height = fig.layout.height or STATIC_HEIGHT
        opts = {"format": path.suffix.lstrip("."), "width": STATIC_WIDTH, "height": height}
        if path.suffix == ".png":
            opts["scale"] = STATIC_SCALE
        path.write_bytes(await k.calc_fig(fig, opts=opts))
        if bar is not None:
            bar.update(1)

    async def main() -> None:
        browser = browser_path()
        extra = {"path": browser} if browser else {}
        async with kaleido.Kaleido(n=tabs, mathjax=False, **extra) as k:
            await asyncio.gather(*(render(k, fig, path) for fig, path in jobs))

    try:
        asyncio.run(main())
    except Exception as err:
        raise ExportError(
            f"static export failed ({type(err).__name__}: {err}); install Chrome or Chromium "
            "(or set BROWSER_PATH), or skip static figures with --formats none"
        ) from err
    finally:
        if bar is not None:
            bar.close()
    return time.perf_counter() - t0
