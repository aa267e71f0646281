"""``python -m abm.viz.guard PARENT_PID MODULE [ARG ...]``: run ``python -m MODULE ARG ...``
in this process, and end it as soon as process PARENT_PID is gone.

The fallback of :func:`abm.viz.cli.start_server` where Linux's parent-death signal is not
available: a daemon thread polls the parent every :data:`POLL_S` seconds, so the server
started by ``abm viz`` never outlives it (also after a SIGKILL of ``abm viz``).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time

POLL_S = 0.5


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(0)  # the parent is gone (we were re-parented): no clean-up to wait for


def main(argv: list[str]) -> None:
    parent_pid, module, *args = argv
    threading.Thread(target=_watch, args=(int(parent_pid),), daemon=True).start()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
