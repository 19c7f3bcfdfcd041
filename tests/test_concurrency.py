"""The `concurrency` check: many tasks write to each tool's store at once, on the session's Slurm and locally.

Each runner runs only setup + concurrency, the small grid repeated: once as one Slurm job array
of 12 tasks on the throwaway cluster, once as 2 local processes released together.
The counts must add up (ended well = returned + lost; submitted = started + never started),
the baseline must lose nothing, and no array task may be left in the queue. The rest are
fast unit tests of the settings, the counting and the pending-array path.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from conftest import SMALL_EXAM
from envs_support import environment
from mlops_compare.infra import slurm

TOOLS = ("plain", "mlflow", "dvc", "metaflow")
# issue 21: the Slurm job array with at least 12 tasks per tool. Locally the check's smallest
# count: 2 writers released together, one on each of the 2 cores, open each store at once (what
# the local mode has to show: the barrier, the counting); every task is a tool process of its
# own (3-4 s of CPU for MLflow's), and 12 there made the local fixture a sixth of the test
# command's CPU, 4 still 99 s of it (README: Testing). The race at 32 tasks: README, "Many writers at once".
TASKS = 12  # the array's
LOCAL_TASKS = 2
VARIANTS = {"plain": 1, "mlflow": 2, "dvc": 2, "metaflow": 1}


def _exam(tasks: int = TASKS, **tables) -> dict:
    exam = {**SMALL_EXAM, "grid": {k: list(v) for k, v in SMALL_EXAM["grid"].items()}}
    return {**exam, "concurrency": {"tasks": tasks}, **tables, "checks": ["concurrency"]}


def _run(tools, exam, env, base) -> dict:
    from mlops_compare.executors.local import RunRequest, run_many
    from mlops_compare.store import Store

    # each tool in its own environment, as `mlops-compare run` starts it (issue 16)
    requests = [
        RunRequest(t, exam, timeout=2400, env=env, workdir=base / "ws", environment=environment(t)) for t in tools
    ]
    records = asyncio.run(run_many(requests, 2, lambda t, e: None, Store(base / "store")))
    return {r.tool: r for r in records}


def _assert_counts_add_up(tool: str, check: dict) -> None:
    n = check["numbers"]
    tasks = TASKS if n["mode"] == "slurm" else LOCAL_TASKS
    assert n["tasks"] == tasks and n["variants"] == VARIANTS[tool], check["evidence"]
    for i in range(1, n["variants"] + 1):
        v = {k.removeprefix(f"variant{i}_"): x for k, x in n.items() if k.startswith(f"variant{i}_")}
        assert v["submitted"] == tasks, (i, v)
        assert v["started"] <= v["submitted"] and v["ended_well"] + v["failed"] == v["started"], (i, v)
        assert v["ended_well"] == v["returned"] + v["lost"], (i, v)
        assert v["corrupt"] <= v["returned"], (i, v)
        errors = json.loads(v["errors"])
        assert sum(e["count"] for e in errors.values()) == v["failed"], (i, v)
        assert all(e["first"] for e in errors.values()), errors
    if tool == "plain":  # the baseline: every task's file comes back, right
        assert check["status"] == "pass", check["evidence"]
        assert n["variant1_returned"] == n["tasks"] and n["variant1_lost"] == n["variant1_corrupt"] == 0
    if tool == "mlflow":  # which file store this MLflow allows is said either way
        assert "MLFLOW_ALLOW_FILE_STORE" in n["variant2_note"]


@pytest.fixture(scope="module")
def on_slurm(slurm_cluster, tmp_path_factory):
    return _run(TOOLS, _exam(hpc={"poll_seconds": 0.5}), slurm_cluster.env, tmp_path_factory.mktemp("conc-slurm"))


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    return _run(TOOLS, _exam(LOCAL_TASKS), {}, tmp_path_factory.mktemp("conc-local"))


@pytest.mark.slow
@pytest.mark.parametrize("tool", TOOLS)
def test_a_job_array_writes_to_each_tools_store(tool, on_slurm, slurm_cluster):
    check = on_slurm[tool].checks["concurrency"]
    assert check["status"] in ("pass", "partial", "fail") and check["numbers"]["mode"] == "slurm", check
    assert check["numbers"]["array_ids"], check["numbers"]
    assert "Slurm job array" in check["evidence"]
    _assert_counts_add_up(tool, check)
    arrays = check["numbers"]["array_ids"].split(",")
    assert len(arrays) == VARIANTS[tool]
    assert not [j for j in slurm_cluster.jobs() if j.split("_")[0] in arrays]


@pytest.mark.slow
@pytest.mark.parametrize("tool", TOOLS)
def test_local_processes_released_together(tool, local):
    check = local[tool].checks["concurrency"]
    assert check["numbers"]["mode"] == "local" and check["numbers"]["array_ids"] == "", check
    assert f"{LOCAL_TASKS} of {LOCAL_TASKS} local processes ready, released together" in check["evidence"]
    _assert_counts_add_up(tool, check)


@pytest.mark.slow
def test_tasks_that_never_start_are_named_with_slurms_reason_and_cancelled(slurm_cluster, tmp_path):
    """A job holding both CPUs keeps the array pending; after queue_timeout: the reason, and no task left."""
    env = slurm_cluster.env
    blocker = slurm.submit(
        ["sleep", "300"], name="blocker", chdir=tmp_path, output=tmp_path / "blocker.out", cpus=2, env=env
    )
    try:
        records = _run(["plain"], _exam(tasks=3, hpc={"queue_timeout": 3, "poll_seconds": 0.5}), env, tmp_path)
    finally:
        slurm.cancel(blocker, env=env)
    check = records["plain"].checks["concurrency"]
    n = check["numbers"]
    assert check["status"] == "fail" and n["variant1_started"] == 0, check["evidence"]
    assert n["pending_reason"] and "Slurm's reason" in check["evidence"], n
    # Cancelled jobs take KillWait to leave the queue: the array's tasks and the blocker.
    deadline = time.monotonic() + 60
    arrays = [*n["array_ids"].split(","), blocker]
    while (left := [j for j in slurm_cluster.jobs() if j.split("_")[0] in arrays]) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == []


# --- fast -------------------------------------------------------------------------------
@pytest.mark.parametrize("tasks", [1, 257, 0])
def test_tasks_outside_the_bound_exit_2(tasks, criteria_copy):
    text = criteria_copy.read_text() + f"\n[exam.concurrency]\ntasks = {tasks}\n"
    criteria_copy.write_text(text.replace("[exam]\n", "[exam]\n", 1))
    out = subprocess.run(
        [sys.executable, "-m", "mlops_compare", "check", "--criteria", str(criteria_copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out
    assert "exam.concurrency.tasks" in out.stderr + out.stdout


def test_settings_default_and_bound():
    from mlops_compare.checks import concurrency

    problems: list[str] = []
    assert concurrency.parse_settings({}, lambda m, *p: problems.append(m)) == {"tasks": 32}
    assert concurrency.parse_settings({"tasks": 256}, lambda m, *p: problems.append(m))["tasks"] == 256
    assert problems == []
    concurrency.parse_settings({"tasks": 2.5, "servers": 1}, lambda m, *p: problems.append(m))
    assert len(problems) == 2


def test_counting_adds_up_by_point_and_by_task():
    from pathlib import Path

    from mlops_compare.runners.checks import concurrency as many

    class Ctx:
        baseline = {"0/0.5": {"rmse": 1.0, "mae": 2.0, "r2": 0.5}, "0.5/0.5": {"rmse": 3.0, "mae": 4.0, "r2": 0.1}}

    points = [{"alpha": 0.0, "l1_ratio": 0.5}, {"alpha": 0.5, "l1_ratio": 0.5}] * 3
    tasks = [many.Task(i, p, [], Path(".")) for i, p in enumerate(points)]
    results = {i: {"index": i, "code": 0, "start": 10.0 + i, "end": 20.0 + i, "error": ""} for i in range(5)}
    results[1] = {**results[1], "code": 1, "error": "sqlalchemy.exc.OperationalError: duplicate column name: step"}
    good0, good1 = Ctx.baseline["0/0.5"], Ctx.baseline["0.5/0.5"]
    found = [
        many.Found("0/0.5", good0),
        many.Found("0/0.5", {**good0, "rmse": 9.0}),  # corrupt
        many.Found("0.5/0.5", good1),
        many.Found("0.5/0.5", good1),  # from the failed task 1: one more than ended well there
    ]
    c = many.count(Ctx(), tasks, results, found, released=10.0)
    # point 0/0.5: tasks 0, 2, 4 ended well (3), 2 runs -> 2 returned (1 corrupt), 1 lost
    # point 0.5/0.5: task 3 ended well (task 1 failed, task 5 never started), 2 runs -> 1 returned, 1 extra
    assert (c.submitted, c.started, c.ended_well, c.failed) == (6, 5, 4, 1)
    assert (c.returned, c.lost, c.corrupt, c.extra) == (3, 1, 1, 1)
    assert c.ended_well == c.returned + c.lost
    assert c.errors == {
        "OperationalError": {"count": 1, "first": "sqlalchemy.exc.OperationalError: duplicate column name: step"}
    }
    assert c.seconds_to_last == 14.0 and c.peak_parallel == 5
    assert not c.ok


def test_error_kinds():
    from mlops_compare.runners.checks import concurrency as many
    from mlops_compare.runners.checks.concurrency_task import first_error

    lines = ["Traceback (most recent call last):", '  File "x.py"', "alembic.util.exc.CommandError: Online migration"]
    assert first_error(lines) == "alembic.util.exc.CommandError: Online migration"
    assert many.error_kind(first_error(lines)) == "CommandError"
    dvc = "ERROR: Unable to acquire lock. Most likely another DVC process is running"
    assert first_error(["Running stage 'train':", dvc]) == dvc
    assert many.error_kind(dvc).startswith("ERROR: Unable to acquire lock")


def test_report_table_matrix_phrase_and_pane_line():
    """A stored concurrency check becomes a table per tool and variant, a matrix phrase and a pane line."""
    from mlops_compare import criteria
    from mlops_compare.checks import concurrency
    from mlops_compare.evidence import Evidence
    from mlops_compare.report import decision_report
    from mlops_compare.results import RunRecord

    numbers = {"tasks": 12, "mode": "local", "variants": 2}
    for i, (name, default, counts) in enumerate(
        [("SQLite store, created fresh by the tasks", 1, (12, 12, 5, 5, 0, 0)), ("file store", 0, (12,) * 4 + (0, 0))],
        1,
    ):
        numbers |= {f"variant{i}": name, f"variant{i}_default": default, f"variant{i}_seconds": 30.5}
        numbers |= {f"variant{i}_{k}": v for k, v in zip(concurrency.COUNTS, counts, strict=True)}
    numbers["variant1_errors"] = json.dumps({"OperationalError": {"count": 7, "first": "duplicate column name: step"}})
    check = {"status": "partial", "seconds": 60.0, "evidence": "…", "numbers": numbers}
    record = RunRecord(tool="mlflow", status="passed", tool_version="3.17.2", started_at="2026-12-04T17:00:00+00:00")
    record.checks = {"concurrency": check}
    c = criteria.load(criteria.SHIPPED)
    text = decision_report(c, c.profiles[c.default_profile], Evidence.from_history([record]))
    table = text.split("Many writers at once (12 tasks, local)", 1)[1]
    assert "| mlflow | partial | SQLite store, created fresh by the tasks | 12 | 12 | 5 | 5 | 0 | 0 | 30.5 |" in table
    assert "7x OperationalError: duplicate column name: step" in table
    assert "file store (workaround)" in table
    assert concurrency.phrase(check) == "5/12, 12/12 (workaround)"
    assert concurrency.pane_line(check).startswith("concurrency (12 at once, local): SQLite store: 5/12 back, 7 failed")


def test_under_the_slurm_executor_the_array_is_submitted_from_the_login_side():
    """No runner job waits for its own array: with [exam.hpc] the check runs on the login-node side."""
    from mlops_compare.executors.split_run import split_exam

    exam = {**_exam(hpc={}), "checks": ["grid", "concurrency"]}
    job, login = split_exam(exam)
    assert login is not None and login["checks"] == ["concurrency"]
    assert job is not None and "concurrency" not in job["checks"] and "grid" in job["checks"]
    # Without [exam.hpc] the tasks are local processes: they run inside the runner's own job.
    job, login = split_exam({**_exam(), "checks": ["grid", "concurrency"]})
    assert login is None and job is not None
