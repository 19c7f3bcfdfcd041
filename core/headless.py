"""`mlops-compare run`: the exam through the chosen runners, without the TUI.

In a terminal, a rich progress bar per tool; otherwise (CI, pipes) one plain line per
finished check; with ``--json`` every event as a JSON line. Then a summary table of checks
per tool. Exit 0 when no check failed, 1 when one did or a runner did not finish, 2 for
user errors; Ctrl+C cancels every runner (their process groups are killed) and exits 130.

SIGTERM and SIGHUP (the SSH session or terminal went away) stop the run as Ctrl+C does, but
every record is stored with the signal as its reason: local runners are stopped (their
process groups killed) and Slurm jobs are scancelled on SIGTERM (exit 143). On SIGHUP,
Slurm jobs are *kept*: the run becomes a detached run (its state file is written, as with
``--detach``) that ``mlops-compare run --attach`` collects later (exit 129). After SIGHUP
nothing more is written to a terminal (it is gone); output redirected to a file goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from mlops_compare import criteria as criteria_mod
from mlops_compare import executors
from mlops_compare.errors import UserError
from mlops_compare.events import CHECK_IDS, jsonable
from mlops_compare.executors.local import RunnerProcess, RunRequest, run_many
from mlops_compare.plan import Choices, plan
from mlops_compare.results import RunRecord
from mlops_compare.store import DEFAULT_DIR, Store

MARK = {"pass": "PASS", "partial": "part", "fail": "FAIL", "skip": "skip"}
STOP_SIGNALS = {
    signal.SIGHUP: "SIGHUP: the terminal or SSH session was closed",
    signal.SIGTERM: "SIGTERM: mlops-compare was asked to stop",
}


def requests_from(args, criteria) -> list[RunRequest]:
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs must be at least 1")
    choices = Choices(
        tools=tuple(args.tool),
        checks=tuple(getattr(args, "check", ()) or ()),
        data=args.data,
        target=args.target,
        timeout=args.timeout,
        workdir=Path(args.workdir) if args.workdir else None,
        keep_workspaces=getattr(args, "keep_workspaces", False),
    )
    return plan(criteria, choices)


def summary_table(records: list[RunRecord]) -> str:
    tools = [r.tool for r in records]
    width = max(8, *(len(t) for t in tools))
    lines = ["check".ljust(16) + "".join(t.rjust(width + 2) for t in tools)]
    for check_id in CHECK_IDS:
        row = check_id.ljust(16)
        for record in records:
            check = record.checks.get(check_id)
            row += (MARK.get(check["status"], "?") if check else "-").rjust(width + 2)
        lines.append(row)
    lines.append("status".ljust(16) + "".join(r.status.rjust(width + 2) for r in records))
    for record in records:
        if record.reason and record.status != "passed":
            lines.append(f"{record.tool}: {record.status}: {record.reason}")
    return "\n".join(lines)


def exit_code(records: list[RunRecord]) -> int:
    bad = any(r.status not in ("passed",) for r in records)
    return 1 if bad else 0


def run(args, options: executors.ExecutorOptions) -> int:
    """`mlops-compare run`: *args* its parsed flags, *options* where the runners run."""
    criteria = criteria_mod.load(args.criteria)
    store = Store(args.store)
    attached = None  # the state file of a detached Slurm run being followed again
    if getattr(args, "attach", None) is not None:
        attached, requests, executor = executors.attach(store, args.attach)
        store.probe()
    else:
        requests = requests_from(args, criteria)
        store.probe()  # before any runner starts: a store that cannot take the records is exit 2
        _environments(requests)
        executor = executors.choose(options, criteria, store, max((r.timeout or 0 for r in requests), default=None))
        if options.detach:
            return _detach(executor, requests, store, args)
    jobs = executor.jobs(args.jobs, len(requests))
    stops = _Stops(executor)
    if args.json:
        on_event = _json_printer
        progress = None
    elif sys.stderr.isatty():
        progress = _RichProgress(requests)
        on_event = progress.on_event
    else:
        progress = None
        on_event = _plain_printer
    try:
        if progress is not None:
            with progress:
                records = asyncio.run(
                    stops.watch(
                        run_many(requests, jobs, on_event, store, on_start=progress.on_start, factory=stops.make)
                    )
                )
        else:
            records = asyncio.run(stops.watch(run_many(requests, jobs, on_event, store, factory=stops.make)))
    except KeyboardInterrupt:
        what = "Slurm job was cancelled (scancel)" if executor.name == "slurm" else "runner's process group was killed"
        print(f"cancelled: every {what}", file=sys.stderr)
        if attached is not None:
            attached.unlink(missing_ok=True)
        return 130
    if stops.received is not None:
        return _stopped(stops, executor, records, store, attached, args)
    if attached is not None:  # every record is stored: the detached run is collected
        attached.unlink(missing_ok=True)
    out = sys.stderr if args.json else sys.stdout
    print(summary_table(records), file=out)
    print(f"results stored in {store.runs}", file=out)
    for lost in store.unsaved:  # the store failed after the probe (a full disk): say where each record is
        print(f"error: {lost}", file=sys.stderr)
    return max(exit_code(records), 1 if store.unsaved else 0)


class _Stops:
    """SIGHUP and SIGTERM during a run: stop (or, SIGHUP under Slurm, leave) every runner, then return."""

    def __init__(self, executor):
        self.executor = executor
        self.received: int | None = None  # the first stop signal
        self.processes: list[RunnerProcess] = []

    def make(self, request, on_event, store):
        """`run_many`'s factory: the executor's, remembering every process."""
        process = self.executor.process(request, on_event, store)
        self.processes.append(process)
        return process

    async def watch(self, work):
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self.on_signal, signum)
        try:
            return await work
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)

    def on_signal(self, signum: int) -> None:
        if self.received is not None:  # the first signal decides; runners are stopping already
            return
        self.received = signum
        if signum == signal.SIGHUP:
            _leave_terminal()
        reason = f"stopped by {STOP_SIGNALS[signal.Signals(signum)]}"
        for process in self.processes:
            if signum == signal.SIGHUP and hasattr(process, "detach"):
                process.detach()  # a Slurm job runs on; `run --attach` collects it
            else:
                process.cancel(reason)


def _leave_terminal() -> None:
    """The terminal is gone: send what would go to it to /dev/null (redirected output stays)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                os.dup2(devnull, fd)
    os.close(devnull)


def _stopped(stops: _Stops, executor, records: list[RunRecord], store: Store, attached, args) -> int:
    """After SIGHUP or SIGTERM: the detached run's state file (SIGHUP, Slurm), a summary, 128 + signal."""
    from mlops_compare.executors import detached as slurm_runs

    signum = stops.received
    assert signum is not None
    left = [p for p in stops.processes if getattr(p, "left_running", False)]
    lines = []
    if left:
        tickets = [slurm_runs.ticket(p) for p in left]
        slurm_runs.save(store, executor.run_id, executor.options.to_dict(), tickets)
        attach = ["mlops-compare", "run", "--attach", executor.run_id]
        attach += ["--store", args.store] if args.store != DEFAULT_DIR else []
        jobs = ", ".join(f"{p.request.tool} {getattr(p, 'job_id', '')}" for p in left)
        lines.append(f"{STOP_SIGNALS[signal.Signals(signum)]}: Slurm jobs keep running ({jobs}); collect them with: ")
        lines[-1] += " ".join(attach)
    elif attached is not None:
        attached.unlink(missing_ok=True)
    done = [r for r in records if r.finished]
    if done:
        lines.append(summary_table(done))
        lines.append(f"results stored in {store.runs}")
    lines.append(f"stopped by {STOP_SIGNALS[signal.Signals(signum)]}")
    with contextlib.suppress(OSError):  # the terminal may be gone
        print("\n".join(lines), file=sys.stderr, flush=True)
    return 128 + signum


def _environments(requests: list[RunRequest]) -> None:
    """Every tool environment found or built before any runner starts, with a progress line on stderr."""
    from mlops_compare import envs

    envs.prepare_requests(requests, lambda line: print(line, file=sys.stderr, flush=True))


def _detach(executor, requests, store: Store, args) -> int:
    import shlex

    path, jobs = executors.detach(executor, requests, store)
    attach = ["mlops-compare", "run", "--attach", executor.run_id]
    attach += ["--store", args.store] if args.store != DEFAULT_DIR else []
    if args.json:
        jobs_out = {job.request.tool: job.job_id or {"error": job.record.reason} for job in jobs}
        print(json.dumps({"run": executor.run_id, "jobs": jobs_out, "attach": shlex.join(attach)}))
    else:
        for job in jobs:
            print(
                f"{job.request.tool}: Slurm job {job.job_id}"
                if job.job_id
                else f"{job.request.tool}: {job.record.reason}"
            )
    if path is None:
        print("no job was submitted", file=sys.stderr)
        return 1
    print(
        f"detached run {executor.run_id} (files in {executor.folder}); follow it with: {shlex.join(attach)}",
        file=sys.stderr,
    )
    return 0


def _json_printer(tool: str, event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(jsonable({"tool": tool, **event})) + "\n")
    sys.stdout.flush()


def _plain_printer(tool: str, event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "check":
        print(
            f"{tool}: {event['id']}: {MARK.get(event['status'], '?')} ({event['seconds']:.1f} s) {event['evidence'][:160]}",
            flush=True,
        )
    elif kind == "result":
        print(f"{tool}: {event['status']}" + (f": {event['reason']}" if event.get("reason") else ""), flush=True)
    elif kind == "log" and event.get("stream") == "slurm":  # job states of the Slurm executor
        print(f"{tool}: {event['line']}", flush=True)


class _RichProgress:
    """One rich progress bar per tool: checks done out of the exam's checks."""

    def __init__(self, requests: list[RunRequest]):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.fields[tool]:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}", markup=False),
            console=Console(stderr=True),
        )
        self.tasks = {
            r.tool: self.progress.add_task("", total=len(CHECK_IDS), tool=r.tool, status="waiting", start=False)
            for r in requests
        }

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def on_start(self, process: RunnerProcess) -> None:
        self.progress.start_task(self.tasks[process.request.tool])
        self.progress.update(self.tasks[process.request.tool], status="starting")

    def on_event(self, tool: str, event: dict[str, Any]) -> None:
        task = self.tasks[tool]
        kind = event["type"]
        if kind == "check":
            self.progress.advance(task)
            self.progress.update(task, status=f"{event['id']}: {MARK.get(event['status'], '?')}")
        elif kind == "progress":
            self.progress.update(task, status=f"{event['label']} {event['k']}/{event['n']}")
        elif kind == "log" and event.get("stream") == "slurm":
            self.progress.update(task, status=event["line"][:60])
        elif kind == "result":
            self.progress.update(
                task,
                completed=len(CHECK_IDS),
                status=event["status"] + (f": {event['reason'][:60]}" if event.get("reason") else ""),
            )
