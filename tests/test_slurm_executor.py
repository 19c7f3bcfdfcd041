"""`mlops-compare run --executor slurm`: runners as batch jobs on a real single-node Slurm.

The cluster is this module's own (`batch_sched_delay=0`: jobs start sooner). Runs use a
two-point grid; the process-handling tests use the plain runner with a larger grid, so
there is time to cancel, kill or time it out mid-run. Slurm's own time limits have a
resolution of a minute, so the timeout tested is mlops-compare's runner timeout (which
scancels the job); how a TIMEOUT, OUT_OF_MEMORY or NODE_FAIL job becomes a record is
tested on the states themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import HPC_TOOLS, SMALL_EXAM, assert_baseline_metrics, plain_baseline
from mlops_compare import cli, registry
from mlops_compare.events import encode, make
from mlops_compare.executors import NO_SBATCH, SlurmExecutor
from mlops_compare.executors import local as launcher
from mlops_compare.executors.event_tail import EventTail
from mlops_compare.executors.local import RunRequest
from mlops_compare.executors.slurm import SlurmJob
from mlops_compare.executors.slurm_options import SlurmOptions
from mlops_compare.infra import proctree, slurm
from mlops_compare.store import Store
from slurm_support import running_cluster

WAIT = 120  # seconds any job here may take
# ~3 s of baseline and ~3 s of grid in the plain runner: time to act mid-run
SLOW_EXAM = {**SMALL_EXAM, "grid": {"alpha": [0.01 * i for i in range(100)], "l1_ratio": [0.5, 1.0]}}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from running_cluster(
        tmp_path_factory.mktemp("slurm-executor"), settings={"SchedulerParameters": "batch_sched_delay=0"}
    )


@pytest.fixture
def on_cluster(cluster, monkeypatch):
    """The CLI reaches the cluster through SLURM_CONF, as a user's shell would."""
    monkeypatch.setenv("SLURM_CONF", cluster.env["SLURM_CONF"])
    return cluster


@pytest.fixture
def tiny_criteria(criteria_copy: Path) -> Path:
    text = criteria_copy.read_text()
    text = re.sub(r"(?m)^alpha = .*$", "alpha = [0.0, 0.5]", text, count=1)
    text = re.sub(r"(?m)^l1_ratio = .*$", "l1_ratio = [0.5]", text, count=1)
    criteria_copy.write_text(text)
    return criteria_copy


def job(cluster, tmp_path, exam, *, timeout=120.0, **options) -> SlurmJob:
    options = {"poll": 0.5, "env": cluster.env, **options}
    executor = SlurmExecutor(SlurmOptions(**options), tmp_path / "run")
    return executor.process(RunRequest("plain", exam, timeout=timeout), store=Store(tmp_path / "store"))


def runner_processes(one: SlurmJob):
    return proctree.with_env(launcher.TOKEN_VAR, one.token)


def run_until_metric(one: SlurmJob, act) -> None:
    """Run the job; call *act* once, when its first metric event arrives."""

    def on_event(tool, event):
        if event["type"] == "metric" and len(one.record.metrics) == 1:
            act()

    one.on_event = on_event
    asyncio.run(one.run())


# --- against the cluster ----------------------------------------------------------------


# test_hpc runs conftest.HPC_TOOLS' grids as runner jobs (as the unprivileged account in CI, with
# their metrics against the plain baseline); here the rest of the registry (the ZenML and W&B
# plugins) and plain, so every registered runner is run as a job once per test run.
def _as_jobs_here() -> list[str]:
    return sorted({"plain", *(set(registry.available()) - set(HPC_TOOLS))})


def test_every_runner_runs_as_a_job_with_the_local_metrics(on_cluster, tiny_criteria, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    argv = ["run", "--executor", "slurm", "--criteria", str(tiny_criteria), "--store", str(store)]
    tools = _as_jobs_here()
    assert {"plain", "zenml", "wandb"} <= set(tools)  # the plugins are installed (.ci/setup)
    code = cli.main([*argv, "--check", "grid", "--timeout", "600", *(a for t in tools for a in ("--tool", t))])
    out = capsys.readouterr().out
    records = Store(store).latest()
    assert set(records) == set(tools)
    reasons = {tool: (r.status, r.reason) for tool, r in records.items()}
    assert code == 0, reasons
    # live progress, as with local processes: job states then the checks, line by line
    for tool in records:
        assert re.search(rf"(?m)^{tool}: Slurm job \d+: RUNNING", out), out
        assert f"{tool}: grid: PASS" in out
    baseline = plain_baseline(SMALL_EXAM, tmp_path / "plain", monkeypatch)
    for tool, record in records.items():
        assert record.status == "passed", record.reason
        info = record.executor
        assert info["name"] == "slurm" and info["job_id"].isdigit() and info["state"] == "COMPLETED"
        assert info["exit_code"] == 0 and info["node"] == on_cluster.hostname
        assert Path(record.workspace).is_relative_to(store.resolve() / "slurm")
        assert (Path(info["folder"]) / "events.jsonl").is_file()
        assert len(record.metrics) == 2, tool
        assert_baseline_metrics(record.metrics, baseline, tool)
        assert "threads per process: OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1" in record.log
    assert on_cluster.jobs() == []


def test_a_jobs_cpus_are_its_processes_threads(cluster, tmp_path):
    # --cpus-per-task=2: the runner's processes get two BLAS/OpenMP threads (infra.threads), as
    # Slurm's convention has it; a job without it gets one (test_every_runner_runs_as_a_job...)
    one = job(cluster, tmp_path, {**SMALL_EXAM, "checks": ["setup"]}, cpus=2)
    record = asyncio.run(one.run())
    assert record.status == "passed", record.reason
    assert "threads per process: OMP_NUM_THREADS=2, OPENBLAS_NUM_THREADS=2, MKL_NUM_THREADS=2" in record.log


def test_cancel_mid_run_scancels_the_job(cluster, tmp_path):
    one = job(cluster, tmp_path, SLOW_EXAM)
    run_until_metric(one, lambda: one.cancel("stopped by the test"))
    record = one.record
    assert (record.status, record.reason) == ("cancelled", "stopped by the test")
    assert 1 <= len(record.metrics) < 200
    assert record.executor["state"] == "CANCELLED"
    assert one.job_id not in cluster.jobs()
    assert runner_processes(one) == []
    [stored] = Store(tmp_path / "store").history()
    assert json.loads(stored.read_text())["status"] == "cancelled"


def test_runner_timeout_scancels_the_job(cluster, tmp_path):
    one = job(cluster, tmp_path, SLOW_EXAM, timeout=2.0)
    record = asyncio.run(one.run())
    assert record.status == "timeout"
    assert record.reason == f"timed out after 2 s (Slurm job {one.job_id})"
    assert record.executor["state"] == "CANCELLED"
    assert one.job_id not in cluster.jobs()


def test_runner_killed_in_its_job_is_a_failed_job_with_the_reason(cluster, tmp_path):
    one = job(cluster, tmp_path, SLOW_EXAM)
    run_until_metric(one, lambda: proctree.kill(runner_processes(one)))
    record = one.record
    assert record.status == "error"
    assert record.reason.startswith(f"Slurm job {one.job_id} FAILED (NonZeroExitCode), exit code 137")
    assert "runner stopped by signal 9" in record.log or "runner exited with signal 9" in record.log
    assert one.job_id not in cluster.jobs()


def test_job_cancelled_outside_is_a_cancelled_record(cluster, tmp_path):
    one = job(cluster, tmp_path, SLOW_EXAM)
    run_until_metric(one, lambda: slurm.cancel(one.job_id, env=cluster.env))
    assert one.record.status == "cancelled"
    assert one.record.reason == f"Slurm job {one.job_id} CANCELLED outside mlops-compare"


def test_controller_gone_mid_run_is_a_stored_record_not_a_hang(cluster, tmp_path):
    controller = cluster.processes["slurmctld"]
    one = job(cluster, tmp_path, SLOW_EXAM, command_timeout=2.0, controller_grace=1.0)
    frozen = []

    def freeze():  # the runner stops writing and the controller stops answering
        frozen.extend(runner_processes(one))
        for process in frozen:
            process.send_signal(signal.SIGSTOP)
        controller.send_signal(signal.SIGSTOP)

    began = time.monotonic()
    try:
        run_until_metric(one, freeze)
    finally:
        controller.send_signal(signal.SIGCONT)
        for process in frozen:
            process.send_signal(signal.SIGCONT)
    assert time.monotonic() - began < 60
    record = one.record
    assert record.status == "error"
    assert record.reason.startswith("lost contact with Slurm for ")
    assert f"scancel {one.job_id}" in record.reason
    assert Store(tmp_path / "store").history()
    slurm.cancel(one.job_id, env=cluster.env)  # the user's part, once the controller is back
    slurm.wait(one.job_id, WAIT, poll=0.2, env=cluster.env)


def test_detach_then_attach_collects_every_result(on_cluster, tiny_criteria, tmp_path, capsys):
    store = tmp_path / "store"
    argv = ["run", "--criteria", str(tiny_criteria), "--store", str(store)]
    tools = ["--tool", "plain", "--tool", "mlflow", "--check", "grid"]
    assert cli.main([*argv, "--executor", "slurm", "--detach", *tools]) == 0
    captured = capsys.readouterr()
    ids = dict(re.findall(r"(?m)^(\w+): Slurm job (\d+)$", captured.out))
    assert set(ids) == {"plain", "mlflow"}
    assert "mlops-compare run --attach " in captured.err
    [state] = (store / "slurm").glob("*.json")
    assert Store(store).history() == []  # nothing collected yet
    assert set(on_cluster.jobs()) <= set(ids.values())
    # one job ends while nobody follows it: its events wait in the file
    assert slurm.wait(ids["plain"], WAIT, poll=0.2, env=on_cluster.env).state == "COMPLETED"

    assert cli.main(["run", "--attach", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    records = Store(store).latest()
    assert {tool: r.status for tool, r in records.items()} == {"plain": "passed", "mlflow": "passed"}
    assert {tool: r.executor["job_id"] for tool, r in records.items()} == ids
    assert len(records["plain"].metrics) == 2 and "plain: grid: PASS" in out
    assert not state.exists()
    assert on_cluster.jobs() == []
    # collected: nothing left to attach to
    assert cli.main(["run", "--attach", "--store", str(store)]) == 2
    assert "no detached Slurm run" in capsys.readouterr().err


def test_unknown_partition_is_sbatchs_message_and_exit_2(on_cluster, tiny_criteria, tmp_path, capsys):
    store = tmp_path / "store"
    argv = ["run", "--executor", "slurm", "--partition", "nowhere", "--tool", "plain"]
    assert cli.main([*argv, "--criteria", str(tiny_criteria), "--store", str(store)]) == 2
    err = capsys.readouterr().err
    assert "sbatch refused the job (--partition=nowhere" in err and "invalid partition specified: nowhere" in err
    assert Store(store).history() == [] and on_cluster.jobs() == []


# --- the TUI ------------------------------------------------------------------------------


def tui_app(cluster, tmp_path):
    from mlops_compare.tui.runs import launcher_starter
    from tui_support import make_app

    store = Store(tmp_path / ".mlops-compare")
    executor = SlurmExecutor(SlurmOptions(poll=0.5, env=cluster.env), tmp_path / "shared", "tui").spec()
    return make_app(tmp_path, launcher_starter(store, executor=executor), runners=["plain"], store=store)


async def submitted_from_the_tui(app, pilot):
    """Run the plain runner from its tab (``]`` then ``R``) until it is a Slurm job: its pane and job id."""
    from tui_support import wait_for

    await pilot.press("right_square_bracket", "R")
    pane = app.main.pane("plain")
    await wait_for(pilot, lambda: pane.record is not None and pane.record.executor.get("job_id"), WAIT)
    return pane, pane.record.executor["job_id"]


async def test_tui_runs_a_runner_as_a_slurm_job_with_its_id_and_state(cluster, tmp_path):
    from tui_support import settle, wait_for

    app = tui_app(cluster, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        pane, job_id = await submitted_from_the_tui(app, pilot)
        await wait_for(pilot, lambda: pane.record.finished and not app.runs.active, WAIT)
        await settle(app, pilot)
        assert pane.record.status == "passed", pane.record.reason
        status_line = str(pane.query_one(".run-status").render())
        assert "passed" in status_line and f"job {job_id} COMPLETED" in status_line
        assert pane.record.metrics and len(pane.record.metrics) == 9
    stored = app.store.latest()["plain"]
    assert stored.status == "passed" and stored.executor["job_id"] == job_id
    assert Path(stored.workspace).is_relative_to(tmp_path / "shared")
    assert cluster.jobs() == []


async def test_quitting_the_tui_scancels_its_jobs(cluster, tmp_path):
    from tui_support import wait_for

    app = tui_app(cluster, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        pane, job_id = await submitted_from_the_tui(app, pilot)
        assert job_id in cluster.jobs()
        await pilot.press("q", "y")  # quit, confirming that the active run stops
        await wait_for(pilot, lambda: not app.runs.active, WAIT)
    assert job_id not in cluster.jobs()
    stored = app.store.latest()["plain"]
    assert (stored.status, stored.reason) == ("cancelled", "mlops-compare was closed")


async def test_sighup_to_the_tui_keeps_its_slurm_job_for_attach(on_cluster, tmp_path):
    """The terminal of a TUI running a Slurm job goes away: the job runs on, `run --attach` stores it."""
    from tui_support import wait_for

    app = tui_app(on_cluster, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        pane, job_id = await submitted_from_the_tui(app, pilot)
        app.stop_on_signal(signal.SIGHUP)  # what the loop's handler calls
        await wait_for(pilot, lambda: app.return_code is not None, WAIT)
    assert app.return_value == 129
    assert job_id in on_cluster.jobs()  # not scancelled: still queued or running
    assert app.store.history() == []  # nothing stored yet: the job's record is attach's to store
    [state] = (app.store.root / "slurm").glob("*.json")
    assert [job["job_id"] for job in json.loads(state.read_text())["jobs"]] == [job_id]

    # later, from a new login: `run --attach` (a process of its own; this test's loop is still running)
    argv = [sys.executable, "-m", "mlops_compare", "run", "--attach", "--store", str(app.store.root)]
    attach = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert attach.returncode == 0, attach.stderr[-3000:]
    stored = app.store.latest()["plain"]
    assert stored.status == "passed" and stored.executor["job_id"] == job_id, stored.reason
    assert not state.exists() and on_cluster.jobs() == []


# --- without a cluster --------------------------------------------------------------------


def test_no_sbatch_on_path_is_a_clear_message_and_exit_2(tiny_criteria, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    argv = ["run", "--executor", "slurm", "--criteria", str(tiny_criteria), "--store", str(tmp_path / "s")]
    assert cli.main(argv) == 2
    # the last line: a tool environment not built yet is built first (its progress lines before)
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"error: mlops-compare: {NO_SBATCH}"


def test_detach_needs_the_slurm_executor(tiny_criteria, tmp_path, capsys):
    assert cli.main(["run", "--detach", "--criteria", str(tiny_criteria), "--store", str(tmp_path / "s")]) == 2
    assert "--detach works with --executor slurm" in capsys.readouterr().err


def test_options_come_from_exam_hpc_and_flags_win():
    hpc = {"partition": "gpu", "mem": "2G", "options": ["--qos=short"], "poll_seconds": 5, "time_limit": "0:30:00"}
    options = SlurmOptions.from_settings(hpc, partition="cpu", cpus=4, options=["--exclusive"], account=None)
    assert (options.partition, options.mem, options.cpus, options.poll) == ("cpu", "2G", 4, 5.0)
    assert options.sbatch_args(900) == [
        "--partition=cpu",
        "--time=0:30:00",
        "--cpus-per-task=4",
        "--mem=2G",
        "--qos=short",
        "--exclusive",
    ]
    # the runner timeout + 2 min, in minutes; memory never left to the site (without DefMemPerCPU: the whole node)
    assert SlurmOptions().sbatch_args(900) == ["--time=17", "--mem=4G"]
    assert SlurmOptions.from_dict(options.to_dict()) == options


@pytest.mark.parametrize(
    ("state", "reason", "status", "expected"),
    [
        ("TIMEOUT", "TimeLimit", "timeout", "Slurm job 7 TIMEOUT: reached its Slurm time limit (--time=17)"),
        ("OUT_OF_MEMORY", "OutOfMemory", "error", "Slurm job 7 OUT_OF_MEMORY: the runner needed more than --mem=1G"),
        ("NODE_FAIL", "NodeDown", "error", "Slurm job 7 NODE_FAIL: node n1 failed (NodeDown)"),
        ("CANCELLED", None, "cancelled", "Slurm job 7 CANCELLED outside mlops-compare"),
        ("FAILED", "NonZeroExitCode", "error", "Slurm job 7 FAILED (NonZeroExitCode), exit code 1: Traceback end"),
        ("COMPLETED", None, "error", "Slurm job 7 COMPLETED without a result: Traceback end"),
        ("UNKNOWN", None, "error", "Slurm job 7 is no longer known to Slurm and wrote no result: Traceback end"),
    ],
)
def test_a_job_ending_without_a_result_is_a_record_with_slurms_state(tmp_path, state, reason, status, expected):
    one = SlurmJob(
        RunRequest("plain", SMALL_EXAM, timeout=900),
        store=Store(tmp_path / "store"),
        options=SlurmOptions(mem="1G"),
        folder=tmp_path,
        job_id="7",
    )
    one.record.start()
    one._emit_all([make("log", line="Traceback end", stream="stdout")])
    one.state = slurm.JobState("7", state, reason=reason, exit_code=1, node="n1")
    one._conclude()
    assert (one.record.status, one.record.reason) == (status, expected)
    assert one.record.executor["state"] == state
    [stored] = Store(tmp_path / "store").history()
    assert json.loads(stored.read_text())["executor"]["job_id"] == "7"


def test_event_tail_waits_for_whole_lines_and_survives_truncation(tmp_path):
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read() == []  # not there yet
    first, second = encode(make("log", line="one", stream="runner")), encode(make("log", line="two", stream="runner"))
    path.write_bytes(first + second[:10])
    assert [e["line"] for e in tail.read()] == ["one"]
    with open(path, "ab") as handle:
        handle.write(second[10:] + b"not json\n" + b"x" * (1 << 21))
    found = tail.read()
    assert [e["line"] for e in found[:2]] == ["two", "not json"]
    assert found[2]["line"] == "x" * (1 << 20) + " [line cut at 1 MiB]" and len(found) == 3
    with open(path, "ab") as handle:
        handle.write(b"y" * 10 + b"\n" + first[:-1])
    assert tail.read() == []  # the rest of the cut line is dropped; "one" waits for its newline
    assert [e["line"] for e in tail.finish()] == ["one"]  # a last line without its newline
    path.write_bytes(second)  # truncated and rewritten: read again from the start
    found = tail.read()
    assert "truncated or replaced" in found[0]["line"] and found[1]["line"] == "two"
    os.unlink(path)
    assert tail.read() == []
