"""`abm viz [SCENARIO.toml] [--host 127.0.0.1] [--port N]`: serve the interactive page.

The page (:mod:`abm.viz.app`) runs in a Solara server started as a subprocess; the scenario
path reaches it through the ``ABM_VIZ_SCENARIO`` environment variable. The server binds to
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from abm.viz import SCENARIO_ENV

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP_MODULE = "abm.viz.app"


def _port(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number 0-65535, got {text}")
    return v


def server_command(host: str, port: int) -> list[str]:
    """The command that runs the Solara server for the page."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def server_env(scenario: str | None) -> dict[str, str]:
    """Environment of the server: the scenario path, no telemetry, assets served locally."""
    env = dict(os.environ)
    env.pop(SCENARIO_ENV, None)
    if scenario:
        env[SCENARIO_ENV] = str(Path(scenario).resolve())
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    return env


def cmd_viz(args: argparse.Namespace) -> int:
    from abm.scenario import load_scenario

    sc = load_scenario(args.scenario)  # bad files fail here, with abm's usual message
    try:
        import mesa.visualization  # noqa: F401  (needs the viz extra: solara, altair)
        import solara  # noqa: F401
    except ImportError as err:
        print(
            f"error: the visualisation needs the viz extra (pip install -e '.[viz]'): {err}",
            file=sys.stderr,
        )
        return 2
    print(
        f"abm viz: scenario {sc.name!r} at http://{args.host}:{args.port}/ (Ctrl-C stops)",
        flush=True,
    )
    proc = subprocess.Popen(server_command(args.host, args.port), env=server_env(args.scenario))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # terminate: stop the server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``viz`` subcommand to the ``abm`` parser."""
    v = sub.add_parser("viz", help="interactive visualisation in the browser (Mesa SolaraViz)")
    v.add_argument("scenario", nargs="?", help="starting scenario TOML (default: baseline)")
    v.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    v.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    v.set_defaults(func=cmd_viz)
