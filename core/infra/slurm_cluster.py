"""A real, throwaway single-node Slurm: for the tests and for trying `--executor slurm`.

Runs as root without systemd: munged, slurmctld and slurmd are foreground children of this
process (daemon mode leaves zombies when PID 1 reaps slowly), and every file they write
(key, socket, state, spool, pids, logs) lives under one folder. Clients reach the cluster
through `Cluster.env` (SLURM_CONF), so the machine's own /etc/slurm is never read or changed.

    python -m mlops_compare.infra.slurm_cluster start [--dir D]   # prints `export SLURM_CONF=...`
    python -m mlops_compare.infra.slurm_cluster check             # start, one trivial job, timings, stop

Needs Debian's `slurm-wlm` and `munge` (`apt-get install slurm-wlm munge`).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

INSTALL_HINT = "apt-get install slurm-wlm munge"
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
STOP_ORDER = ("slurmd", "slurmctld", "munged")  # nodes first, so the controller does not mark them down
COMMAND_TIMEOUT = 10.0  # seconds for one client command (sinfo, squeue, scancel) of our own
_RUNNING: set[Cluster] = set()


class ClusterError(RuntimeError):
    """The cluster could not be started (the message carries the daemons' log tails)."""


def _search_path() -> str:
    # The daemons live in /usr/sbin, which a non-login shell may not have on PATH.
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def missing() -> str | None:
    """Why a cluster cannot be started here, or None when everything is installed."""
    absent = [name for name in PROGRAMS if shutil.which(name, path=_search_path()) is None]
    if absent:
        return f"{', '.join(absent)} not installed: {INSTALL_HINT}"
    if os.geteuid() != 0:
        return "a throwaway Slurm runs its daemons as root; run as root"
    return None


def _program(name: str) -> str:
    found = shutil.which(name, path=_search_path())
    if found is None:
        raise ClusterError(f"{name} not installed: {INSTALL_HINT}")
    return found


def _free_ports(count: int) -> list[int]:
    """Ports nobody listens on now; all held open together so the kernel gives distinct ones."""
    held = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("", 0))
            held.append(s)
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def _node_lines(hostname: str) -> tuple[str, str]:
    """The node's hardware as `slurmd -C` sees it, with a little memory held back.

    RealMemory above what slurmd measures at registration drains the node ("Low RealMemory"),
    and free memory shifts a little between runs, so configure slightly less.
    """
    out = subprocess.run([_program("slurmd"), "-C"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if out.returncode != 0 or not out.stdout.strip():
        raise ClusterError(f"slurmd -C could not describe this machine: {out.stderr.strip()}")
    fields = dict(f.split("=", 1) for f in out.stdout.splitlines()[0].split() if "=" in f)
    fields.pop("NodeName", None)
    memory = int(fields.get("RealMemory", "1024"))
    fields["RealMemory"] = str(max(memory - max(memory // 50, 256), 256))
    keep = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
    node = f"NodeName={hostname} NodeAddr=127.0.0.1 " + " ".join(f"{k}={fields[k]}" for k in keep if k in fields)
    # Without a default a job that does not ask for memory gets all of it, and jobs run one at a time.
    per_cpu = int(fields["RealMemory"]) // max(int(fields.get("CPUs", "1")), 1)
    return node, f"DefMemPerCPU={per_cpu}"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"  ({path.name}: no log)"
    return "\n".join(f"  {path.name}: {line}" for line in text) or f"  ({path.name}: empty)"


def _name(process) -> str:
    try:
        return process.name()
    except Exception:  # gone meanwhile (psutil.Error)
        return ""


def _parent_death_signal():
    """A preexec_fn that makes the child get SIGTERM when the thread that started it dies.

    So no daemon outlives a test run that was killed. Linux only (None elsewhere); resolved
    here in the parent, because importing in a forked child can deadlock on the import lock.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class Cluster:
    """One single-node Slurm; use as a context manager or call `start()` and `stop()`.

    *folder* holds everything; when None a temporary folder is made and removed by `stop()`.
    *min_job_age* (seconds) stays Slurm's default (300) unless given: a small value makes
    `sbatch --wait` return sooner, but finished jobs then vanish from `squeue`/`scontrol`
    before the tools' plugins look them up. *settings* add or replace slurm.conf keys, e.g.
    `{"SchedulerParameters": "batch_sched_delay=0"}` (jobs start in about 1 s instead of 1-3 s).
    """

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        min_job_age: int | None = None,
        partition: str = "debug",
        settings: Mapping[str, str] | None = None,
    ):
        self._own_folder = folder is None
        self.folder = Path(tempfile.mkdtemp(prefix="slurm-")) if folder is None else Path(folder).resolve()
        if self._own_folder:
            self.folder.chmod(0o755)  # munged wants its socket reachable by every user
        self.min_job_age = min_job_age
        self.partition = partition
        self.settings = dict(settings or {})
        self.hostname = socket.gethostname().split(".")[0]
        self.conf = self.folder / "slurm.conf"
        self.processes: dict[str, subprocess.Popen] = {}  # daemon name -> its process
        self.started_in: float | None = None  # seconds from start() until the node was idle

    @property
    def env(self) -> dict[str, str]:
        """Environment variables a client (sbatch, squeue, a runner) needs to reach this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def _client_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def write_config(self, slurmctld_port: int, slurmd_port: int) -> None:
        f = self.folder
        for sub in ("state", "spool", "log", "run"):
            (f / sub).mkdir(parents=True, exist_ok=True)
        lines = [
            "# A throwaway single-node cluster written by mlops_compare.infra.slurm_cluster.",
            "ClusterName=mlopscompare",
            f"SlurmctldHost={self.hostname}(127.0.0.1)",
            f"SlurmctldPort={slurmctld_port}",
            f"SlurmdPort={slurmd_port}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={f / 'run' / 'munge.socket'}",
            f"StateSaveLocation={f / 'state'}",
            f"SlurmdSpoolDir={f / 'spool'}",
            f"SlurmctldPidFile={f / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={f / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={f / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={f / 'log' / 'slurmd.log'}",
            # No cgroups: works in containers and without systemd.
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",  # a node that was down comes back by itself when slurmd registers
            "MpiDefault=none",
            "MailProg=/bin/true",  # no mailer here
            "KillWait=5",  # seconds from SIGTERM to SIGKILL for a cancelled job: stop() stays quick
            # slurmctld and slurmd listen on 127.0.0.1 only (SlurmctldHost's and NodeAddr's
            # address), not on every address of the machine
            "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny",
            *_node_lines(self.hostname),
            f"PartitionName={self.partition} Nodes={self.hostname} Default=YES MaxTime=INFINITE State=UP",
        ]
        if self.min_job_age is not None:
            lines.append(f"MinJobAge={self.min_job_age}")
        # A key given twice works (the last wins) but slurmctld logs an error for it: replace instead.
        lines = [line for line in lines if line.split("=", 1)[0] not in self.settings]
        lines += [f"{key}={value}" for key, value in self.settings.items()]
        self.conf.write_text("\n".join(lines) + "\n")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.folder / "log" / f"{name}.out", "ab")  # noqa: SIM115 - kept by the child
        with log:
            self.processes[name] = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._client_env(),
                # Ctrl+C in a terminal reaches only us: stop() cancels the jobs, then ends them in order.
                start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )

    def _failure(self, why: str) -> ClusterError:
        dead = [f"{n} exited with {p.returncode}" for n, p in self.processes.items() if p.poll() is not None]
        # The daemons' stdout/stderr: the same lines as their log files, plus fatal errors
        # (a bad slurm.conf, a busy port) that come before a log file is opened.
        tails = [_tail(self.folder / "log" / f"{name}.out") for name in self.processes]
        return ClusterError("\n".join([why + (f" ({'; '.join(dead)})" if dead else ""), *tails]))

    def _wait_until(self, check, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if any(p.poll() is not None for p in self.processes.values()):
                raise self._failure(f"Slurm did not start: a daemon exited while waiting for {what}")
            if time.monotonic() > deadline:
                raise self._failure(f"Slurm did not start: no {what} after {timeout:.0f} s")
            time.sleep(0.1)

    def _node_state(self) -> str:
        try:
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%T"],
                capture_output=True,
                text=True,
                env=self._client_env(),
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return ""
        return out.stdout.strip()

    def start(self, timeout: float = 30) -> Cluster:
        """Start munged, slurmctld and slurmd; return once the node is idle, or raise ClusterError."""
        why = missing()
        if why:
            raise ClusterError(why)
        began = time.monotonic()
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        ctld_port, slurmd_port = _free_ports(2)
        self.write_config(ctld_port, slurmd_port)
        key = f / "run" / "munge.key"
        if not key.exists():
            if shutil.which("mungekey", path=_search_path()):
                subprocess.run([_program("mungekey"), "--create", f"--keyfile={key}"], check=True, timeout=30)
            else:  # older munge: a key is just random bytes that only root may read
                key.write_bytes(os.urandom(1024))
            key.chmod(0o600)
        _RUNNING.add(self)
        try:
            socket_path = f / "run" / "munge.socket"
            # --force: munged refuses a socket folder below world-writable /tmp otherwise.
            self._spawn(
                "munged",
                [_program("munged"), "-F", "--force", f"--socket={socket_path}", f"--key-file={key}"]
                + [f"--pid-file={f / 'run' / 'munged.pid'}", f"--log-file={f / 'log' / 'munged.log'}"]
                + [f"--seed-file={f / 'run' / 'munged.seed'}"],
            )
            self._wait_until(socket_path.exists, timeout, "munge socket")
            # -c: a reused --dir starts with an empty queue, not jobs from last time.
            self._spawn("slurmctld", [_program("slurmctld"), "-D", "-c", "-f", str(self.conf)])
            self._spawn("slurmd", [_program("slurmd"), "-D", "-f", str(self.conf)])
            # sinfo against a controller not yet listening retries only after a second.
            self._wait_until(lambda: _listening(ctld_port), timeout - (time.monotonic() - began), "slurmctld port")
            self._wait_until(lambda: self._node_state() == "idle", timeout - (time.monotonic() - began), "idle node")
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def jobs(self) -> list[str]:
        """Ids of the jobs in the queue (pending, running or completing)."""
        try:
            out = subprocess.run(
                ["squeue", "-h", "-o", "%i"],
                capture_output=True,
                text=True,
                env=self._client_env(),
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise ClusterError(f"squeue did not answer within {COMMAND_TIMEOUT:g} s") from None
        if out.returncode != 0:
            raise ClusterError(f"squeue failed: {out.stderr.strip()}")
        return out.stdout.split()

    def _cancel_all(self, timeout: float = 15) -> None:
        """scancel every job and wait until slurmd has killed them, so no job outlives the cluster."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ClusterError, subprocess.SubprocessError, OSError):
            ids = self.jobs()
            if ids:
                subprocess.run(["scancel", *ids], capture_output=True, env=self._client_env(), timeout=COMMAND_TIMEOUT)
            while ids and time.monotonic() < deadline:
                time.sleep(0.2)
                ids = self.jobs()

    def stop(self, grace: float = 5) -> None:
        """Cancel all jobs, SIGTERM slurmd, slurmctld and munged, SIGKILL any still alive after *grace* s."""
        alive = {n: p for n, p in self.processes.items() if p.poll() is None}
        if "slurmctld" in alive and "slurmd" in alive and "munged" in alive:
            self._cancel_all()
        for name in STOP_ORDER:
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(grace)
        self.end_steps()  # jobs whose slurmd died (or was not stopped in time) keep their slurmstepd
        _RUNNING.discard(self)
        if self._own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def steps(self) -> list[int]:
        """Pids of this cluster's slurmstepd processes (found by the SLURM_CONF they inherit), alive now."""
        from mlops_compare.infra import proctree

        return [p.pid for p in proctree.with_env("SLURM_CONF", str(self.conf)) if _name(p) == "slurmstepd"]

    def end_steps(self) -> list[int]:
        """SIGKILL every slurmstepd of this cluster and the job processes under it; their pids.

        slurmd leaves its jobs' slurmstepd behind when it dies: without this, a job and its
        step daemon lived on for minutes after the cluster was gone.
        """
        import psutil
        from mlops_compare.infra import proctree

        ended = self.steps()
        for pid in ended:
            with contextlib.suppress(psutil.Error):
                proctree.kill([*proctree.descendants(pid), psutil.Process(pid)])
        return ended

    def running(self) -> bool:
        return any(p.poll() is None for p in self.processes.values())

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    """A cluster the caller forgot to stop does not outlive the interpreter."""
    for cluster in list(_RUNNING):
        cluster.stop()


def _check(cluster: Cluster) -> int:
    began = time.monotonic()
    out = subprocess.run(
        ["sbatch", "--wait", "--parsable", f"--chdir={cluster.folder}", "--output=/dev/null", "--wrap", "hostname"],
        capture_output=True,
        text=True,
        env=cluster._client_env(),
        timeout=120,
    )
    took = time.monotonic() - began
    print(f"cluster started in {cluster.started_in:.2f} s")
    print(f"sbatch --wait --wrap hostname: job {out.stdout.strip() or '?'} exit {out.returncode} in {took:.2f} s")
    if out.returncode:
        print(out.stderr.strip(), file=sys.stderr)
    return 0 if out.returncode == 0 else 1


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlops_compare.infra.slurm_cluster", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command, text in (
        ("start", "start a cluster and keep it running until Ctrl+C"),
        ("check", "start a cluster, run one trivial job with sbatch --wait, print timings, stop"),
    ):
        one = sub.add_parser(command, help=text, description=text)
        one.add_argument("--dir", type=Path, help="keep the cluster's files here (default: a temporary folder)")
        one.add_argument("--min-job-age", type=int, help="seconds finished jobs stay visible (Slurm's default: 300)")
    args = parser.parse_args(argv)

    why = missing()
    if why:
        print(f"slurm_cluster: {why}", file=sys.stderr)
        return 2
    # SIGTERM (e.g. from a supervisor) stops the cluster like Ctrl+C does; so does SIGINT when
    # a shell started us in the background with SIGINT ignored (Python then installs no handler).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    cluster = Cluster(args.dir, min_job_age=args.min_job_age)
    try:
        cluster.start()
    except ClusterError as exc:
        print(f"slurm_cluster: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    try:
        if args.command == "check":
            return _check(cluster)
        for key, value in cluster.env.items():
            print(f"export {key}={value}")
        print(f"# Slurm is up ({cluster.started_in:.1f} s), files in {cluster.folder}; Ctrl+C stops it.", flush=True)
        while all(p.poll() is None for p in cluster.processes.values()):
            time.sleep(1)
        print("slurm_cluster: a daemon exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
