"""The client side of Slurm: submit, look up, cancel and wait for batch jobs.

Talks to Slurm only through its commands (sbatch, squeue, sacct, scontrol, scancel), the way
a user on a login node does, so it works on any cluster where `sbatch` is on PATH. Every
command runs with a timeout: a hung or stopped controller gives a `SlurmError` with the
command's own message, never a hang. *env* (e.g. `{"SLURM_CONF": ...}`) is laid over this
process's environment for the command; for `submit` it reaches the job too, since sbatch
passes its environment on.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

TIMEOUT = 30.0  # seconds for one Slurm command; a healthy controller answers in milliseconds
COMMANDS = ("sbatch", "squeue", "scontrol", "scancel")  # sacct is optional: clusters without accounting
FINAL = frozenset(
    {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL"}
    | {"DEADLINE", "SPECIAL_EXIT", "REVOKED", "UNKNOWN"}
)
_GONE = ("Invalid job id", "already completing or completed")  # the job left the controller's memory
_NO_ACCOUNTING: set[str] = set()  # SLURM_CONF values whose sacct said accounting is disabled


class SlurmError(RuntimeError):
    """A Slurm command failed or did not answer; the message is the command's own."""


class WaitTimeout(SlurmError):
    """`wait` gave up; `last` is the job's state when it did."""

    def __init__(self, message: str, last: JobState):
        super().__init__(message)
        self.last = last


@dataclass(frozen=True)
class JobState:
    job_id: str
    state: str  # PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ... or UNKNOWN (gone)
    reason: str | None = None  # why it is pending or ended (Slurm's Reason), None when Slurm says None
    exit_code: int | None = None  # of the batch script, once known
    signal: int | None = None  # that killed it, when one did
    start: datetime | None = None
    end: datetime | None = None
    node: str | None = None
    source: str = ""  # which command answered: squeue, sacct, scontrol, or "" for UNKNOWN

    @property
    def finished(self) -> bool:
        return self.state in FINAL


def _run(argv: list[str], env: Mapping[str, str] | None, timeout: float, stdin: str | None = None):
    full_env = None if env is None else {**os.environ, **env}
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=full_env, timeout=timeout)
    except FileNotFoundError:
        raise SlurmError(f"{argv[0]} is not on PATH (is this a Slurm login node?)") from None
    except subprocess.TimeoutExpired:
        conf = (full_env or os.environ).get("SLURM_CONF", "the default slurm.conf")
        raise SlurmError(
            f"{argv[0]} did not answer within {timeout:g} s: is slurmctld running? (configuration: {conf})"
        ) from None


def _message(out: subprocess.CompletedProcess) -> str:
    return (out.stderr.strip() or out.stdout.strip() or f"exit status {out.returncode}").replace("\n", "; ")


def available(*, env: Mapping[str, str] | None = None, timeout: float = 10.0) -> str | None:
    """Why jobs cannot be submitted from here, or None when the controller answers."""
    path = (env or {}).get("PATH", os.environ.get("PATH"))
    for name in COMMANDS:
        if shutil.which(name, path=path) is None:
            return f"{name} is not on PATH"
    try:
        out = _run(["scontrol", "ping"], env, timeout)
    except SlurmError as exc:
        return str(exc)
    if out.returncode != 0 or "DOWN" in out.stdout:
        # scontrol ping adds a banner of asterisks below the one line that says it.
        return f"slurmctld does not answer: {(out.stdout.strip() or _message(out)).splitlines()[0]}"
    return None


def submit(
    script: str | Sequence[str],
    *,
    name: str,
    chdir: str | os.PathLike,
    output: str | os.PathLike,
    partition: str | None = None,
    account: str | None = None,
    time_limit: int | str | None = None,
    cpus: int | None = None,
    mem: int | str | None = None,
    extra: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> str:
    """Submit a batch job; return its id.

    *script* is either the text of a batch script (a `#!/bin/sh` line is added when it has
    none) or an argv, run through `--wrap`. *time_limit* is minutes or a Slurm time string
    ("1:30:00"), *mem* megabytes or a Slurm size ("2G"); *extra* are more sbatch options
    as given. stdout and stderr of the job both go to *output*.
    """
    argv = ["sbatch", "--parsable", f"--job-name={name}", f"--chdir={chdir}", f"--output={output}"]
    options = {"partition": partition, "account": account, "time": time_limit, "cpus-per-task": cpus, "mem": mem}
    argv += [f"--{key}={value}" for key, value in options.items() if value is not None]
    argv += list(extra)
    stdin = None
    if isinstance(script, str):
        stdin = script if script.startswith("#!") else "#!/bin/sh\n" + script
    else:
        argv += ["--wrap", shlex.join(script)]
    out = _run(argv, env, timeout, stdin=stdin)
    job_id = out.stdout.strip().split(";")[0]  # --parsable prints "id" or "id;cluster"
    if out.returncode != 0 or not job_id.isdigit():
        raise SlurmError(f"sbatch refused the job: {_message(out)}")
    return job_id


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:  # Unknown, N/A, None
        return None


def _exit(text: str | None) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"(\d+):(\d+)", text or "")
    return (int(match[1]), int(match[2])) if match else (None, None)


def _state(job_id: str, source: str, state: str, reason: str, exit_text: str | None, start, end, node) -> JobState:
    state = (state.split() or ["UNKNOWN"])[0].rstrip("+")  # sacct: "CANCELLED by 0"
    code, sig = _exit(exit_text) if state not in ("PENDING", "RUNNING") else (None, None)
    return JobState(
        job_id=job_id,
        state=state,
        reason=None if reason in ("", "None", "(null)") else reason,
        exit_code=code,
        signal=sig or None,
        start=_time(start) if state != "PENDING" else None,
        end=_time(end) if state in FINAL else None,
        node=None if node in (None, "", "None assigned", "(null)") else node,
        source=source,
    )


def state(job_id: str, *, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> JobState:
    """The job's state: from squeue while queued, then sacct (with accounting), then scontrol."""
    out = _run(["squeue", "-h", "-j", job_id, "-o", "%T|%r|%S|%e|%N"], env, timeout)
    if out.returncode != 0 and not any(g in out.stderr for g in _GONE):
        raise SlurmError(f"squeue failed: {_message(out)}")
    if out.returncode == 0 and out.stdout.strip():
        st, reason, start, end, node = out.stdout.strip().splitlines()[0].split("|")
        return _state(job_id, "squeue", st, reason, None, start, end, node)

    conf = (env or {}).get("SLURM_CONF", os.environ.get("SLURM_CONF", ""))
    if conf not in _NO_ACCOUNTING and shutil.which("sacct"):
        columns = "State,Reason,ExitCode,Start,End,NodeList"
        out = _run(["sacct", "-n", "-P", "-X", "-j", job_id, "-o", columns], env, timeout)
        if "accounting storage is disabled" in out.stderr:
            _NO_ACCOUNTING.add(conf)
        elif out.returncode == 0 and out.stdout.strip():
            st, reason, code, start, end, node = out.stdout.strip().splitlines()[-1].split("|")
            return _state(job_id, "sacct", st, reason, code, start, end, node)

    out = _run(["scontrol", "show", "job", "-o", job_id], env, timeout)
    if out.returncode != 0:
        if any(g in out.stderr for g in _GONE):
            return JobState(job_id, "UNKNOWN", reason="the job is no longer known to Slurm")
        raise SlurmError(f"scontrol show job failed: {_message(out)}")
    fields = dict(item.split("=", 1) for item in out.stdout.split() if "=" in item)
    return _state(
        job_id,
        "scontrol",
        fields.get("JobState", "UNKNOWN"),
        fields.get("Reason", ""),
        fields.get("ExitCode"),
        fields.get("StartTime"),
        fields.get("EndTime"),
        fields.get("NodeList"),
    )


@dataclass(frozen=True)
class Listed:
    """One job as `scontrol show job` lists it: its state, name, working folder and submit time."""

    state: JobState
    name: str
    workdir: str
    submit: datetime | None


def listed(*, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> list[Listed]:
    """Every job the controller still knows (queued, running, or finished within MinJobAge).

    What a caller uses to find the jobs a tool submitted on its own (by their working
    folder or name), since the tool does not say which ids it got.
    """
    out = _run(["scontrol", "show", "job", "-o"], env, timeout)
    if out.returncode != 0:
        raise SlurmError(f"scontrol show job failed: {_message(out)}")
    jobs = []
    for line in out.stdout.splitlines():
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "JobId" not in fields:
            continue  # "No jobs in the system"
        state = _state(
            fields["JobId"],
            "scontrol",
            fields.get("JobState", "UNKNOWN"),
            fields.get("Reason", ""),
            fields.get("ExitCode"),
            fields.get("StartTime"),
            fields.get("EndTime"),
            fields.get("NodeList"),
        )
        jobs.append(
            Listed(state, fields.get("JobName", ""), fields.get("WorkDir", ""), _time(fields.get("SubmitTime")))
        )
    return jobs


def cancel(job_ids: str | Iterable[str], *, env: Mapping[str, str] | None = None, timeout: float = TIMEOUT) -> None:
    """scancel the jobs; a job that already ended is not an error."""
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    if not ids:
        return
    out = _run(["scancel", *ids], env, timeout)
    problems = [line for line in out.stderr.splitlines() if "error" in line and not any(g in line for g in _GONE)]
    if out.returncode != 0 and (problems or not out.stderr.strip()):
        raise SlurmError(f"scancel failed: {_message(out)}")


def wait(
    job_id: str,
    timeout: float,
    *,
    poll: float = 1.0,
    env: Mapping[str, str] | None = None,
    command_timeout: float = TIMEOUT,
) -> JobState:
    """Poll the job until it has finished; return its final state, or raise WaitTimeout."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        current = state(job_id, env=env, timeout=max(min(command_timeout, remaining), 1.0))
        if current.finished:
            return current
        if time.monotonic() + poll > deadline:
            raise WaitTimeout(f"job {job_id} still {current.state} after {timeout:g} s", current)
        time.sleep(poll)
