"""`mlops-compare run`: the exam through the chosen runners, without the TUI.

In a terminal, a rich progress bar per tool; otherwise (CI, pipes) one plain line per
finished check; with ``--json`` every event as a JSON line. Then a summary table of checks
per tool. Exit 0 when no check failed, 1 when one did or a runner did not finish, 2 for
user errors; Ctrl+C cancels every runner (their process groups are killed) and exits 130.
"""

from __future__ import annotations

import asyncio
import json
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
from mlops_compare.store import Store

MARK = {"pass": "PASS", "partial": "part", "fail": "FAIL", "skip": "skip"}


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


def run(args) -> int:
    criteria = criteria_mod.load(args.criteria)
    store = Store(args.store)
    attached = None  # the state file of a detached Slurm run being followed again
    if getattr(args, "attach", None) is not None:
        attached, requests, executor = executors.attach(store, args.attach)
    else:
        requests = requests_from(args, criteria)
        executor = executors.from_args(args, criteria, store, max((r.timeout or 0 for r in requests), default=None))
        if getattr(args, "detach", False):
            return _detach(executor, requests, store, args)
    jobs = executor.jobs(args.jobs, len(requests))
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
                    run_many(requests, jobs, on_event, store, on_start=progress.on_start, factory=executor.process)
                )
        else:
            records = asyncio.run(run_many(requests, jobs, on_event, store, factory=executor.process))
    except KeyboardInterrupt:
        what = "Slurm job was cancelled (scancel)" if executor.name == "slurm" else "runner's process group was killed"
        print(f"cancelled: every {what}", file=sys.stderr)
        if attached is not None:
            attached.unlink(missing_ok=True)
        return 130
    if attached is not None:  # every record is stored: the detached run is collected
        attached.unlink(missing_ok=True)
    out = sys.stderr if args.json else sys.stdout
    print(summary_table(records), file=out)
    print(f"results stored in {store.runs}", file=out)
    return exit_code(records)


def _detach(executor, requests, store: Store, args) -> int:
    import shlex

    path, jobs = executors.detach(executor, requests, store)
    attach = ["mlops-compare", "run", "--attach", executor.run_id]
    attach += ["--store", args.store] if args.store != ".mlops-compare" else []
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
