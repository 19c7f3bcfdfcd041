"""The Slurm side of the `hpc` check, shared by every runner: submit, find, watch, time, cancel.

A tool that submits its own jobs (DVC's `srun` stages, MLflow's and Metaflow's Slurm plugins)
does not say which job ids it got, so `SlurmJobs` finds them the way an administrator would:
every job whose working folder lies inside the runner's workspace is this check's job
(`slurm.listed`, i.e. `scontrol show job`). A watcher thread polls while a route runs, so job
states, queue wait and run time are known even for jobs that leave the controller's memory
quickly, and `ctx.progress` shows the jobs finishing live.

No job outlives the check: `cancel_on_term` scancels every unfinished job of the workspace
when the check ends, whatever way it ends, and on SIGTERM (the launcher's cancel or timeout)
before the runner exits.

`Route` is one way of getting the grid onto Slurm (a tool's plugin, or a wrapper the user
writes) and what it took; `verdict` turns the routes into the check's outcome:
pass = a route where the tool submitted the jobs itself and tracked the results,
partial = only a wrapper the user writes worked, fail = nothing did (with the reasons).
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare import events
from mlops_compare.example import common
from mlops_compare.infra import slurm
from mlops_compare.runners.context import CommandError, Context, Outcome, cleanup_on_term

DEFAULT_TIME_LIMIT = "10"  # minutes per job when [exam.hpc] sets none: a stuck job ends by itself
# Memory per grid job when [exam.hpc] sets none. Never the site's default: where a site has no
# DefMemPerCPU, a job without --mem is given the whole node and jobs run one at a time.
DEFAULT_MEM = "1G"
DEFAULT_QUEUE_TIMEOUT = 900.0  # seconds a job may stay PENDING before the route gives up on it
JOB_TIMEOUT = (120.0, 60.0)  # wait for a route's jobs: 120 s + 60 s per job, then give up
SHARED_FS = (
    "the workspace under /tmp plays the shared file system (one machine: login and compute node are the same host)"
)


@dataclass
class Route:
    """One way of running the grid as Slurm jobs, and what it took."""

    name: str  # e.g. "mlflow-slurm 1.0.6 (MLflow Projects backend)"
    native: bool  # the tool itself submitted the jobs (True) or a script the user writes did
    ok: bool = False
    why: str = ""  # why it did not work: the tool's own error where there is one
    jobs: list[dict[str, Any]] = field(default_factory=list)
    glue_lines: int = 0  # lines the user writes for this route (scripts, changed config lines)
    installed: str = "nothing"
    configured: str = "nothing"
    seconds: float = 0.0
    max_abs_diff: float | None = None  # of the tracked metrics versus the plain baseline
    tracked: str = ""  # where the tool keeps the results
    site: str = ""  # what the route needed from the site (login node, shared path, services), never root


def compare(ctx: Context, retrieved: dict[str, dict[str, float]]) -> tuple[float, list[str]]:
    """Largest |difference| of *retrieved* from the plain baseline, and the grid points missing."""
    worst = 0.0
    missing = []
    for key, expected in ctx.baseline.items():
        got = retrieved.get(key)
        if got is None:
            missing.append(key)
            continue
        for metric in ("rmse", "mae", "r2"):
            diff = abs(float(got[metric]) - float(expected[metric]))
            worst = max(worst, math.inf if math.isnan(diff) else diff)
    return worst, missing


def check_metrics(ctx: Context, route: Route, retrieved: dict[str, dict[str, float]]) -> None:
    """Mark *route* ok when every grid point came back through the tool equal to the baseline."""
    worst, missing = compare(ctx, retrieved)
    route.max_abs_diff = worst
    failed = [j for j in route.jobs if j["state"] != "COMPLETED"]
    if failed:
        route.why = "; ".join(
            f"job {j['id']} {j['state']}" + (f" ({j['reason']})" if j["reason"] else "") for j in failed
        )
    elif missing:
        route.why = f"no tracked result for {', '.join(missing)}"
    elif worst > events.AGREEMENT_TOLERANCE:
        route.why = f"metrics differ from the plain baseline by up to {worst:.3g}"
    else:
        route.ok = True


def _seconds(a, b) -> float | None:
    return None if a is None or b is None else max((b - a).total_seconds(), 0.0)


class SlurmJobs:
    """The Slurm jobs of one runner's `hpc` check (see the module docstring)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.settings: dict[str, Any] = dict(ctx.exam.get("hpc") or {})
        self.folder = ctx.workspace.resolve()
        self.poll = float(self.settings.get("poll_seconds", 1.0))
        self.seen: dict[str, slurm.Listed] = {}
        self.cancelled: list[str] = []
        self._lock = threading.Lock()

    # --- what a job asks for, from [exam.hpc] ------------------------------------------------
    def options(self, cpus: int | None = None) -> dict[str, Any]:
        """Keyword arguments for `slurm.submit`."""
        return {
            "partition": self.settings.get("partition"),
            "account": self.settings.get("account"),
            "time_limit": self.settings.get("time_limit", DEFAULT_TIME_LIMIT),
            "cpus": cpus or self.settings.get("cpus"),
            "mem": self.settings.get("mem", DEFAULT_MEM),
            "extra": list(self.settings.get("options", [])),
        }

    def flags(self, cpus: int | None = None) -> list[str]:
        """The same as sbatch/srun command-line options."""
        names = {"partition": "partition", "account": "account", "time_limit": "time", "cpus": "cpus-per-task"}
        names["mem"] = "mem"
        opts = self.options(cpus)
        out = [f"--{flag}={opts[key]}" for key, flag in names.items() if opts[key] is not None]
        return out + opts["extra"]

    # --- jobs ------------------------------------------------------------------------------
    def available(self) -> str | None:
        return slurm.available()

    def submit(self, script: str | list[str], *, name: str, chdir: Path, output: Path, cpus: int | None = None) -> str:
        """sbatch a job the runner itself writes (the wrapper routes); returns its id."""
        job_id = slurm.submit(script, name=name, chdir=chdir, output=output, **self.options(cpus))
        self.ctx.log(f"sbatch: job {job_id} ({name}) submitted")
        self.refresh()
        return job_id

    def mine(self, job: slurm.Listed) -> bool:
        return bool(job.workdir) and Path(job.workdir).resolve().is_relative_to(self.folder)

    def refresh(self) -> dict[str, slurm.Listed]:
        """Look the workspace's jobs up again; returns every job seen so far (id -> last state)."""
        jobs = [job for job in slurm.listed() if self.mine(job)]
        with self._lock:
            for job in jobs:
                old = self.seen.get(job.state.job_id)
                if old is None or old.state.state != job.state.state:
                    reason = f" ({job.state.reason})" if job.state.reason else ""
                    self.ctx.log(f"slurm job {job.state.job_id} ({job.name}): {job.state.state}{reason}")
                self.seen[job.state.job_id] = job
            return dict(self.seen)

    @contextlib.contextmanager
    def watching(self, label: str, expected: int) -> Iterator[set[str]]:
        """Poll in the background while the block runs; yields the ids of the jobs that appeared in it."""
        before = set(self.refresh())
        new: set[str] = set()
        stop = threading.Event()

        def loop() -> None:
            done = -1
            while not stop.wait(self.poll):
                try:
                    seen = self.refresh()
                except slurm.SlurmError as exc:
                    self.ctx.log(f"slurm: {exc}")
                    continue
                new.update(set(seen) - before)
                finished = sum(seen[i].state.finished for i in new)
                if finished != done:
                    done = finished
                    self.ctx.progress(finished, max(expected, len(new)), f"hpc: {label}")

        thread = threading.Thread(target=loop, name="slurm-watch", daemon=True)
        thread.start()
        try:
            yield new
        finally:
            stop.set()
            thread.join(timeout=30)
            with contextlib.suppress(slurm.SlurmError):
                new.update(set(self.refresh()) - before)

    @property
    def queue_timeout(self) -> float:
        return float(self.settings.get("queue_timeout", DEFAULT_QUEUE_TIMEOUT))

    def wait(self, ids: list[str] | set[str], timeout: float | None = None) -> None:
        """Until every job in *ids* has ended; raises TimeoutError naming the states after *timeout* s.

        A job still PENDING `queue_timeout` s after the wait began ends the wait at once, naming
        the reason Slurm gives for it (Resources, Priority, QOSMaxJobsPerUserLimit, ...).
        """
        ids = set(ids)
        timeout = timeout if timeout is not None else JOB_TIMEOUT[0] + JOB_TIMEOUT[1] * len(ids)
        began = time.monotonic()
        deadline = began + timeout
        while True:
            seen = self.refresh()
            open_ = [i for i in ids if i not in seen or not seen[i].state.finished]
            if not open_:
                return
            now = time.monotonic()
            pending = [i for i in open_ if i in seen and seen[i].state.state == "PENDING"]
            if pending and now - began > self.queue_timeout:
                raise TimeoutError(
                    f"Slurm could not start job(s) within the queue timeout ({self.queue_timeout:g} s, "
                    "[exam.hpc] queue_timeout): "
                    + ", ".join(f"{i} PENDING ({seen[i].state.reason or 'no reason given'})" for i in sorted(pending))
                )
            if now > deadline:
                states = ", ".join(_described(i, seen) for i in sorted(open_))
                raise TimeoutError(f"Slurm jobs still not finished after {timeout:g} s: {states}")
            time.sleep(self.poll)

    def cancel_all(self) -> list[str]:
        """scancel every unfinished job of the workspace (a fresh look, not only the jobs seen)."""
        try:
            jobs = [job for job in slurm.listed() if self.mine(job)]
        except slurm.SlurmError as exc:
            self.ctx.log(f"slurm: could not list jobs to cancel: {exc}")
            jobs = list(self.seen.values())
        ids = [job.state.job_id for job in jobs if not job.state.finished]
        if ids:
            self.ctx.log(f"scancel {' '.join(ids)}")
            try:
                slurm.cancel(ids)
            except slurm.SlurmError as exc:
                self.ctx.log(f"slurm: {exc}")
            self.cancelled.extend(ids)
        return ids

    def cancel_on_term(self) -> contextlib.AbstractContextManager[None]:
        """Every unfinished job of the workspace is scancelled when the block ends or SIGTERM arrives."""
        return cleanup_on_term(self.cancel_all)

    # --- evidence ----------------------------------------------------------------------------
    def records(self, ids: set[str] | list[str]) -> list[dict[str, Any]]:
        """Per job: id, name, state, exit code, reason, queue wait and run seconds (Slurm's clock)."""
        out = []
        for job_id in sorted(ids, key=int):
            job = self.seen.get(job_id)
            if job is None:
                continue
            st = job.state
            out.append(
                {
                    "id": job_id,
                    "name": job.name,
                    "state": st.state,
                    "exit_code": st.exit_code,
                    "reason": st.reason or "",
                    "queue_seconds": _seconds(job.submit, st.start),
                    "run_seconds": _seconds(st.start, st.end),
                }
            )
        return out


def _described(job_id: str, seen: dict[str, slurm.Listed]) -> str:
    job = seen.get(job_id)
    if job is None:
        return f"{job_id} unseen"
    return f"{job_id} {job.state.state}" + (f" ({job.state.reason})" if job.state.reason else "")


def describe_jobs(jobs: list[dict[str, Any]]) -> str:
    parts = []
    for j in jobs:
        q = "?" if j["queue_seconds"] is None else f"{j['queue_seconds']:.0f}"
        r = "?" if j["run_seconds"] is None else f"{j['run_seconds']:.0f}"
        parts.append(f"{j['id']} {j['name']} {j['state']} (queued {q} s, ran {r} s)")
    return "; ".join(parts) or "no job"


def verdict(routes: list[Route], *, note: str = "") -> Outcome:
    """The check's outcome from its routes (see the module docstring for the rule)."""
    native = next((r for r in routes if r.native and r.ok), None)
    wrapper = next((r for r in routes if not r.native and r.ok), None)
    status = "pass" if native else "partial" if wrapper else "fail"
    texts = []
    for r in routes:
        head = f"{r.name} [{'tool submits the jobs' if r.native else 'a wrapper the user writes'}]: "
        if r.ok:
            head += f"worked in {r.seconds:.1f} s, results tracked in {r.tracked}, metrics equal the plain baseline"
            head += f" (max |diff| {r.max_abs_diff:.3g})"
        else:
            head += f"did not work: {r.why}"
        head += f"; jobs: {describe_jobs(r.jobs)}; glue: {r.glue_lines} line(s); installed: {r.installed}"
        head += f"; configured: {r.configured}"
        if r.site:
            head += f"; needed from the site: {r.site}"
        texts.append(head)
    evidence = " || ".join(texts) + f" || {SHARED_FS}" + (f"; {note}" if note else "")
    all_jobs = [j for r in routes for j in r.jobs]
    queue = [j["queue_seconds"] for j in all_jobs if j["queue_seconds"] is not None]
    run = [j["run_seconds"] for j in all_jobs if j["run_seconds"] is not None]
    chosen = native or wrapper
    numbers: dict[str, Any] = {
        "native": int(native is not None),
        "routes": len(routes),
        "routes_ok": sum(r.ok for r in routes),
        "route": chosen.name if chosen else "",
        "jobs": len(all_jobs),
        "completed": sum(j["state"] == "COMPLETED" for j in all_jobs),
        "job_ids": ",".join(j["id"] for j in all_jobs),
        "states": ",".join(j["state"] for j in all_jobs),
        "queue_seconds_max": max(queue, default=0.0),
        "run_seconds_max": max(run, default=0.0),
        "glue_lines": chosen.glue_lines if chosen else 0,
        "max_abs_diff": chosen.max_abs_diff if chosen and chosen.max_abs_diff is not None else -1.0,
    }
    for i, r in enumerate(routes, 1):
        numbers[f"route{i}"] = r.name
        numbers[f"route{i}_ok"] = int(r.ok)
        numbers[f"route{i}_native"] = int(r.native)
        numbers[f"route{i}_jobs"] = len(r.jobs)
        numbers[f"route{i}_seconds"] = round(r.seconds, 2)
        if not r.ok:
            numbers[f"route{i}_error"] = r.why[:300]
    return Outcome(status, evidence, numbers)


def point_of(params: dict[str, Any]) -> str:
    return common.point_key(float(params["alpha"]), float(params["l1_ratio"]))


def unavailable(ctx: Context) -> Outcome | None:
    """A fail with the reason when Slurm cannot be reached from here (no sbatch, no controller)."""
    why = slurm.available()
    if why:
        return Outcome("fail", f"Slurm is not reachable from the runner: {why}", {"native": 0, "jobs": 0})
    return None


PLUGIN_INSTALL_TIMEOUT = 180.0


def installed(package: str) -> str | None:
    """The version of *package* when the runner's environment already holds it (a tool environment
    whose requirements name the plugin), else None."""
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def install_plugin(ctx: Context, package: str, folder: Path) -> tuple[str | None, str]:
    """pip-install a tool's Slurm plugin, without its dependencies, into *folder* (in the workspace).

    Never into the project's environment: a plugin that pins an older tool would downgrade it.
    Returns (its version, "") or (None, why it could not be installed).
    """
    try:
        ctx.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(folder), package],
            timeout=PLUGIN_INSTALL_TIMEOUT,
        )
    except CommandError as exc:
        return None, f"pip could not install {package}: {exc}"
    dist = package.replace("-", "_")
    found = (p.name.removesuffix(".dist-info").split("-")[1] for p in folder.glob(f"{dist}-*.dist-info"))
    return next(found, "?"), ""
