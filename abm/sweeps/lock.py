"""One sweep at a time in a results directory: ``DIR/.lock``.

A sweep holds an exclusive ``flock`` on ``DIR/.lock`` while it runs, and writes into the file
who holds it (host, pid, start time, command). A second sweep into the same directory is
refused, naming the holder. The kernel releases a flock when its process dies, so the lock of a
killed sweep is free: the next sweep takes it over and says so (the file still names the dead
process). On a file system without flock, the recorded process decides: a process of this host
that is no longer running has left a stale lock, which is taken over; a live one, or one of
another host, holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from abm.jsonio import json_text
from abm.outputs import OutputError, process_alive

__all__ = ["DirectoryLock", "LockError"]


class LockError(OutputError):
    """Another sweep is writing into the directory."""


class DirectoryLock:
    """The lock of one sweep directory (:meth:`acquire`, :meth:`release`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / ".lock"
        self._fd: int | None = None

    def acquire(self) -> str | None:
        """Take the lock; returns a message if a dead sweep's lock was taken over.

        Raises:
            LockError: another sweep holds it.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            holder = _read(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._held(holder) from None
            except OSError:  # no flock on this file system: the recorded process decides
                if holder and (holder.get("host") != _host() or process_alive(holder.get("pid"))):
                    raise self._held(holder) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json_text(_me()).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        if holder and holder.get("pid") != os.getpid():
            return (
                f"{self.folder}: took over the lock of the sweep {_who(holder)}, which is no "
                "longer running"
            )
        return None

    def release(self) -> None:
        """Give the lock up (the file stays, empty: it names no holder)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            os.close(self._fd)  # (closing releases the flock)
            self._fd = None

    def _held(self, holder: dict) -> LockError:
        return LockError(
            f"{self.folder}: another sweep is writing into this directory "
            f"({_who(holder) if holder else 'holder unknown'}); wait for it to finish or "
            "stop it, or use another --out"
        )


def _host() -> str:
    return socket.gethostname()


def _me() -> dict:
    return {
        "host": _host(),
        "pid": os.getpid(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join(sys.argv),
    }


def _read(fd: int) -> dict:
    """The recorded holder ({} if none or unreadable)."""
    try:
        data = json.loads(os.pread(fd, 65536, 0).decode())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _who(holder: dict) -> str:
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started "
        f"{holder.get('started_utc', '?')}"
    )
