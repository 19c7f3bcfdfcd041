"""Which network addresses the runner's Python processes tried to reach, for the ``cost`` check.

`install` adds a Python audit hook (PEP 578) to the runner process and, through a
``sitecustomize`` module put first on ``PYTHONPATH``, to every Python process started from
it (tool CLIs, DVC's queue workers, Metaflow's tasks, ``mlflow server``, notebook kernels).
The hook appends one line to ``<workspace>/tmp/netwatch/events.log`` per process start and per
``socket.connect`` / ``socket.sendto`` / ``socket.getaddrinfo`` with a host, loopback or not.
It only observes: it never blocks a call, and any error inside it is swallowed. Processes that
are not Python (git, curl, a shell) are not seen.

An existing ``sitecustomize`` further down the path is still run after ours.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

FOLDER = Path("tmp") / "netwatch"
LOG = "events.log"

# Runs in every Python process of the run: self-contained, no mlops_compare import.
HOOK = r"""
import os, sys

def _mlops_compare_netwatch(log):
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"

    def write(text):
        try:
            with open(log, "a") as handle:
                handle.write(f"{os.getpid()}\t{name}\t{text}\n")
        except Exception:
            pass

    def hook(event, args):
        try:
            if not event.startswith("socket.") or event not in ("socket.connect", "socket.sendto", "socket.getaddrinfo"):
                return
            address = args[0] if event == "socket.getaddrinfo" else args[-1]
            if event == "socket.getaddrinfo":
                host, port = args[0], args[1]
            elif isinstance(address, tuple) and len(address) >= 2:
                host, port = address[0], address[1]
            else:
                return  # a Unix socket path
            if isinstance(host, bytes):
                host = host.decode(errors="replace")
            if host is None:
                return
            write(f"{event}\t{host}\t{port}")
        except Exception:
            pass

    write("start\t-\t-")
    sys.addaudithook(hook)
"""

SITECUSTOMIZE = (
    HOOK
    + r"""
_mlops_compare_netwatch(os.path.join(os.path.dirname(os.path.abspath(__file__)), "events.log"))

def _mlops_compare_next_sitecustomize():
    import importlib.machinery, importlib.util
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)

_mlops_compare_next_sitecustomize()
"""
)


def install(workspace: Path) -> Path:
    """Watch this process and every Python process it starts; returns the log file."""
    folder = workspace / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)
    log = folder / LOG
    namespace: dict = {}
    exec(compile(HOOK, str(folder / "sitecustomize.py"), "exec"), namespace)
    namespace["_mlops_compare_netwatch"](str(log))
    return log


def is_loopback(host: str) -> bool:
    if host in ("localhost", "", "0.0.0.0", "::"):  # binding every interface is not reaching out
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host.endswith(".localhost")


@dataclass
class Seen:
    """What the log says: processes watched, loopback calls, and every other host by program."""

    processes: int = 0
    loopback: int = 0
    outside: dict[str, set[str]] = field(default_factory=dict)  # "host:port" -> programs


def read(workspace: Path) -> Seen:
    seen = Seen()
    log = workspace / FOLDER / LOG
    if not log.is_file():
        return seen
    for line in log.read_text(errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        _, program, event, host, port = parts
        if event == "start":
            seen.processes += 1
        elif is_loopback(host):
            seen.loopback += 1
        else:
            seen.outside.setdefault(f"{host}:{port}", set()).add(program)
    return seen
