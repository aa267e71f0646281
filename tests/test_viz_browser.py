"""The interactive page in a real headless browser (Debian's chromium through Playwright).

`abm viz` serves the baseline (600 firms) on a free port; each test opens its own page (its
own Solara session and model). Screenshots, the server log and the measured update times go to
test-artifacts/ (gitignored).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from abm.scenario import Scenario
from abm.viz import app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 240  # a cold start imports mesa, solara, plotly and builds the baseline
N_CHARTS = len(app.CHARTS)
ALL_DRAWN = f"document.querySelectorAll('.abm-plotly[data-revision]').length >= {N_CHARTS}"

pytestmark = pytest.mark.slow


def _need_browser() -> None:
    """Skip without Playwright or chromium, except in CI (.ci/run installs both)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip extra viz)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        msg = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """`abm viz` on a free port of 127.0.0.1, started once for the module."""
    _need_browser()
    ARTIFACTS.mkdir(exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with (ARTIFACTS / "viz-server.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "abm.cli", "viz", "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the server child is ours to stop
        )
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"abm viz exited with {proc.returncode}; see {log.name}")
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"abm viz did not answer within {SERVER_START_S} s")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()  # abm viz stops its Solara server on SIGTERM
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # anything left in the group


@pytest.fixture(scope="module")
def browser(server_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@dataclass
class Session:
    page: Any
    errors: list[str] = field(default_factory=list)

    def text(self) -> str:
        return self.page.inner_text("body")

    def mesa_time(self) -> float:
        return float(re.search(r"Time: ([\d.]+)", self.text()).group(1))

    def revision(self, chart: str) -> int:
        return int(self.page.get_attribute(f".abm-chart-{chart} .abm-plotly", "data-revision"))

    def points(self, chart: str, trace: int = 0) -> int:
        return self.page.evaluate(
            f"document.querySelector('.abm-chart-{chart} .abm-plotly').data[{trace}].x.length"
        )

    def markers(self, chart: str) -> int:
        """Markers drawn in a chart's scatter traces."""
        return self.page.locator(f".abm-chart-{chart} .scatterlayer .point").count()

    def wait_revision(self, chart: str, above: int, timeout_ms: int = 60_000) -> None:
        self.page.wait_for_function(
            f"+document.querySelector('.abm-chart-{chart} .abm-plotly').dataset.revision > {above}",
            polling="raf",
            timeout=timeout_ms,
        )

    def slider(self, label: str) -> Any:
        return self.page.locator(".v-input").filter(has_text=label).locator("[role=slider]")

    def button(self, name: str) -> Any:
        return self.page.get_by_role("button", name=name, exact=True)

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def session(browser: Any, server_url: str) -> Iterator[Session]:
    """A fresh page (a new Solara session with its own model), all charts drawn."""
    page = browser.new_page(viewport={"width": 1500, "height": 2300})
    s = Session(page)
    page.on("console", lambda m: s.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: s.errors.append(f"page error: {e}"))
    page.goto(server_url)
    page.wait_for_function(ALL_DRAWN, timeout=120_000)
    yield s
    page.close()


def test_page_loads_without_console_errors(session):
    text = session.text()
    assert "Bitcoin mining industry: baseline" in text
    for title in ("Network hashrate", "Hashprice vs energy breakeven", "Surviving firms"):
        assert title in text
    assert "Firms on day one: 600" in text
    # transfers of sites by kind, none on day 0
    assert "Sites changing hands: 0 acquisitions (0 sites), 0 site purchases (0 sites)" in text
    assert "0 auctions (0 sites), 0 exit sales (0 sites)" in text
    assert session.mesa_time() == 0.0
    assert session.page.locator(".abm-plotly").count() == N_CHARTS
    session.shot("viz-loaded.png")
    assert session.errors == []


def test_pool_chart_shows_who_builds_the_blocks(session):
    """The pools chart: the pools' shares stacked (to 100%) and the Nakamoto coefficients by
    firm, owner and pool; a step adds a day to it."""
    assert "Who builds the blocks" in session.text()
    read = (
        "Array.from(document.querySelector('.abm-chart-pools .abm-plotly').data)"
        ".map(t => [t.name, t.stackgroup || '', t.x.length])"
    )
    traces = session.page.evaluate(read)
    names = [t[0] for t in traces]
    assert {"Foundry USA", "AntPool", "ViaBTC"} <= set(names)
    for level in ("pools", "owners", "firms"):
        assert f"Nakamoto, {level} (right axis)" in names
    assert sum(t[1] == "pools" for t in traces) >= 3
    rev = session.revision("pools")
    session.button("Step").click()
    session.wait_revision("pools", rev)
    assert session.points("pools") == app.RENDER_INTERVAL
    assert "HHI (pools)" in session.text()  # the sidebar's summary, pools being on
    assert all(t[2] == app.RENDER_INTERVAL for t in session.page.evaluate(read))
    session.shot("viz-pools.png")
    assert session.errors == []


def test_step_advances_the_model_and_the_charts_change(session):
    times = []
    for k in range(1, 5):
        rev = session.revision("hashrate")
        start = time.perf_counter()
        session.button("Step").click()
        session.wait_revision("hashrate", rev)
        times.append(time.perf_counter() - start)
        days = k * app.RENDER_INTERVAL
        assert session.points("hashrate") == days  # one point per simulated day
        assert session.mesa_time() == float(days)
        assert f"Day {days} of 3650" in session.text()
    session.page.wait_for_function(
        f"Array.from(document.querySelectorAll('.abm-plotly'))"
        f".filter(e => e.dataset.revision >= {4 * app.RENDER_INTERVAL}).length >= {N_CHARTS - 2}"
    )  # all but the acquirers and network charts, unchanged while nobody has bought anything
    draw_ms = session.page.evaluate(
        "Array.from(document.querySelectorAll('.abm-plotly')).map(e => +e.dataset.drawMs)"
    )
    timing = {
        "step_click_to_hashrate_chart_redrawn_ms": [round(t * 1000) for t in times],
        "days_per_step": app.RENDER_INTERVAL,
        "plotly_draw_ms_per_chart_last_step": draw_ms,
    }
    (ARTIFACTS / "viz-timing.json").write_text(json.dumps(timing, indent=2))
    session.shot("viz-stepped.png")
    assert max(times) < 30  # interactive, even on a busy CI machine (typically < 1 s)
    assert session.errors == []


def test_reset_rebuilds_the_model_with_the_changed_control(session):
    session.button("Step").click()
    session.wait_revision("hashrate", 0)
    n_before = session.markers("sites")
    slider = session.slider("Number of firms")
    slider.focus()
    slider.press("Home")  # the smallest population the baseline can be drawn with
    smallest = app.min_firms(Scenario())
    assert slider.get_attribute("aria-valuenow") == str(smallest)
    session.button("Reset").click()
    session.page.wait_for_function(
        f"document.body.innerText.includes('Firms on day one: {smallest}')", timeout=60_000
    )
    session.page.wait_for_function(
        f"document.querySelectorAll('.abm-chart-sites .scatterlayer .point').length"
        f" < {n_before // 2}",
        timeout=60_000,
    )
    assert session.mesa_time() == 0.0
    active = int(re.search(r"active now: (\d+)", session.text()).group(1))
    with_rigs = int(re.search(r"Sites with rigs: (\d+)", session.text()).group(1))
    assert session.markers("sites") == with_rigs  # every site with rigs has a marker
    assert smallest <= active <= with_rigs < n_before
    session.button("Step").click()
    session.wait_revision("hashrate", 0)
    assert session.points("hashrate") == app.RENDER_INTERVAL
    assert session.errors == []


def test_play_runs_two_years_without_reloading(session):
    interval = session.slider("Render Interval (steps)")
    interval.focus()
    interval.press("End")  # ~100 days per chart update
    session.button("▶").click()
    session.page.wait_for_function(
        "+(document.body.innerText.match(/Time: ([\\d.]+)/) || [0, 0])[1] >= 730",
        timeout=180_000,
    )
    session.button("❚❚").click()
    # once paused, the page settles: the clock stops and the chart is drawn to its last day
    # (while playing, the clock and the charts are updated by separate messages)
    days, deadline = -1.0, time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = session.mesa_time()
        last = session.page.evaluate(
            "(d => d[d.length - 1])(document.querySelector('.abm-chart-hashrate .abm-plotly')"
            ".data[0].x)"
        )
        if now == days and last == str(date(2026, 1, 1) + timedelta(days=int(now) - 1)):
            break
        days = now
    assert days >= 730
    assert last == str(date(2026, 1, 1) + timedelta(days=int(days) - 1))  # drawn to today
    assert 0 < session.points("hashrate") <= min(days, app.MAX_POINTS + 3)
    if days > 2 * 365 + 120:  # past the April 2028 halving
        assert session.page.locator(".abm-chart-hashrate .shapelayer path").count() >= 1
    session.page.wait_for_timeout(500)
    session.shot("viz-two-years.png")
    assert session.errors == []
