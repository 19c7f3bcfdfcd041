"""The shared half of the `concurrency` check: many tasks write to one store at once; what comes back.

On a cluster a grid runs as a job array: tens of tasks start in the same second, each
writing to the tool's store on the shared file system, with no server (centres forbid
long-running processes on login nodes). Each runner describes its variants (`Variant`): how
one task runs the tool's own code for one point, writing to the store the way the tool's
documentation tells a user working alone, and how the store is read back through the tool
afterwards. This module does the rest the same way for every tool:

- the grid is repeated to ``tasks`` points (``[exam.concurrency]``, default 32);
- with ``[exam.hpc]`` the tasks are ONE Slurm job array (``--array=0-N``, explicit ``--mem``,
  one CPU each), submitted from the runner, which only polls ``squeue`` while it runs;
  without it they are local processes released together: each task says it is ready and
  waits for a start file, created once all are ready (`concurrency_task`);
- every task is `concurrency_task` under the runner's own interpreter (``sys.executable``:
  the tool's environment), recording exit code, times and its first error line;
- `count` matches what the tool returns against the tasks that ended well (`Counts`);
- `verdict`: pass = every task of the tool's default way ended well and came back with the
  plain baseline's metrics; partial = only a workaround variant did; fail = neither.

Array tasks that never start (partition full) are counted as such after ``queue_timeout``
with Slurm's pending reason, and the array is scancelled at the end in every case.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare.events import AGREEMENT_TOLERANCE
from mlops_compare.example import common
from mlops_compare.infra import slurm
from mlops_compare.runners.context import Context, Outcome, cleanup_on_term

TASK_MODULE = "mlops_compare.runners.checks.concurrency_task"
DEFAULT_TASKS = 32  # the core fills [exam.concurrency] tasks in (core/checks/concurrency.py); for a runner run by hand
DEFAULT_MEM = "1G"  # per array task when [exam.hpc] gives no mem: without one, one task per node
DEFAULT_QUEUE_TIMEOUT = 900.0  # seconds array tasks may stay pending ([exam.hpc] queue_timeout, as for hpc)
READY_TIMEOUT = 120.0  # seconds for every local task to say it is ready
# A variant's tasks: 300 s + 30 s per task, then they are killed (TaskTimeout). All start at
# once, so on a small machine the CPU is shared by every task: 12 MLflow tasks on 2 busy cores
# got 3 s of CPU each in 260 s.
TASK_TIMEOUT = (300.0, 30.0)
METRICS = ("rmse", "mae", "r2")
NORMALISE = (
    (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
    (re.compile(r"(/[\w.@+-]+)+"), "<path>"),
    (re.compile(r"\b[0-9a-f]{7,}\b"), "<id>"),
    (re.compile(r"\d+(\.\d+)?"), "N"),
)


@dataclass
class Task:
    """One task: its point, the command (argv, cwd, extra env)."""

    index: int
    point: dict[str, float]
    argv: list[str]
    cwd: Path
    env: dict[str, str | None] = field(default_factory=dict)  # None: the variable removed

    @property
    def key(self) -> str:
        return common.point_key(**self.point)


@dataclass
class Found:
    """One run the tool returned on read-back: its point, metrics (None when it has none), task if known."""

    key: str
    metrics: dict[str, float] | None
    task: int | None = None


@dataclass
class Variant:
    """One way of writing to the shared store, the tasks that do it and how to read it back."""

    name: str  # e.g. "SQLite store created fresh by the tasks"
    default: bool  # the tool's default way (True) or the documented workaround
    store: str  # what the tasks write to, e.g. "sqlite:///<shared>/mlflow.db"
    tasks: list[Task] = field(default_factory=list)
    read_back: Callable[[], list[Found]] | None = None
    note: str = ""  # anything the tool's version says about this way (e.g. refused without a flag)
    counts: Counts | None = None


@dataclass
class Counts:
    submitted: int = 0
    started: int = 0  # tasks that wrote a result (ran); the rest never started or were killed
    ended_well: int = 0
    returned: int = 0  # runs the tool returns that match a task that ended well
    lost: int = 0  # ended well but not returned
    corrupt: int = 0  # returned, with metrics other than the plain baseline's
    extra: int = 0  # runs returned beyond the tasks that ended well (from failed tasks)
    failed: int = 0  # started but did not end well
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> {count, first}
    seconds_to_last: float = 0.0  # from the release to the last task's end
    peak_parallel: int = 0  # most tasks running at the same instant
    read_error: str = ""  # the read-back itself failed

    @property
    def ok(self) -> bool:
        """Every task started, ended well, and came back with the right metrics."""
        return (
            self.started == self.submitted > 0
            and self.failed == 0
            and self.lost == 0
            and self.corrupt == 0
            and not self.read_error
        )


def settings(ctx: Context) -> dict[str, Any]:
    return dict(ctx.exam.get("concurrency") or {})


def points(ctx: Context) -> list[dict[str, float]]:
    """The grid repeated to ``tasks`` points (task i runs point i mod grid size)."""
    n = int(settings(ctx).get("tasks", DEFAULT_TASKS))
    return [ctx.points[i % len(ctx.points)] for i in range(n)]


def shared_root(ctx: Context) -> Path:
    """The folder playing the shared file system: inside the workspace, which array tasks see too."""
    root = ctx.workspace / "concurrency"
    root.mkdir(exist_ok=True)
    return root


def fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def copy_inputs(ctx: Context, folder: Path, names: tuple[str, ...]) -> None:
    """The files a task needs (script, common.py, exam.json, data.csv) copied from the workspace."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(ctx.workspace / name, folder / name)


# --- launching -------------------------------------------------------------------------
def error_kind(line: str) -> str:
    """The kind of an error line: its exception name, else the line with paths, names and numbers blanked."""
    from mlops_compare.runners.checks.concurrency_task import ERROR

    match = ERROR.match(line.strip())
    if match:
        return match.group(1)
    text = line.strip()
    for pattern, repl in NORMALISE:
        text = pattern.sub(repl, text)
    return text[:60] or "no output"


class Launch:
    """Runs a variant's tasks together, on Slurm (an array) or locally (released together)."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.hpc: dict[str, Any] | None = ctx.exam.get("hpc")
        self.slurm = self.hpc is not None
        self.queue_timeout = float((self.hpc or {}).get("queue_timeout", DEFAULT_QUEUE_TIMEOUT))
        self.poll = float((self.hpc or {}).get("poll_seconds", 1.0))
        self.array_ids: list[str] = []
        self.pending_reason = ""
        self.where = ""
        self.released = time.time()

    def how(self) -> str:
        if self.slurm:
            return (
                "one Slurm job array (sbatch --array, one CPU and "
                f"--mem={(self.hpc or {}).get('mem') or DEFAULT_MEM} per task) submitted from the runner"
            )
        return "local processes released together (each waits for a start file, created once all are ready)"

    def run(self, label: str, folder: Path, tasks: list[Task]) -> dict[int, dict[str, Any]]:
        """Run *tasks*; returns index -> the task's result record (missing: it never ran or was killed)."""
        results = fresh(folder / "results")
        spec = {
            "tasks": [{"argv": t.argv, "cwd": str(t.cwd), "env": t.env} for t in tasks],
            "results": str(results),
            "timeout": TASK_TIMEOUT[0] + TASK_TIMEOUT[1] * len(tasks),
        }
        if self.slurm:
            return self._slurm(label, folder, spec, len(tasks))
        return self._local(label, folder, spec, len(tasks))

    def _read(self, results: Path) -> dict[int, dict[str, Any]]:
        out = {}
        for path in results.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                record = json.loads(path.read_text())
                out[int(record["index"])] = record
        return out

    def _local(self, label: str, folder: Path, spec: dict[str, Any], n: int) -> dict[int, dict[str, Any]]:
        ready = fresh(folder / "ready")
        start = folder / "start"
        start.unlink(missing_ok=True)
        spec |= {"ready": str(ready), "start": str(start)}
        spec_file = folder / "spec.json"
        spec_file.write_text(json.dumps(spec))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", TASK_MODULE, str(spec_file), str(i)],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for i in range(n)
        ]
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while len(list(ready.iterdir())) < n and time.monotonic() < deadline:
                time.sleep(0.05)
            self.where = f"{len(list(ready.iterdir()))} of {n} local processes ready, released together"
            self.ctx.log(f"concurrency {label}: {self.where}")
            self.released = time.time()
            start.touch()
            deadline = time.monotonic() + spec["timeout"] + 30
            while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
                done = len(list((folder / "results").glob("*.json")))
                self.ctx.progress(done, n, f"concurrency: {label}")
                time.sleep(0.5)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
            for p in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(10)
        return self._read(folder / "results")

    def _squeue(self, array_id: str) -> list[tuple[str, str, str]]:
        """(task id, state, reason) of the array's tasks still queued or running."""
        out = subprocess.run(
            ["squeue", "-h", "-r", "-j", array_id, "-o", "%i|%T|%r"],
            capture_output=True,
            text=True,
            timeout=slurm.TIMEOUT,
        )
        rows = []
        for line in out.stdout.splitlines():
            parts = line.strip().split("|")
            if len(parts) == 3:
                rows.append((parts[0], parts[1], parts[2]))
        return rows

    def _slurm(self, label: str, folder: Path, spec: dict[str, Any], n: int) -> dict[int, dict[str, Any]]:
        spec_file = folder / "spec.json"
        spec_file.write_text(json.dumps(spec))
        hpc = self.hpc or {}
        logs = fresh(folder / "slurm")
        script = f"exec {shlex.quote(sys.executable)} -m {TASK_MODULE} {shlex.quote(str(spec_file))}\n"
        array_id = slurm.submit(
            script,
            name=f"mlops-compare-concurrency-{label}",
            chdir=folder,
            output=logs / "task-%a.out",
            partition=hpc.get("partition"),
            account=hpc.get("account"),
            # Past the task's own timeout, so a slow task ends as a recorded TaskTimeout, not killed by Slurm.
            time_limit=hpc.get("time_limit") or str(math.ceil(spec["timeout"] / 60) + 2),
            cpus=1,
            mem=hpc.get("mem") or DEFAULT_MEM,
            extra=[f"--array=0-{n - 1}", *hpc.get("options", [])],
        )
        self.array_ids.append(array_id)
        self.released = time.time()
        self.ctx.log(f"concurrency {label}: sbatch --array=0-{n - 1}: job array {array_id}")
        # The clocks run from the last progress, not from the submission: on a small partition
        # the array's own tasks keep the rest pending (Resources) while they make progress.
        last_start = last_change = time.monotonic()
        seen = (0, 0)
        while True:
            try:
                rows = self._squeue(array_id)
            except (subprocess.TimeoutExpired, OSError) as exc:
                self.ctx.log(f"squeue: {exc}")
                rows = [("?", "UNKNOWN", "")]
            done = len(list((folder / "results").glob("*.json")))
            self.ctx.progress(done, n, f"concurrency: {label}")
            if not rows:
                break
            pending = [r for r in rows if r[1] == "PENDING"]
            now = time.monotonic()
            if (n - len(pending), done) != seen:
                if n - len(pending) != seen[0]:
                    last_start = now
                seen, last_change = (n - len(pending), done), now
            if pending and now - last_start > self.queue_timeout:
                self.pending_reason = ", ".join(sorted({r[2] for r in pending}))
                self.ctx.log(
                    f"concurrency {label}: {len(pending)} task(s) still pending, none started for "
                    f"{self.queue_timeout:g} s ({self.pending_reason}): cancelling the array"
                )
                break
            if not pending and now - last_change > spec["timeout"]:
                self.ctx.log(f"concurrency {label}: no task ended for {spec['timeout']:g} s: cancelling")
                break
            time.sleep(self.poll)
        self.cancel()
        time.sleep(0.5)
        self.where = f"Slurm job array {array_id} ({n} tasks)"
        return self._read(folder / "results")

    def cancel(self) -> None:
        """scancel every array this launch submitted (finished ones are no error)."""
        if self.array_ids:
            with contextlib.suppress(slurm.SlurmError):
                slurm.cancel(self.array_ids)

    def cancel_on_term(self) -> contextlib.AbstractContextManager[None]:
        return cleanup_on_term(self.cancel)


# --- counting --------------------------------------------------------------------------
def _same(a: dict[str, float] | None, b: dict[str, float]) -> bool:
    if not a or any(m not in a for m in METRICS):
        return False
    for m in METRICS:
        x, y = float(a[m]), float(b[m])
        if not (x == y or (math.isnan(x) and math.isnan(y)) or abs(x - y) <= AGREEMENT_TOLERANCE):
            return False
    return True


def count(
    ctx: Context, tasks: list[Task], results: dict[int, dict[str, Any]], found: list[Found], released: float
) -> Counts:
    """Tasks against what the tool returned (see `Counts`; ended well = returned + lost)."""
    c = Counts(submitted=len(tasks), started=len(results))
    well = {t.index for t in tasks if results.get(t.index, {}).get("code") == 0}
    c.ended_well = len(well)
    c.failed = c.started - c.ended_well
    for t in tasks:
        r = results.get(t.index)
        if r is None or r.get("code") == 0:
            continue
        kind = error_kind(r.get("error", ""))
        entry = c.errors.setdefault(kind, {"count": 0, "first": r.get("error", "")[:300]})
        entry["count"] += 1
    # Runs known by task: matched directly; the rest by point, as many as ended well there.
    by_task = {f.task: f for f in found if f.task is not None}
    pools: dict[str, list[Found]] = {}
    for f in found:
        if f.task is None:
            pools.setdefault(f.key, []).append(f)
    for f in by_task.values():
        if f.task not in well:
            c.extra += 1
    for key in {t.key for t in tasks}:
        wanted = [t for t in tasks if t.key == key and t.index in well]
        expected = ctx.baseline[key]
        direct = [by_task[t.index] for t in wanted if t.index in by_task]
        rest = len(wanted) - len(direct)
        pool = pools.get(key, [])
        good = [f for f in pool if _same(f.metrics, expected)]
        bad = [f for f in pool if not _same(f.metrics, expected)]
        matched = good[:rest] + bad[: max(rest - len(good), 0)]
        c.extra += len(pool) - len(matched)
        returned = direct + matched
        c.returned += len(returned)
        c.lost += len(wanted) - len(returned)
        c.corrupt += sum(not _same(f.metrics, expected) for f in returned)
    ends = [r["end"] for r in results.values()]
    c.seconds_to_last = round(max(ends) - released, 2) if ends else 0.0
    spans = sorted((r["start"], r["end"]) for r in results.values())
    c.peak_parallel = max((sum(s <= start < e for s, e in spans) for start, _ in spans), default=0)
    return c


def run_variant(ctx: Context, launch: Launch, label: str, variant: Variant, folder: Path) -> Counts:
    """Run one variant's tasks together, read the store back through the tool, count."""
    results = launch.run(label, folder, variant.tasks)
    try:
        found = variant.read_back() if variant.read_back else []
        read_error = ""
    except Exception as exc:  # a store the tool cannot read is a finding, not a crash
        ctx.log(f"concurrency {label}: read-back failed: {type(exc).__name__}: {exc}")
        found, read_error = [], f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    variant.counts = count(ctx, variant.tasks, results, found, launch.released)
    variant.counts.read_error = read_error
    return variant.counts


# --- the outcome -----------------------------------------------------------------------
def describe(v: Variant) -> str:
    c = v.counts or Counts()
    head = f"{v.name} [{'the tool’s default way' if v.default else 'workaround'}; store {v.store}]: "
    head += (
        f"{c.submitted} submitted, {c.started} started, {c.ended_well} ended well, {c.returned} returned, "
        f"{c.lost} lost, {c.corrupt} corrupt"
    )
    if c.extra:
        head += f", {c.extra} more run(s) from failed tasks"
    head += f"; at most {c.peak_parallel} running at once; last result {c.seconds_to_last:.1f} s after the release"
    if c.errors:
        head += "; errors: " + "; ".join(f"{e['count']}x {k}: {e['first'][:160]}" for k, e in c.errors.items())
    if c.read_error:
        head += f"; read-back failed: {c.read_error}"
    if v.note:
        head += f"; {v.note}"
    return head


def verdict(ctx: Context, launch: Launch, variants: list[Variant], note: str = "") -> Outcome:
    default_ok = any(v.default and v.counts and v.counts.ok for v in variants)
    workaround_ok = any(not v.default and v.counts and v.counts.ok for v in variants)
    status = "pass" if default_ok else "partial" if workaround_ok else "fail"
    tasks = len(points(ctx))
    where = launch.how() + (f"; {launch.where}" if launch.where else "")
    evidence = " || ".join(describe(v) for v in variants)
    evidence += f" || {tasks} tasks, the grid repeated, as {where}"
    if launch.pending_reason:
        evidence += f"; tasks left pending after {launch.queue_timeout:g} s: Slurm's reason {launch.pending_reason}"
    if note:
        evidence += f"; {note}"
    numbers: dict[str, Any] = {
        "tasks": tasks,
        "mode": "slurm" if launch.slurm else "local",
        "variants": len(variants),
        "default_ok": int(default_ok),
        "workaround_ok": int(workaround_ok),
        "array_ids": ",".join(launch.array_ids),
        "pending_reason": launch.pending_reason,
    }
    for i, v in enumerate(variants, 1):
        c = v.counts or Counts()
        numbers[f"variant{i}"] = v.name
        numbers[f"variant{i}_default"] = int(v.default)
        for name in ("submitted", "started", "ended_well", "returned", "lost", "corrupt", "extra", "failed"):
            numbers[f"variant{i}_{name}"] = getattr(c, name)
        numbers[f"variant{i}_seconds"] = c.seconds_to_last
        numbers[f"variant{i}_parallel"] = c.peak_parallel
        numbers[f"variant{i}_errors"] = json.dumps(c.errors)[:1500]
        if c.read_error:
            numbers[f"variant{i}_read_error"] = c.read_error
        if v.note:
            numbers[f"variant{i}_note"] = v.note[:300]
    return Outcome(status, evidence, numbers)


def check(ctx: Context, label: str, build: Callable[[Path], list[Variant]], note: str = "") -> Outcome:
    """The whole check for one tool: *build* makes the variants in a folder of the shared path."""
    if ctx.exam.get("hpc") is not None and (down := slurm.available()) is not None:
        return Outcome("fail", f"[exam.hpc] is set but Slurm is not reachable from the runner: {down}", {"tasks": 0})
    root = shared_root(ctx)
    launch = Launch(ctx)
    variants = build(root)
    with launch.cancel_on_term():
        for i, variant in enumerate(variants, 1):
            run_variant(ctx, launch, f"{label}-{i}", variant, root / f"run-{i}")
            ctx.log(f"concurrency: {describe(variant)}")
    return verdict(ctx, launch, variants, note)
