"""The `hpc` check for real: every runner's grid as Slurm jobs on the session's local Slurm.

Each runner runs only setup + hpc (`"checks": ["hpc"]`) on the small grid; the records must
name job ids and states, the metrics tracked through each route must equal the plain
baseline, the native plugins' outcome must be recorded with the tool's own evidence, and no
job may be left in the queue afterwards, also when a runner is cancelled mid-check.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time

import pytest
from conftest import HPC_TOOLS as TOOLS
from conftest import SMALL_EXAM, assert_baseline_metrics, plain_baseline
from envs_support import environment
from mlops_compare import events
from mlops_compare.infra import slurm
from mlops_compare.runners.checks import hpc as slurm_jobs

EXPECTED = {
    "plain": "partial",  # hand-written sbatch scripts, results only in the jobs' output
    "dvc": "pass",  # the stage command through srun: `dvc exp run` and the queue submit the jobs
    "mlflow": "partial",  # mlflow-slurm fails with MLflow 3; sbatch scripts logging to a server work
    "metaflow": "pass",  # metaflow-slurm's @slurm over an SSH login node and S3
    "dvc-mlflow": "pass",  # DVC's route, each stage also logging to MLflow's store in the workspace
}
# The login-node server of MLflow's server routes can miss its health deadline on a loaded machine: the
# check says so and keeps the file store route (no server), which is what these tests then hold it to.
SERVER_DOWN = "the tracking server for the server routes did not start"
# mlflow: the file store route + the server route; metaflow: 5 @slurm steps + 1 allocation
JOBS = {"plain": 2, "dvc": 2, "mlflow": 2 + 2, "metaflow": 5 + 1, "dvc-mlflow": 2}


def _exam(**hpc) -> dict:
    exam = {**SMALL_EXAM, "grid": {k: list(v) for k, v in SMALL_EXAM["grid"].items()}}
    return {**exam, "hpc": hpc, "checks": ["hpc"]}


def _queue_empty(cluster, timeout: float = 20.0) -> list[str]:
    """The jobs still queued after up to *timeout* s (cancelled jobs take KillWait to leave)."""
    deadline = time.monotonic() + timeout
    while (left := cluster.jobs()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture(scope="module")
def whole_node_cluster():
    """A single-node Slurm whose jobs get the whole node's memory unless they ask (no DefMemPerCPU).

    On such a site a job without --mem runs alone, whatever the free CPUs: the shape that made
    runner jobs wait inside their allocations for their own hpc jobs (issue 17). Its folder is
    one every account can read (slurm.conf, munge's socket), as a site's is: the run below may
    be the test account's.
    """
    from slurm_support import running_cluster

    yield from running_cluster(settings={"DefMemPerCPU": "0", "SchedulerParameters": "batch_sched_delay=0"})


def _account():
    """The unprivileged account of .ci/user-setup when the tests run as root with it (CI: required), else None."""
    if os.geteuid() != 0:
        return None  # the tests run as a user already
    from user_support import require_user

    try:
        return require_user()  # fails (not skips) in CI when the account is missing
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="module")
def hpc_run(whole_node_cluster, tmp_path_factory):
    """Every tool's grid and hpc check through the Slurm executor, all runner jobs queued at once.

    The runner jobs run setup and grid; the hpc check of each runs on the login-node side
    (`SplitRun`), so its grid jobs never wait behind runner jobs that wait for them. As the
    cluster's users run it: `mlops-compare run --executor slurm` as the unprivileged account
    (its own install and tool environments, root's Slurm) when the tests run as root, else
    in this process (the tests run as a user).
    """
    user = _account()
    if user is not None:
        yield from _run_as(user, whole_node_cluster)
        return
    from mlops_compare.executors import SlurmExecutor
    from mlops_compare.executors.local import RunRequest, run_many
    from mlops_compare.executors.slurm_options import SlurmOptions
    from mlops_compare.store import Store

    base = tmp_path_factory.mktemp("hpc")
    env = whole_node_cluster.env
    seen: dict[str, list] = {}
    exam = {**_exam(), "checks": ["grid", "hpc"]}
    requests = [
        RunRequest(t, exam, timeout=900, env=env, workdir=base / "ws", environment=environment(t)) for t in TOOLS
    ]
    executor = SlurmExecutor(SlurmOptions(poll=0.5, env=env), base / "jobs")
    store = Store(base / "store")
    began = time.monotonic()
    on_event = lambda t, e: seen.setdefault(t, []).append(e)  # noqa: E731
    records = asyncio.run(run_many(requests, len(requests), on_event, store, factory=executor.process))
    seen["_seconds"] = [time.monotonic() - began]
    yield {r.tool: r for r in records}, seen, base / "store"


def _run_as(user, cluster):
    """`mlops-compare run --executor slurm --check grid --check hpc --json` as *user*; its records and events."""
    from mlops_compare.store import Store
    from user_support import criteria, run_argv

    folder = user.folder("as-user-hpc-")  # "as-user-": test_as_user allows other tests these folders
    try:
        crit = criteria(user, folder, hpc=True)
        argv = run_argv(user, folder, crit, "--executor", "slurm", "--check", "grid", "--check", "hpc")
        argv += ["--timeout", "900", "--json", *(arg for tool in TOOLS for arg in ("--tool", tool))]
        began = time.monotonic()
        done = user.run(argv, cwd=folder, extra=cluster.env, timeout=1500)
        seen: dict[str, list] = {"_seconds": [time.monotonic() - began]}
        for line in done.stdout.splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                seen.setdefault(event.pop("tool", ""), []).append(event)
        store = folder / "store"
        records = Store(store).latest()
        assert set(records) == set(TOOLS), (done.returncode, done.stderr[-3000:])
        assert store.stat().st_uid == user.uid  # written by the account, not by root
        print(f"as {user.name}: --executor slurm --check grid --check hpc, {len(records)} runners")
        yield records, seen, store
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("tool", TOOLS)
def test_hpc_check_runs_the_grid_as_slurm_jobs(tool, hpc_run, tmp_path, monkeypatch):
    records, seen, _ = hpc_run
    record = records[tool]
    # The runner itself was a batch job with its own --mem (the site gives a job without it the whole node).
    assert record.executor["name"] == "slurm" and record.executor["state"] == "COMPLETED", record.executor
    assert any(arg.startswith("--mem=") for arg in record.executor["sbatch"]), record.executor
    assert record.checks["grid"]["status"] == "pass" and len(record.metrics) == 2
    # The grid the runner job ran gave the local metrics (test_slurm_executor runs the other runners as jobs).
    assert_baseline_metrics(record.metrics, plain_baseline(SMALL_EXAM, tmp_path / "plain", monkeypatch), tool)
    hpc = record.checks["hpc"]
    assert hpc["status"] == EXPECTED[tool], hpc["evidence"]
    assert record.status == "passed", record.reason
    numbers = hpc["numbers"]
    # Job ids and states, per job, from Slurm.
    ids = numbers["job_ids"].split(",")
    expected = JOBS[tool] - (2 if tool == "mlflow" and SERVER_DOWN in hpc["evidence"] else 0)
    assert len(ids) == numbers["jobs"] == expected and all(i.isdigit() for i in ids), numbers
    assert numbers["states"].split(",") == ["COMPLETED"] * expected
    for job_id in ids:
        assert f"{job_id} " in hpc["evidence"]  # "<id> <name> COMPLETED (queued q s, ran r s)"
    assert "queued" in hpc["evidence"] and "ran" in hpc["evidence"]
    assert numbers["queue_seconds_max"] >= 0 and numbers["run_seconds_max"] > 0
    # Every route that worked tracked metrics equal to the plain baseline.
    for i in range(1, numbers["routes"] + 1):
        if numbers[f"route{i}_ok"]:
            assert f"route{i}_error" not in numbers
    assert 0 <= numbers["max_abs_diff"] <= events.AGREEMENT_TOLERANCE
    assert "shared file system" in hpc["evidence"]
    assert "needed from the site" in hpc["evidence"] and "unshare" not in hpc["evidence"]
    # Live progress of the jobs reached the parent.
    labels = {e["label"] for e in seen[tool] if e["type"] == "progress"}
    assert any(label.startswith("hpc: ") for label in labels), labels


@pytest.mark.slow
def test_native_plugins_outcomes_are_recorded_with_their_evidence(hpc_run):
    records, _, _ = hpc_run
    mlflow = records["mlflow"].checks["hpc"]["numbers"]
    evidence = records["mlflow"].checks["hpc"]["evidence"]
    routes = {mlflow[f"route{i}"].split(" ")[0]: i for i in range(1, mlflow["routes"] + 1)}
    # no server while the jobs run: a file store on the shared path, read back afterwards
    files = next(i for i in range(1, mlflow["routes"] + 1) if "file store" in mlflow[f"route{i}"])
    assert mlflow[f"route{files}_ok"] == 1 and mlflow[f"route{files}_native"] == 0, mlflow
    assert mlflow[f"route{files}_jobs"] == 2 and "needed from the site" in evidence
    if SERVER_DOWN not in evidence:
        plugin = routes["mlflow-slurm"]
        assert mlflow[f"route{plugin}_native"] == 1
        assert mlflow["native"] == mlflow[f"route{plugin}_ok"]  # pass exactly when the plugin worked
        if not mlflow[f"route{plugin}_ok"]:
            # The tool's own error, e.g. "AttributeError: 'PosixPath' object has no attribute 'python'" (MLflow 3).
            assert "Error" in mlflow[f"route{plugin}_error"], mlflow
        assert mlflow["routes_ok"] >= 2  # and the server route, for sites that allow one

    metaflow = records["metaflow"].checks["hpc"]
    numbers = metaflow["numbers"]
    assert numbers["route1"].startswith("metaflow-slurm ") and numbers["route1_ok"] == 1, metaflow["evidence"]
    assert numbers["route1_jobs"] == 5 and numbers["route2_jobs"] == 1 and numbers["route2_ok"] == 1
    assert "SSH login node" in metaflow["evidence"] and "slurm-job-id" in metaflow["evidence"]

    for tool in ("dvc", "dvc-mlflow"):  # the combination answers hpc through DVC
        dvc = records[tool].checks["hpc"]
        assert dvc["numbers"]["native"] == 1 and dvc["numbers"]["glue_lines"] == 1, tool
        assert "srun" in dvc["evidence"] and "lock" in dvc["evidence"], tool
    assert records["dvc-mlflow"].checks["hpc"]["numbers"]["answered_by"] == "dvc"


@pytest.mark.slow
def test_no_job_is_left_in_the_queue(hpc_run, whole_node_cluster):
    assert _queue_empty(whole_node_cluster) == []


@pytest.mark.slow
def test_a_cancelled_runner_scancels_its_jobs(slurm_cluster, tmp_path):
    """SIGTERM mid-check (the launcher's cancel): the runner's pending jobs leave the queue."""
    from mlops_compare.executors.local import RunnerProcess, RunRequest

    env = {"SLURM_CONF": str(slurm_cluster.conf)}
    # A job holding both CPUs keeps the runner's jobs pending until the cancel.
    blocker = slurm.submit(
        ["sleep", "300"], name="blocker", chdir=tmp_path, output=tmp_path / "blocker.out", cpus=2, env=env
    )
    try:

        async def scenario():
            runner = RunnerProcess(RunRequest("plain", _exam(), timeout=300, env=env, workdir=tmp_path))
            task = asyncio.create_task(runner.run())
            deadline = time.monotonic() + 120
            pending: list[str] = []
            while not pending and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.5)
                listed = await asyncio.to_thread(slurm.listed, env=env)
                pending = [j.state.job_id for j in listed if j.name == "mlops-compare-plain" and not j.state.finished]
            assert pending, "the runner's jobs never appeared in the queue"
            runner.cancel()
            return await task, pending

        record, pending = asyncio.run(scenario())
        assert record.status == "cancelled"
        deadline = time.monotonic() + 20
        while (left := [i for i in slurm_cluster.jobs() if i in pending]) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert left == [], f"jobs of the cancelled runner still queued: {left}"
    finally:
        slurm.cancel(blocker, env=env)
    assert _queue_empty(slurm_cluster) == []


def test_hpc_check_without_slurm_fails_with_the_reason(tmp_path):
    """No sbatch on PATH: a fail whose evidence says so, not a crash or a hang."""
    import json
    import sys

    empty = tmp_path / "bin"
    empty.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "mlops_compare.runners.plain", "--exam", json.dumps(_exam()), "--workspace", tmp_path],
        capture_output=True,
        text=True,
        env={"PATH": str(empty), "HOME": str(tmp_path)},
        timeout=120,
    )
    checks = [json.loads(line) for line in out.stdout.splitlines() if '"type": "check"' in line]
    hpc = next(c for c in checks if c["id"] == "hpc")
    assert hpc["status"] == "fail" and "sbatch is not on PATH" in hpc["evidence"], hpc


def test_verdict_rule():
    native = slurm_jobs.Route("plugin", native=True)
    wrapper = slurm_jobs.Route("script", native=False)
    assert slurm_jobs.verdict([native, wrapper]).status == "fail"
    wrapper.ok = True
    wrapper.max_abs_diff = 0.0
    assert slurm_jobs.verdict([native, wrapper]).status == "partial"
    native.ok = True
    native.max_abs_diff = 0.0
    outcome = slurm_jobs.verdict([native, wrapper])
    assert outcome.status == "pass" and outcome.numbers["native"] == 1


def test_listed_finds_a_job_by_its_working_folder(slurm_cluster, tmp_path):
    env = slurm_cluster.env
    job_id = slurm.submit(["true"], name="listed-test", chdir=tmp_path, output=tmp_path / "out", env=env)
    slurm.wait(job_id, 60, poll=0.5, env=env)
    job = next(j for j in slurm.listed(env=env) if j.state.job_id == job_id)
    assert job.name == "listed-test" and job.workdir == str(tmp_path) and job.submit is not None
    assert job.state.state == "COMPLETED"


@pytest.mark.slow
def test_the_report_shows_what_each_tool_needed_on_slurm(hpc_run, tmp_path):
    import sys

    _, _, store = hpc_run
    out = tmp_path / "report.md"
    cmd = [sys.executable, "-m", "mlops_compare", "report", "--store", str(store), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    text = out.read_text()
    section = text.split("### On Slurm", 1)[1].split("###", 1)[0]
    for tool in TOOLS:
        assert f"| {tool} |" in section
    assert "mlflow-slurm" in section and "AttributeError" in section or "| mlflow |" in section
    assert "metaflow-slurm" in section


def test_checks_that_submit_jobs_run_on_the_login_side_under_the_slurm_executor():
    """The runner job never waits inside its allocation for the hpc check's own jobs."""
    from mlops_compare.executors.split_run import split_exam

    job, login = split_exam({**_exam(), "checks": ["grid", "hpc"]})
    assert job["checks"] == ["setup", "grid"] and login["checks"] == ["hpc"]
    job, login = split_exam({**_exam(), "checks": ["hpc"]})
    assert job is None and login["checks"] == ["hpc"]  # setup alone is not worth a job
    exam = {k: v for k, v in _exam().items() if k not in ("hpc", "checks")}
    job, login = split_exam(exam)  # hpc not configured: everything in the job
    assert login is None and job == exam
    job, login = split_exam({**_exam(), "checks": []})  # every check
    assert "hpc" not in job["checks"] and "grid" in job["checks"] and login["checks"] == ["hpc"]


def test_a_job_pending_past_the_queue_timeout_names_slurms_reason(slurm_cluster, tmp_path):
    """[exam.hpc] queue_timeout: the wait ends with the pending reason Slurm gave."""
    from mlops_compare.runners.context import Context

    env = slurm_cluster.env
    ctx = Context.__new__(Context)
    ctx.exam, ctx.workspace = {"hpc": {"queue_timeout": 2, "poll_seconds": 0.3}}, tmp_path
    ctx.log = ctx.progress = lambda *a, **k: None
    jobs = slurm_jobs.SlurmJobs(ctx)
    held = slurm.submit(["true"], name="held", chdir=tmp_path, output=tmp_path / "out", env=env, extra=["--hold"])
    try:
        import os

        old = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = env["SLURM_CONF"]
        try:
            with pytest.raises(TimeoutError, match=rf"{held} PENDING \(JobHeldUser\)"):
                jobs.wait([held], timeout=60)
        finally:
            if old is None:
                os.environ.pop("SLURM_CONF")
            else:
                os.environ["SLURM_CONF"] = old
    finally:
        slurm.cancel(held, env=env)


def test_sigterm_cancels_the_jobs_once_and_exits_143(tmp_path):
    """The SIGTERM guard of the checks that submit jobs (and the ZenML plugin's daemon): earlier handler, then cleanup."""
    import subprocess
    import sys

    code = (
        "import os, signal, sys\n"
        "from mlops_compare.runners.context import cleanup_on_term\n"
        "signal.signal(signal.SIGTERM, lambda *a: print('earlier handler', flush=True))\n"
        "with cleanup_on_term(lambda: print('cancelled', flush=True)):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 143, out.stderr
    # the block's end cancels again (nothing left to cancel by then: scancel of no job is a no-op)
    assert out.stdout.splitlines()[:2] == ["earlier handler", "cancelled"]
