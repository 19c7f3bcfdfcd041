"""concurrency: many tasks write to the tool's store at once (``[exam.concurrency]``).

The grid is repeated to ``tasks`` points (default 32, from 2 to 256; anything else is refused
and the command exits 2), all started at once: one Slurm job array with ``[exam.hpc]`` (its
partition, account, time_limit, mem and options; ``mem`` defaults to 1G per task), else local
processes released together. Each task runs the tool's own code for one point and writes to
the tool's store on the shared path, without a server. The runner's half is
`mlops_compare.runners.checks.concurrency`.

Settings: ``tasks``. On Slurm, ``[exam.hpc]``'s ``queue_timeout`` is how long array tasks
may stay pending before the array is cancelled and the record names Slurm's pending reason.

Rule (set by the runner): per variant the tasks submitted, started, ended well, returned
through the tool, lost (ended well but missing), corrupt (returned with other metrics than
the plain baseline's) and the errors by kind. ``pass``: every task of the tool's default way
ended well and came back right; ``partial``: only with the documented workaround (DVC: a
clone per task; MLflow: the file store); ``fail``: neither. Scored by status (1, 0.5, 0).

The report gets a table per tool and variant (`report_section`), the TUI pane one line per
tool (`pane_line`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlops_compare.exam_settings import Report, known_keys

TASKS = (2, 256)  # the bound: fewer is no concurrency, more floods a login node's queue
DEFAULT_TASKS = 32
COUNTS = ("submitted", "started", "ended_well", "returned", "lost", "corrupt")
# With [exam.hpc] its tasks are a Slurm job array: under the Slurm executor it runs on the
# login-node side, not inside the runner's own job (`mlops_compare.executors.split_run`).
SUBMITS_JOBS = True


def parse_settings(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "concurrency")
    out = known_keys(table, {"tasks": int}, where, problem)
    tasks = out.get("tasks", DEFAULT_TASKS)
    if not TASKS[0] <= tasks <= TASKS[1]:
        problem(f"exam.concurrency.tasks is {tasks}; give {TASKS[0]} to {TASKS[1]} tasks", *where, "tasks")
        tasks = DEFAULT_TASKS
    out["tasks"] = tasks
    return out


def variants(numbers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The check's numbers as one dict per variant: name, default, the counts, seconds, errors."""
    out = []
    for i in range(1, int(numbers.get("variants", 0) or 0) + 1):
        p = f"variant{i}"
        if p not in numbers:
            continue
        row: dict[str, Any] = {"name": numbers[p], "default": bool(numbers.get(f"{p}_default"))}
        row.update({name: numbers.get(f"{p}_{name}", 0) for name in COUNTS})
        row["seconds"] = numbers.get(f"{p}_seconds", 0)
        row["parallel"] = numbers.get(f"{p}_parallel", 0)
        try:
            row["errors"] = json.loads(numbers.get(f"{p}_errors") or "{}")
        except ValueError:
            row["errors"] = {}
        row["note"] = numbers.get(f"{p}_note", "")
        out.append(row)
    return out


def _errors(errors: Mapping[str, Any]) -> str:
    return "; ".join(f"{e.get('count', 0)}x {k}: {str(e.get('first', ''))[:120]}" for k, e in errors.items()) or "-"


def report_section(evidence: Any) -> Any:
    """Per tool and variant, what came back of the tasks that wrote at once (a `report.blocks.Section`)."""
    from mlops_compare.report.blocks import CELL_MAX, Section, Table, shorten

    rows = []
    modes = set()
    for tool, found in evidence.tools.items():
        measured = found.checks.get("concurrency")
        if measured is None:
            continue
        numbers = dict(measured.check.get("numbers") or {})
        modes.add(f"{numbers.get('tasks', '?')} tasks, {numbers.get('mode', '?')}")
        for v in variants(numbers):
            rows.append(
                [
                    tool,
                    measured.status,
                    v["name"] + ("" if v["default"] else " (workaround)"),
                    *(v[name] for name in COUNTS),
                    f"{v['seconds']:g}",
                    shorten(_errors(v["errors"]), CELL_MAX),
                ]
            )
    if not rows:
        return None
    header = ["tool", "concurrency", "variant", "submitted", "started", "ended well", "returned", "lost", "corrupt"]
    return Section(
        f"Many writers at once ({'; '.join(sorted(modes))})",
        [
            Table([*header, "s to last", "errors (kind: first line)"], rows),
            "Lost = ended well but missing from what the tool returns; corrupt = returned with other metrics than"
            " the plain baseline's; started - ended well = tasks that failed with an error. Slurm: one job array"
            " submitted from the login-node side; local: processes released together.",
        ],
        check="concurrency",
    )


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell: per variant, returned of submitted."""
    found = variants(check.get("numbers") or {})
    if not found:
        return None
    return ", ".join(f"{v['returned']}/{v['submitted']}" + ("" if v["default"] else " (workaround)") for v in found)


def pane_line(check: Mapping[str, Any]) -> str:
    """One line for the TUI's runner pane: per variant returned/submitted and what was lost."""
    numbers = check.get("numbers") or {}
    parts = []
    for v in variants(numbers):
        text = f"{v['name'].split(',')[0]}: {v['returned']}/{v['submitted']} back"
        if v["lost"] or v["corrupt"]:
            text += f", {v['lost']} lost, {v['corrupt']} corrupt"
        failed = v["started"] - v["ended_well"]
        if failed:
            text += f", {failed} failed"
        parts.append(text)
    return f"concurrency ({numbers.get('tasks', '?')} at once, {numbers.get('mode', '?')}): " + "; ".join(parts)
