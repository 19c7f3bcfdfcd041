"""Finding and ending processes: the one place that walks the process table (with psutil).

A runner's process group is killed when its run ends, but some tools put their helpers
elsewhere: DVC's queue workers start new sessions, `mlflow server` forks uvicorn workers.
They are found here by what they cannot shed: being a descendant of a known process, an
inherited environment variable (the launcher's run token), or a working directory inside
the runner's workspace.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

import psutil

KILL_WAIT = 5.0  # seconds kill() waits for SIGKILLed processes to be gone
EXEC_SETTLE = 0.05  # seconds before a process caught inside execve is read again


def descendants(pid: int) -> list[psutil.Process]:
    """Every living descendant of *pid* (empty if it is gone)."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def with_env(name: str, value: str) -> list[psutil.Process]:
    """Processes (not this one) whose environment has ``name=value``.

    A process inside execve shows an empty environment until the kernel has set up its new
    image (Popen has returned by then: 9-30 % of reads right after it came back empty here, on
    a loaded machine); such processes are read once more after `EXEC_SETTLE` seconds.
    """
    needle = f"{name}={value}".encode()
    found, blank = [], []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        environ = _environ(proc)
        if environ is None:
            continue  # gone, or not ours to read
        if needle in environ.split(b"\0"):
            found.append(proc)
        elif not environ and not _kernel_thread(proc):
            blank.append(proc)
    if blank:
        time.sleep(EXEC_SETTLE)
        found += [proc for proc in blank if needle in (_environ(proc) or b"").split(b"\0")]
    return found


def _environ(proc: psutil.Process) -> bytes | None:
    # the raw file, not Process.environ(): no decoding of every process's environment
    try:
        return Path(f"/proc/{proc.pid}/environ").read_bytes()
    except OSError:
        return None


def _kernel_thread(proc: psutil.Process) -> bool:
    """kthreadd and its children: an empty environment for good."""
    try:
        return proc.pid == 2 or proc.ppid() == 2
    except psutil.Error:
        return True


def working_in(folder: Path, started_after: float | None = None) -> list[psutil.Process]:
    """Processes whose working directory is *folder* or below it, except this one and its ancestors.

    *started_after* (a `create_time`) keeps older processes out: a shell a user left in the
    folder is not ours to kill.
    """
    me = psutil.Process()
    skip = {me.pid, *(p.pid for p in me.parents())}
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "create_time"]):
        info = proc.info
        if info["pid"] in skip or not info["cwd"]:
            continue
        if started_after is not None and (info["create_time"] or 0) < started_after:
            continue
        cwd = Path(info["cwd"])
        if cwd == folder or folder in cwd.parents:
            found.append(proc)
    return found


def terminate(procs: Iterable[psutil.Process]) -> None:
    """SIGTERM each of *procs*, without waiting (one already gone is no error)."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()


def kill(procs: Iterable[psutil.Process], grace: float = 0.0) -> int:
    """End *procs*: SIGTERM and up to *grace* seconds to exit, then SIGKILL; return how many were alive."""
    procs = [proc for proc in procs if proc.is_running()]
    rest = procs
    if grace > 0:
        terminate(procs)
        _, rest = psutil.wait_procs(procs, timeout=grace)
    for proc in rest:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    # SIGKILL is delivered when the process next runs: on a loaded machine it was seen still
    # running after kill() returned. Wait (briefly) until each is gone or a zombie.
    deadline = time.monotonic() + KILL_WAIT
    while any(alive(proc.pid) for proc in rest) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(procs)
