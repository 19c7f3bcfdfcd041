"""SIGHUP and SIGTERM to `mlops-compare run`: what a dropped SSH session or a `kill` leaves behind.

Local runners are stopped and stored as cancelled with the signal as reason (exit 129 / 143);
under Slurm, SIGTERM scancels the jobs and stores cancelled records, SIGHUP leaves the jobs
running as a detached run that `run --attach` collects later.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlops_compare.infra import proctree, slurm
from mlops_compare.store import Store

WAIT = 120.0


def slow_criteria(criteria_copy: Path, points: int = 60) -> Path:
    """The shipped criteria with a grid long enough to signal a runner mid-run (plain: a few seconds)."""
    text = criteria_copy.read_text()
    alphas = ", ".join(f"{0.01 * i:.2f}" for i in range(points))
    text = re.sub(r"(?m)^alpha = .*$", f"alpha = [{alphas}]", text, count=1)
    text = re.sub(r"(?m)^l1_ratio = .*$", "l1_ratio = [0.5, 1.0]", text, count=1)
    criteria_copy.write_text(text)
    return criteria_copy


def start_run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_compare", "run", "--json", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )


def wait_for_event(proc: subprocess.Popen, test, timeout: float = WAIT) -> list[dict]:
    """Read the JSON events until *test(event)* holds; return them."""
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{"):
            event = json.loads(line)
            seen.append(event)
            if test(event):
                return seen
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"no such event within {timeout:g} s; stderr: {proc.stderr.read() if proc.stderr else ''}")


def finish(proc: subprocess.Popen, timeout: float = WAIT) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


def first_metric(event: dict) -> bool:
    return event.get("type") == "metric"


@pytest.mark.parametrize(("signum", "code", "name"), [(signal.SIGHUP, 129, "SIGHUP"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_to_a_local_run_stores_cancelled_records_and_leaves_no_process(
    signum, code, name, criteria_copy, tmp_path
):
    store, work = tmp_path / "store", tmp_path / "work"
    argv = ["--criteria", str(slow_criteria(criteria_copy)), "--store", str(store), "--workdir", str(work)]
    began = time.time()
    proc = start_run([*argv, "--tool", "plain", "--check", "grid", "--timeout", "300"])
    wait_for_event(proc, first_metric)
    proc.send_signal(signum)
    returncode, err = finish(proc, 30)
    assert returncode == code, err
    record = Store(store).latest()["plain"]
    assert record.status == "cancelled", record.reason
    assert name in record.reason
    assert len(record.metrics) >= 1  # what the runner measured before the signal is kept
    assert f"stopped by {name}" in err
    time.sleep(0.5)
    assert proctree.working_in(work, started_after=began) == []


@pytest.fixture
def on_cluster(slurm_cluster, monkeypatch):
    monkeypatch.setenv("SLURM_CONF", slurm_cluster.env["SLURM_CONF"])
    return slurm_cluster


def _slurm_argv(criteria: Path, store: Path) -> list[str]:
    return ["--executor", "slurm", "--criteria", str(criteria), "--store", str(store), "--timeout", "300"]


def test_sigterm_to_a_slurm_run_cancels_its_jobs_and_stores_cancelled_records(on_cluster, criteria_copy, tmp_path):
    store = tmp_path / "store"
    proc = start_run([*_slurm_argv(slow_criteria(criteria_copy), store), "--tool", "plain", "--check", "grid"])
    wait_for_event(proc, first_metric)
    proc.send_signal(signal.SIGTERM)
    returncode, err = finish(proc, 90)
    assert returncode == 143, err
    record = Store(store).latest()["plain"]
    assert record.status == "cancelled" and "SIGTERM" in record.reason, record.reason
    job_id = record.executor["job_id"]
    assert slurm.wait(job_id, 30, poll=0.3, env=on_cluster.env).state == "CANCELLED"
    assert on_cluster.jobs() == []
    assert not list((store / "slurm").glob("*.json"))  # nothing to attach to


def test_sighup_to_a_slurm_run_keeps_its_jobs_and_attach_stores_their_records(on_cluster, criteria_copy, tmp_path):
    store = tmp_path / "store"
    criteria = slow_criteria(criteria_copy, points=30)
    proc = start_run([*_slurm_argv(criteria, store), "--tool", "plain", "--check", "grid"])
    wait_for_event(proc, lambda e: e.get("type") == "log" and "RUNNING" in str(e.get("line", "")))
    proc.send_signal(signal.SIGHUP)
    returncode, err = finish(proc, 60)
    assert returncode == 129, err
    assert "run --attach" in err
    assert Store(store).history() == []  # nothing stored: the job runs on
    [state] = (store / "slurm").glob("*.json")
    job_id = json.loads(state.read_text())["jobs"][0]["job_id"]
    assert job_id in on_cluster.jobs()  # still queued or running after the parent is gone

    attach = subprocess.run(
        [sys.executable, "-m", "mlops_compare", "run", "--attach", "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert attach.returncode == 0, attach.stderr
    record = Store(store).latest()["plain"]
    assert record.status == "passed", record.reason
    assert record.executor["job_id"] == job_id and len(record.metrics) == 60
    assert not state.exists()
    assert on_cluster.jobs() == []


async def test_sighup_to_the_tui_stops_its_runs_with_the_signal_as_reason(tmp_path):
    """The TUI on SIGHUP (its terminal gone): every run cancelled with the signal as reason, exit 129."""
    from tui_support import ReplayStarter, make_app, wait_for

    app = make_app(tmp_path, ReplayStarter(hold_after=20), runners=["plain", "mlflow"])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.main.pane("plain").record is not None and app.main.pane("plain").record.metrics
        )
        panes = {tool: app.main.pane(tool) for tool in ("plain", "mlflow")}
        app.stop_on_signal(signal.SIGHUP)  # what the loop's handler calls
        await wait_for(pilot, lambda: app.return_code is not None, 20)
    assert app.return_value == 129
    for tool, pane in panes.items():
        record = pane.record
        assert record.status == "cancelled" and "SIGHUP" in record.reason, (tool, record.reason)
