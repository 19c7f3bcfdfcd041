"""Issue 18, "nothing lost": bad input refused before the exam starts (exit 2, one line saying
what and where), the results store probed first, damaged records named, leftovers cleaned.

Each test reproduces one defect of the issue's hostile pass; none runs a real MLOps tool.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlops_compare import cli
from test_criteria import MINIMAL


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error(err: str) -> str:
    """The single error line of a refused command (no traceback, nothing else)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# --- item 5: weights above a documented bound -----------------------------------------------


def test_huge_weights_on_the_command_line_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ("--weight", "versioning=1e308", "--weight", "storage=1e308")
    for command in (("score",), ("report",)):
        code, _, err = run(capsys, *command, *argv)
        assert code == 2 and "weights must be at most 1e+06" in one_error(err), err
    code, _, err = run(capsys, "score", "--weight", "versioning=1000000")
    assert code == 0, err  # the bound itself is fine


def test_huge_weights_in_the_criteria_are_refused_with_file_and_line(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL.replace("a = 1\n", "a = 1e308\n"))
    code, _, err = run(capsys, "check", "--criteria", str(path))
    assert code == 2
    assert f"{path}:10:1: profile 'p': weight of 'a' is 1e+308; weights must be at most 1e+06" in one_error(err)


# --- item 6: each bad option, one line and exit 2 --------------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--timeout", "nan"], "--timeout nan: give a number of seconds more than 0"),
        (["--timeout", "inf"], "--timeout inf: give a number of seconds more than 0"),
        (["--timeout", "-1"], "--timeout -1: give a number of seconds more than 0"),
        (["--timeout", "0"], "--timeout 0: give a number of seconds more than 0"),
        (["--jobs", "0"], "--jobs must be at least 1"),
        (["--jobs", "-3"], "--jobs must be at least 1"),
        (["--data", ""], "--data is empty: give a CSV path or sklearn:NAME"),
        (["--target", ""], "--target is empty: give the name of the data's target column"),
        (["--target", "  "], "--target is empty: give the name of the data's target column"),
    ],
)
def test_bad_run_options_are_refused_before_anything_starts(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run", "--tool", "plain", "--check", "grid", *argv)
    assert code == 2 and message in one_error(err)
    assert not (tmp_path / ".mlops-compare").exists()


def test_a_workdir_that_is_a_file_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("")
    code, _, err = run(capsys, "run", "--tool", "plain", "--check", "grid", "--workdir", "f")
    assert code == 2 and "--workdir f: not a folder" in one_error(err)


@pytest.mark.parametrize("content", ["[]", "null", '"x"', '{"jobs": {}}', "{"])
def test_a_detach_state_file_of_the_wrong_shape_is_named(capsys, tmp_path, monkeypatch, content):
    monkeypatch.chdir(tmp_path)
    state = tmp_path / ".mlops-compare" / "slurm" / "20990101T000000Z-abcd.json"
    state.parent.mkdir(parents=True)
    state.write_text(content)
    code, _, err = run(capsys, "run", "--attach")
    assert code == 2 and f"{Path('.mlops-compare/slurm/20990101T000000Z-abcd.json')}: not a detached run" in one_error(
        err
    )


# --- item 7: a closed stderr -----------------------------------------------------------------


def test_errors_into_a_closed_pipe_exit_2_without_a_traceback(tmp_path):
    path = tmp_path / "many-errors.toml"
    path.write_text(MINIMAL + "".join(f"[tool.t{i}.ratings]\nzz{i} = 1\n" for i in range(300)))
    command = [sys.executable, "-m", "mlops_compare", "check", "--criteria", str(path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stderr.close()  # `2>&1 | head -1` once head has left
    proc.stdout.close()
    assert proc.wait(timeout=60) in (2, 141)


# --- item 1: the store is checked first; a save that fails later loses nothing ----------------

FAKE_RUNNER = """
import json, sys
print(json.dumps({"v": 1, "type": "check", "id": "grid", "status": "pass", "seconds": 0.1, "evidence": "ok",
                  "numbers": {}}))
print(json.dumps({"v": 1, "type": "result", "status": "passed", "reason": "", "tool": "t", "tool_version": "1"}))
"""


@pytest.mark.parametrize("store", ["f", "f/sub"])
def test_a_store_that_cannot_be_written_is_refused_before_any_runner_starts(capsys, tmp_path, monkeypatch, store):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("")
    argv = ("run", "--tool", "plain", "--check", "grid", "--store", store, "--workdir", "work")
    code, _, err = run(capsys, *argv)
    line = one_error(err)
    assert code == 2 and f"{store}: the results store" in line
    assert not (tmp_path / "work").exists()  # no runner started


def test_a_save_that_fails_later_keeps_the_record_beside_the_workspace(tmp_path, monkeypatch):
    import asyncio

    from mlops_compare.executors.local import RunRequest, run_many
    from mlops_compare.results import RunRecord
    from mlops_compare.store import Store

    (tmp_path / "fake_runner.py").write_text(FAKE_RUNNER)
    store = Store(tmp_path / "store")
    store.probe()
    real_save = Store.save

    def full_disk(self, record: RunRecord):
        if record.tool == "first":
            raise OSError(28, "No space left on device")
        return real_save(self, record)

    monkeypatch.setattr(Store, "save", full_disk)
    env = {"PYTHONPATH": str(tmp_path)}
    requests = [
        RunRequest(tool, {}, module="fake_runner", env=env, workdir=tmp_path / "work", keep_workspace=True)
        for tool in ("first", "second")
    ]
    records = asyncio.run(run_many(requests, 1, store=store))
    assert [r.status for r in records] == ["passed", "passed"]
    assert [store.tool_of(p) for p in store.history()] == ["second"]  # the other tool's record is stored
    [lost] = store.unsaved
    assert lost.tool == "first" and "No space left on device" in lost.reason
    assert lost.kept == Path(records[0].workspace).parent / (Path(records[0].workspace).name + ".record.json")
    assert json.loads(lost.kept.read_text())["checks"]["grid"]["status"] == "pass"
    assert f"first: the record was not stored ({store.runs}: No space left on device); kept at {lost.kept}" == str(lost)


# --- items 2 and 3: damaged records are named, once, and the rest is used ----------------------


def _stored(tmp_path: Path, tool: str, stamp: str, status: str = "pass") -> Path:
    from mlops_compare.results import RunRecord

    record = RunRecord(tool=tool, status="passed", started_at=f"{stamp[:4]}-01-01T00:00:00+00:00")
    record.checks["grid"] = {"status": status, "seconds": 1.0, "evidence": "e", "numbers": {}}
    path = tmp_path / ".mlops-compare" / "runs" / f"{stamp}T000000000000Z-{tool}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record.to_dict()))
    return path


DAMAGED = {
    "list": ("[]", "holds a JSON list, not a record"),
    "null": ("null", "holds a JSON null, not a record"),
    "no tool": ('{"checks": "x"}', "no tool name"),
    "checks text": ('{"tool": "mlflow", "checks": "x"}', "'checks' is a JSON str, not a table"),
    "check text": ('{"tool": "mlflow", "checks": {"grid": 3}}', "check 'grid' is not a table"),
    "metrics": ('{"tool": "mlflow", "metrics": [1]}', "a metrics row is not a table"),
    "truncated": (None, "not valid JSON"),
}


@pytest.mark.parametrize("kind", DAMAGED)
def test_a_damaged_record_is_named_once_and_the_rest_is_used(capsys, tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    older = _stored(tmp_path, "mlflow", "2026")
    newest = _stored(tmp_path, "mlflow", "2099")
    content, reason = DAMAGED[kind]
    newest.write_text(content if content is not None else newest.read_text()[: newest.stat().st_size // 2])
    for argv in (("score",), ("score", "--all-profiles"), ("report",)):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert len(warnings) == 1 and str(Path(".mlops-compare/runs") / newest.name) in warnings[0], err
        assert reason in warnings[0] and "unreadable record, not used" in warnings[0]
        assert "Traceback" not in err
    from mlops_compare.evidence import Evidence

    evidence = Evidence.from_store(".mlops-compare")
    assert evidence.tools["mlflow"].checks["grid"].record.started_at.startswith("2026")  # the older run counts
    assert [d.path.name for d in evidence.damaged] == [newest.name]
    assert older.exists()


def test_the_report_lists_the_damaged_records(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _stored(tmp_path, "mlflow", "2026")
    damaged = _stored(tmp_path, "dvc", "2099")
    damaged.write_text("[]")
    code, out, _ = run(capsys, "report")
    assert code == 0
    assert "## Unreadable records" in out and f"- `{damaged.name}`: holds a JSON list" in out
    assert "holds a JSON list, not a record" in out


# --- item 9: leftovers --------------------------------------------------------------------------

SCREENSHOT_RUNNER = """
import json, pathlib, sys
ws = pathlib.Path(sys.argv[sys.argv.index("--workspace") + 1])
(ws / "ui").mkdir()
(ws / "ui" / "shot.png").write_bytes(b"png")
(ws / "big.bin").write_bytes(b"x" * 1000)
numbers = {"screenshot": "ui/shot.png"} if "shot" in ws.name else {}
print(json.dumps({"v": 1, "type": "check", "id": "ui", "status": "pass", "seconds": 0.1, "evidence": "ok",
                  "numbers": numbers}))
print(json.dumps({"v": 1, "type": "result", "status": "passed", "reason": "", "tool": "t", "tool_version": "1"}))
"""


def test_a_finished_run_removes_its_workspace_unless_kept(tmp_path):
    import asyncio

    from mlops_compare.executors.local import RunRequest, run_many

    (tmp_path / "shot_runner.py").write_text(SCREENSHOT_RUNNER)
    env = {"PYTHONPATH": str(tmp_path)}

    def request(tool: str, keep: bool) -> RunRequest:
        return RunRequest(tool, {}, module="shot_runner", env=env, workdir=tmp_path / "work", keep_workspace=keep)

    gone, shot, kept = asyncio.run(run_many([request("plain", False), request("shot", False), request("dvc", True)], 3))
    assert all(r.status == "passed" for r in (gone, shot, kept)), [r.reason for r in (gone, shot, kept)]
    assert not Path(gone.workspace).exists()
    # the ui check's screenshot stays where the record (and the report) point; nothing else does
    assert sorted(p.name for p in Path(shot.workspace).rglob("*")) == ["shot.png", "ui"]
    assert (Path(kept.workspace) / "big.bin").exists()


def test_run_removes_workspaces_unless_keep_workspaces(tmp_path, monkeypatch):
    from mlops_compare import criteria
    from mlops_compare.headless import requests_from

    monkeypatch.chdir(tmp_path)
    shipped = criteria.load(criteria.SHIPPED)
    args = cli.build_parser().parse_args(["run", "--tool", "plain"])
    assert [r.keep_workspace for r in requests_from(args, shipped)] == [False]
    args = cli.build_parser().parse_args(["run", "--tool", "plain", "--keep-workspaces"])
    assert [r.keep_workspace for r in requests_from(args, shipped)] == [True]


def test_clean_removes_leftover_workspaces_and_shared_folders(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    leftovers = [
        work / "mlops-compare-plain-ab12cd_3",
        work / "mlops-compare-dvc-mlflow-zz99yy88",
        work / "mlops-compare-shared-mlflow-20261204-101010-0123abcd-q1w2e3r4",
    ]
    for folder in leftovers:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "f").write_bytes(b"x" * 500_000)
    busy = work / "mlops-compare-metaflow-busy0000"
    busy_shared = work / "mlops-compare-shared-metaflow-20261204-101010-0123abcd-busy0000"
    others = [busy, busy_shared, work / "mlops-compare-s3-abcdefgh", work / "unrelated"]
    for folder in others:
        folder.mkdir(parents=True)
    kept_record = work / "mlops-compare-plain-ab12cd_4.record.json"
    kept_record.write_text("{}")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=busy)
    try:
        code, out, _ = run(capsys, "clean", "--workdir", str(work))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert code == 0
    assert f"{work}: removed 3 leftover workspace(s) and shared folder(s), 1.5 MB; 2 left alone" in out
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in others) and kept_record.exists()
    code, out, _ = run(capsys, "clean", "--workdir", str(work))  # the run in *busy* has ended
    assert f"{work}: removed 2 leftover workspace(s) and shared folder(s), 0.0 MB\n" in out
    code, out, _ = run(capsys, "clean", "--workdir", str(work))
    assert f"{work}: no leftover workspaces" in out


# --- the store index ----------------------------------------------------------------------------


def test_the_index_reads_only_the_runs_that_matter_and_is_rebuilt_when_stale(tmp_path, monkeypatch):
    from mlops_compare.evidence import Evidence
    from mlops_compare.store import Store

    for year in range(2000, 2060):  # 60 runs of one check: each one replaces the one before
        _stored(tmp_path, "mlflow", str(year))
    root = tmp_path / ".mlops-compare"
    reads = []
    real_load = Store.load
    monkeypatch.setattr(Store, "load", lambda self, path: reads.append(path.name) or real_load(self, path))
    first = Evidence.from_store(root)
    assert len(reads) == 60 and (root / "index.json").is_file()  # every file once, to index it
    reads.clear()
    again = Evidence.from_store(root)
    assert len(reads) == 1  # the newest run only: the index says the older ones measure nothing newer
    assert (
        again.tools["mlflow"].checks["grid"].record.started_at == first.tools["mlflow"].checks["grid"].record.started_at
    )
    # stale: a new run, a damaged one, a removed one; only those are read again
    reads.clear()
    _stored(tmp_path, "mlflow", "2070")
    (root / "runs" / "2001T000000000000Z-mlflow.json").unlink()
    (root / "runs" / "2002T000000000000Z-mlflow.json").write_text("{")
    evidence = Evidence.from_store(root)
    assert sorted(reads) == ["2002T000000000000Z-mlflow.json", "2070T000000000000Z-mlflow.json"]
    assert evidence.tools["mlflow"].checks["grid"].record.started_at.startswith("2070")
    assert [d.path.name for d in evidence.damaged] == ["2002T000000000000Z-mlflow.json"]
    # never the only copy: a missing or garbled index is rebuilt from the files, same answer
    for broken in ("", "[]", '{"version": 1, "runs": {"x.json": [1]}}', '{"version": 99, "runs": {}}'):
        (root / "index.json").write_text(broken)
        rebuilt = Evidence.from_store(root)
        assert rebuilt.tools["mlflow"].checks["grid"].record.started_at.startswith("2070")
        assert len(rebuilt.damaged) == 1
    (root / "index.json").unlink()
    assert Evidence.from_store(root).tools["mlflow"].latest.started_at.startswith("2070")
    assert Store(root).latest()["mlflow"].started_at.startswith("2070")


def test_a_store_that_cannot_be_written_is_still_read(tmp_path):
    from mlops_compare.evidence import Evidence

    _stored(tmp_path, "dvc", "2030")
    root = tmp_path / ".mlops-compare"
    (root / "index.json").mkdir()  # the index cannot be written: the files are read as before
    assert Evidence.from_store(root).tools["dvc"].checks["grid"].status == "pass"


# --- item 10: a silent S3 endpoint is bounded; a password in endpoint_url is masked ---------


def test_a_password_in_a_url_is_masked_like_the_keys():
    from mlops_compare.infra.redaction import Redactor

    text = "endpoint http://minio:s3cr3t-pw@10.0.0.1:9000/bucket failed; s3://bucket/x, https://user@host/ fine"
    assert Redactor([]).redact(text) == (
        "endpoint http://minio:***@10.0.0.1:9000/bucket failed; s3://bucket/x, https://user@host/ fine"
    )
    assert Redactor(["AKIAEXAMPLE"]).redact_obj({"u": ["https://a:b@c/AKIAEXAMPLE"]}) == {"u": ["https://a:***@c/***"]}


def test_the_whole_storage_check_stays_within_its_budget(tmp_path):
    """Three tool commands of 1.5 s each, each allowed 4 x timeout: 4.5 s before, BUDGET x 0.5 s = 3 s now."""
    import io
    import time

    from mlops_compare.runners.channel import Emitter
    from mlops_compare.runners.checks import remote_storage
    from mlops_compare.runners.context import Context

    exam = {"grid": {"alpha": [0.1], "l1_ratio": [0.5]}, "storage": {"shared_path": str(tmp_path), "timeout": 0.5}}
    ctx = Context(tmp_path, exam, Emitter(io.BytesIO()))
    commands: list[float] = []

    def round_trip(ctx, remote, trip, steps):
        for _ in range(3):
            started = time.monotonic()
            try:
                ctx.run(["sleep", "1.5"], timeout=remote.timeout * 4)
            finally:
                commands.append(time.monotonic() - started)
        trip.status = "pass"

    started = time.monotonic()
    outcome = remote_storage.run_check(ctx, "plain", round_trip, steps=1)
    took = time.monotonic() - started
    assert outcome.status == "fail" and "timed out" in outcome.evidence, outcome.evidence
    assert took <= remote_storage.BUDGET * 0.5 + 0.5, (took, commands)
    assert ctx.deadline is None  # the budget ends with the check


@pytest.mark.slow
def test_an_s3_endpoint_that_never_answers_costs_at_most_the_budget(tmp_path):
    import asyncio
    import copy
    import socket
    import threading
    import time

    from conftest import SMALL_EXAM
    from mlops_compare.executors.local import RunRequest, run_many
    from mlops_compare.runners.checks.remote_storage import BUDGET
    from mlops_compare.store import Store

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []

    def accept_and_say_nothing():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    url = f"http://minio:hunter2-secret@127.0.0.1:{server.getsockname()[1]}"
    timeout = 2.0
    exam = copy.deepcopy(SMALL_EXAM)
    s3 = {"endpoint_url": url, "bucket": "institute", "prefix": "exam", "region": "us-east-1"}
    exam.update(checks=["remote_storage"], storage={"shared_path": False, "timeout": timeout, "s3": s3})
    env = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "x" * 40}
    store = Store(tmp_path / "store")
    try:
        started = time.monotonic()
        (record,) = asyncio.run(
            run_many([RunRequest("plain", exam, timeout=300, workdir=tmp_path, env=env)], 1, None, store)
        )
    finally:
        server.close()
        for connection in held:
            connection.close()
    check = record.checks["remote_storage"]
    assert check["status"] == "fail", check["evidence"]
    # the probe and the round trip within BUDGET x timeout; the cleanup's delete gets one timeout more
    assert check["seconds"] <= BUDGET * timeout + timeout + 3, (check["seconds"], check["evidence"])
    assert time.monotonic() - started < 120
    stored = "".join(p.read_text() for p in store.runs.glob("*.json"))
    assert "hunter2-secret" not in stored and "minio:***@127.0.0.1" in stored


# --- item 11: the throwaway Slurm listens on 127.0.0.1 and leaves no job behind -------------


@pytest.mark.slow
def test_the_throwaway_slurm_listens_on_localhost_and_its_steps_end_with_it(tmp_path):
    import os
    import signal
    import time

    import psutil
    from mlops_compare.infra import slurm_cluster
    from slurm_support import require_slurm

    require_slurm()
    cluster = slurm_cluster.Cluster(tmp_path / "slurm")
    cluster.start()
    try:
        daemons = {cluster.processes[name].pid for name in ("slurmctld", "slurmd")}
        listening = [c for c in psutil.net_connections("tcp") if c.pid in daemons and c.status == psutil.CONN_LISTEN]
        assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}, listening
        marker = tmp_path / "job-started"
        env = {**os.environ, **cluster.env}
        submitted = subprocess.run(
            [
                "sbatch",
                "--parsable",
                "--output=/dev/null",
                f"--chdir={tmp_path}",
                "--wrap",
                f"touch {marker}; sleep 300",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert submitted.returncode == 0, submitted.stderr
        deadline = time.monotonic() + 60
        while not (marker.exists() and cluster.steps()):
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.2)
        steps = cluster.steps()
        job = [p for s in steps for p in psutil.Process(s).children(recursive=True) if "sleep" in p.name()]
        assert job
        os.kill(cluster.processes["slurmd"].pid, signal.SIGKILL)  # slurmd dies; its job's slurmstepd lives on
        cluster.processes["slurmd"].wait(10)
        assert cluster.steps() == steps
    finally:
        cluster.stop()
    assert cluster.steps() == []
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in job)


# --- item 12: the large_data evidence states the rule it applied ---------------------------


@pytest.mark.slow
def test_the_large_data_evidence_says_the_real_rule(tmp_path, monkeypatch):
    from test_large_data import _in_process

    outcome, _ = _in_process(tmp_path, [2_000], 10**12, monkeypatch)
    assert outcome.status == "pass", outcome.evidence
    assert "under 10x plain time, or under a minute (60 s), and within " in outcome.evidence
    assert "within 10x plain time" not in outcome.evidence
