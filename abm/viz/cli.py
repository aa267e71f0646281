"""`abm viz [SCENARIO.toml] [--host 127.0.0.1] [--port N]`: serve the interactive page.

The page (:mod:`abm.viz.app`) runs in a Solara server started as a subprocess; the scenario
path reaches it through the ``ABM_VIZ_SCENARIO`` environment variable. The server binds to
127.0.0.1 unless told otherwise. Before any URL is printed, the address is tried: a port
already in use (or an address that cannot be bound) is an ``error:`` (exit 2). The server dies
with ``abm viz``, however that ends (:func:`start_server`): it runs in its own process group,
stopped as a whole on Ctrl-C or SIGTERM, and is SIGKILLed by Linux when ``abm viz`` dies
(``prctl(PR_SET_PDEATHSIG)``; elsewhere :mod:`abm.viz.guard` ends it within a second).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from abm.viz import SCENARIO_ENV

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
APP_MODULE = "abm.viz.app"
PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2  # linux/prctl.h
STOP_TIMEOUT_S = 10.0


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


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port (None: it can). Binds as the server will
    (SO_REUSEADDR), so only an address in use by a listening socket, not one in TIME_WAIT,
    counts as taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        return f"--host {host}: not an address of this machine ({err.strerror})"
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                return (
                    f"{host}:{port} is already in use (another abm viz?): stop it or choose "
                    "another --port"
                )
            return f"cannot listen on {host}:{port} ({err.strerror or err})"
    return None


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGKILL the child when this process dies, or None where
    prctl(PR_SET_PDEATHSIG) is not available."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
        probe = ctypes.c_int()
        if prctl(PR_GET_PDEATHSIG, ctypes.byref(probe), 0, 0, 0) != 0:
            return None
    except (OSError, AttributeError):  # not Linux
        return None
    parent = os.getpid()

    def die_with_parent() -> None:  # runs in the child, between fork and exec
        if prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
            os._exit(1)  # cannot be tied to the parent, or it is already gone

    return die_with_parent


def start_server(command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command` (``python -m MODULE ...``) in its own process group, dying with this
    process: by the parent-death signal, else through :mod:`abm.viz.guard`."""
    preexec = _parent_death_signal()
    if preexec is None:
        command = [command[0], "-m", "abm.viz.guard", str(os.getpid()), *command[2:]]
    return subprocess.Popen(command, env=env, process_group=0, preexec_fn=preexec)


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
            return
        except subprocess.TimeoutExpired:
            continue


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
    problem = port_problem(args.host, args.port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(
        f"abm viz: scenario {sc.name!r} at http://{args.host}:{args.port}/ (Ctrl-C stops)",
        flush=True,
    )
    proc = start_server(server_command(args.host, args.port), env=server_env(args.scenario))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # terminate: stop the server too
    try:
        return proc.wait()
    except KeyboardInterrupt:
        stop_server(proc)
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
