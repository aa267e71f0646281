"""The SolaraViz page without a browser: the control table, Mesa's model rebuild, an in-process
render where Step advances the model, and the `abm viz` command line."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("solara")
pytest.importorskip("mesa.visualization")

import ipyvuetify as v
import solara
from mesa.visualization.solara_viz import (
    _build_model_init_kwargs,
    _check_model_params,
)

from abm.cli import build_parser, main
from abm.scenario import Scenario
from abm.viz import SCENARIO_ENV, app
from abm.viz import cli as viz_cli
from tests.conftest import ROOT, small_scenario


@pytest.fixture(scope="module")
def base() -> Scenario:
    return small_scenario(n_firms=40, years=0.5)


def test_every_control_is_a_scenario_parameter_and_a_keyword():
    sc = Scenario()
    params = inspect.signature(app.VizModel.__init__).parameters
    assert list(params)[1:] == ["base", "seed", *app.CONTROLS]
    for key, ctl in app.CONTROLS.items():
        value = ctl.value(sc)
        assert ctl.min <= value <= ctl.max, key
        assert sc.with_overrides({ctl.path: value}) == sc  # the path exists


def test_controls_override_the_base_scenario(base):
    m = app.VizModel(base=base, seed=9, btc_volatility=0.9, n_firms=60, energy_spread=0.5)
    assert m.params.price.volatility_per_year == 0.9
    assert m.params.firms.n_firms == 60
    assert m.params.energy.dispersion_log == 0.5
    assert m.params.price.drift_per_year == base.price.drift_per_year  # untouched
    assert m.seed == 9
    assert app.VizModel(base=base).params == base
    with pytest.raises(TypeError, match="volatility"):
        app.VizModel(base=base, volatility=0.9)


def test_model_params_start_at_the_base_values_and_the_smallest_population_builds():
    sc = Scenario().with_overrides({"price.volatility_per_year": 0.7, "run.seed": 3})
    params = app.model_params(sc)
    assert params["base"] is sc
    assert params["btc_volatility"]["value"] == 0.7
    assert params["seed"]["value"] == 3
    assert params["n_firms"]["value"] == 600
    smallest = params["n_firms"]["min"]
    assert smallest == app.min_firms(sc) > sc.firms.n_large
    m = app.VizModel(base=sc, n_firms=smallest)
    assert m.params.firms.n_firms == smallest


def test_mesa_accepts_the_params_and_rebuilds_the_model_on_reset(base):
    """What SolaraViz does: check the params against the signature, then on Reset rebuild
    type(model)(**kwargs) with the current control values."""
    model = app.VizModel(base=base)
    params = app.model_params(base)
    _check_model_params(model, params)
    current = {k: (p["value"] if isinstance(p, dict) else p) for k, p in params.items()}
    current["n_firms"] = 50
    kwargs = _build_model_init_kwargs(
        model, current, add_scenario_when_empty=True, require_model_accepts_scenario=True
    )
    assert "scenario" not in kwargs  # Mesa's own scenario object must not reach our model
    rebuilt = type(model)(**kwargs)
    assert rebuilt.params.firms.n_firms == 50


def test_viz_model_records_breakeven_and_thins_long_frames(base, monkeypatch):
    m = app.VizModel(base=base)
    for _ in range(30):
        m.step()
    ts, be = m.frames()
    assert len(ts) == len(be) == 30
    assert be[["medium", "large"]].notna().all().all()  # this population has no small firms
    assert (be["large"] < ts["hashprice_usd_per_ph_day"]).all()  # large firms are profitable
    assert m.frames()[0] is ts  # cached until the next step
    monkeypatch.setattr(app, "MAX_POINTS", 10)
    m.step()
    ts, be = m.frames()
    assert len(ts) == len(be) <= 12 and ts["date"].iloc[-1] == be["date"].iloc[-1]
    assert ts.index.equals(be.index)


def test_step_in_the_page_advances_the_model_and_redraws_charts(base, monkeypatch):
    monkeypatch.setattr(app, "_base_scenario", lambda: base)
    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    widgets = rc.find(v.VuetifyTemplate, script="plotly.min.js").widgets
    assert len(widgets) == len(app.CHARTS)
    before = [json.loads(w.figure_json) for w in widgets]
    assert {b["revision"] for b in before} == {0}
    rc.find(v.Btn, children=["Step"]).widget.click()
    after = [json.loads(w.figure_json) for w in widgets]
    assert {a["revision"] for a in after} == {app.RENDER_INTERVAL}
    hashrate = after[1]["figure"]
    assert hashrate["layout"]["title"]["text"] == "Network hashrate"
    assert len(hashrate["data"][0]["x"]) == app.RENDER_INTERVAL
    assert after[1]["figure"] != before[1]["figure"]
    assert f"Time: {float(app.RENDER_INTERVAL)}" in repr(box)
    rc.close()


def test_cli_parses_viz_and_binds_to_localhost():
    args = build_parser().parse_args(["viz"])
    assert (args.host, args.port, args.scenario) == ("127.0.0.1", 8765, None)
    args = build_parser().parse_args(["viz", "s.toml", "--port", "9000", "--host", "0.0.0.0"])
    assert (args.host, args.port, args.scenario) == ("0.0.0.0", 9000, "s.toml")
    cmd = viz_cli.server_command("127.0.0.1", 9000)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "abm.viz.app" in cmd


def test_cli_passes_the_scenario_path(tmp_path, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, "/elsewhere.toml")
    assert SCENARIO_ENV not in viz_cli.server_env(None)
    env = viz_cli.server_env(str(tmp_path / "s.toml"))
    assert env[SCENARIO_ENV] == str((tmp_path / "s.toml").resolve())
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"


def test_cli_rejects_a_bad_scenario_before_starting_a_server(tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(viz_cli.subprocess, "Popen", lambda *a, **k: started.append(a))
    bad = tmp_path / "bad.toml"
    bad.write_text("[firms]\nn_firms = 1\n")
    assert main(["viz", str(bad)]) == 2
    assert "firms.n_firms" in capsys.readouterr().err
    assert not started


def test_the_page_starts_from_the_scenario_named_in_the_environment(tmp_path, monkeypatch):
    sc = small_scenario(n_firms=40).with_overrides(
        {"name": "from-file", "price.volatility_per_year": 0.8}
    )
    path = tmp_path / "s.toml"
    sc.save(path)
    monkeypatch.setenv(SCENARIO_ENV, str(path))
    loaded = app._base_scenario()
    assert loaded == sc
    assert app.model_params(loaded)["btc_volatility"]["value"] == 0.8
    monkeypatch.delenv(SCENARIO_ENV)
    assert app._base_scenario() == Scenario().with_overrides({"pools.enabled": True})


# ---------------------------------------------------------------------------------------------
# the server: a port in use is an error before any URL; the server dies with `abm viz`
def test_a_port_in_use_is_an_error_before_any_url(capsys, monkeypatch):
    started = []
    monkeypatch.setattr(viz_cli.subprocess, "Popen", lambda *a, **k: started.append(a))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["viz", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert f"error: 127.0.0.1:{port} is already in use" in err and "--port" in err
    assert "http://" not in out and not started
    assert viz_cli.port_problem("127.0.0.1", port) is None  # free again
    assert "not an address of this machine" in viz_cli.port_problem("no-such-host.invalid", 1)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie may wait for a reaper in a container)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _running(pid):
            return True
        time.sleep(0.05)
    return False


PARENT = """
import sys, time
from abm.viz import cli
if sys.argv[1] == "guard":
    cli._parent_death_signal = lambda: None  # as where Linux's prctl is not available
server = cli.start_server([sys.executable, "-m", "http.server", "0", "--bind", "127.0.0.1"])
print(server.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("way", ["pdeathsig", "guard"])
def test_the_server_dies_with_its_parent(way):
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, way], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        server = int(parent.stdout.readline())
        time.sleep(0.5)
        assert _running(server) and os.getpgid(server) == server  # its own process group
        parent.send_signal(signal.SIGKILL)  # no clean-up in the parent at all
        parent.wait()
        # (30 s: on a loaded machine the guard may still be importing when the parent dies)
        assert _wait_gone(server, 30.0), f"server {server} outlived its parent ({way})"
    finally:
        parent.kill()
        with contextlib.suppress(ProcessLookupError, UnboundLocalError):
            os.kill(server, signal.SIGKILL)


def test_sigkill_of_abm_viz_frees_the_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    viz = subprocess.Popen(
        [sys.executable, "-m", "abm.cli", "viz", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while viz_cli.port_problem("127.0.0.1", port) is None:  # until the server listens
            assert viz.poll() is None and time.monotonic() < deadline, "abm viz did not start"
            time.sleep(0.2)
        viz.send_signal(signal.SIGKILL)
        viz.wait()
        deadline = time.monotonic() + 10
        while viz_cli.port_problem("127.0.0.1", port) is not None:
            assert time.monotonic() < deadline, "the Solara server outlived abm viz"
            time.sleep(0.1)
    finally:
        viz.kill()
