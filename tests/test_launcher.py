"""The parent side: runners as process groups, with cancel, timeout, crash and missing tools.

These start the real plain runner (a few seconds each): the subject is process handling,
so no fake stands in for the runner process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from mlops_compare import events
from mlops_compare.executors.local import RunnerProcess, RunRequest, run_many
from mlops_compare.store import Store


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_plain_runner_streams_valid_events_and_is_stored(tmp_path, small_exam):
    seen = []
    store = Store(tmp_path / "store")
    process = RunnerProcess(
        RunRequest("plain", small_exam, workdir=tmp_path / "work"), lambda t, e: seen.append(e), store
    )
    record = asyncio.run(process.run())
    assert record.status == "passed", record.reason
    assert all(events.validate(e) == [] for e in seen)
    kinds = [e["type"] for e in seen]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    assert [e["id"] for e in seen if e["type"] == "check"] == list(events.CHECK_IDS)
    assert len(record.metrics) == 2 and record.dataset["rows"] == 442
    assert record.workspace.startswith(str(tmp_path / "work"))
    assert not group_alive(process.pgid)
    [path] = store.history()
    assert store.load(path).to_dict() == record.to_dict()


def test_cancel_mid_run_kills_the_group(tmp_path, small_exam):
    exam = {**small_exam, "grid": {"alpha": [0.1 * i for i in range(40)], "l1_ratio": [0.5, 1.0]}}

    async def scenario():
        process = RunnerProcess(RunRequest("plain", exam, workdir=tmp_path))

        def on_event(tool, event):
            if event["type"] == "metric" and len(process.record.metrics) == 1:
                process.cancel("stopped by test")

        process.on_event = on_event
        return process, await process.run()

    process, record = asyncio.run(scenario())
    assert record.status == "cancelled" and record.reason == "stopped by test"
    assert 1 <= len(record.metrics) < 80
    assert not group_alive(process.pgid)


def test_timeout_yields_a_result_with_the_reason(tmp_path, small_exam):
    process = RunnerProcess(RunRequest("plain", small_exam, timeout=0.5, workdir=tmp_path))
    record = asyncio.run(process.run())
    assert record.status == "timeout" and record.reason == "timed out after 0.5 s"
    assert not group_alive(process.pgid)


def test_crashed_runner_is_a_result_not_an_exception(tmp_path, small_exam):
    async def scenario():
        process = RunnerProcess(RunRequest("plain", small_exam, workdir=tmp_path))

        def on_event(tool, event):
            if event["type"] == "check" and event["id"] == "setup":
                os.kill(process.pgid, signal.SIGKILL)  # the runner dies without a word

        process.on_event = on_event
        return process, await process.run()

    process, record = asyncio.run(scenario())
    assert record.status == "error"
    assert record.reason.startswith("runner exited with code -9 before reporting a result")
    assert not group_alive(process.pgid)


def test_missing_tool_is_reported_with_install_hint(tmp_path, small_exam):
    # A sitecustomize that hides scikit-learn makes this interpreter lack the plain runner's tool.
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import sys
            class Hide:
                def find_spec(self, name, path=None, target=None):
                    if name.split(".")[0] == "sklearn":
                        raise ModuleNotFoundError(name)
            sys.meta_path.insert(0, Hide())
            """
        )
    )
    request = RunRequest("plain", small_exam, workdir=tmp_path, env={"PYTHONPATH": str(hide)})
    record = asyncio.run(RunnerProcess(request).run())
    assert record.status == "unavailable"
    assert record.reason == f"sklearn is not installed for {sys.executable}: pip install scikit-learn pandas"


def test_interpreter_without_mlops_compare(tmp_path, small_exam):
    record = asyncio.run(RunnerProcess(RunRequest("plain", small_exam, python="/nonexistent/python")).run())
    assert record.status == "unavailable" and "cannot start /nonexistent/python" in record.reason


def test_unknown_runner_and_run_many_keeps_going(tmp_path, small_exam):
    records = asyncio.run(
        run_many([RunRequest("nope", small_exam), RunRequest("plain", small_exam, workdir=tmp_path)], jobs=2)
    )
    assert [r.status for r in records] == ["error", "passed"]
    assert "no runner called 'nope'" in records[0].reason


def test_bad_data_is_a_result_with_the_reason(tmp_path, small_exam):
    exam = {**small_exam, "data": str(tmp_path / "missing.csv")}
    record = asyncio.run(RunnerProcess(RunRequest("plain", exam, workdir=tmp_path)).run())
    assert record.status == "error" and "missing.csv: no such data file" in record.reason


@pytest.mark.parametrize("line", [b"[bold red]x[/]", b"\x1b[31mred\x1b[0m", b"\xff\xfe broken utf-8", b'{"v": 1}'])
def test_decode_never_raises_and_keeps_text_literal(line):
    event = events.decode(line)
    assert event["type"] == "log" and isinstance(event["line"], str)


def test_cancel_before_start_never_starts_the_runner(tmp_path, small_exam):
    async def scenario():
        process = RunnerProcess(RunRequest("plain", small_exam, workdir=tmp_path))
        process.cancel("changed my mind")
        return process, await process.run()

    process, record = asyncio.run(scenario())
    assert record.status == "cancelled" and record.reason == "changed my mind"
    assert process.pgid is None and list(tmp_path.iterdir()) == []


def test_store_keeps_any_text_and_latest_reads_newest(tmp_path):
    from mlops_compare.results import RunRecord

    store = Store(tmp_path)
    store.save(RunRecord(tool="plain", status="failed", log=["old"]))
    store.save(RunRecord(tool="plain", status="passed", log=["lone surrogate \ud800", "[bold]x[/]"]))
    store.save(RunRecord(tool="my-tool", status="passed"))
    latest = store.latest()
    assert latest["plain"].status == "passed" and latest["plain"].log[0] == "lone surrogate \ud800"
    assert set(latest) == {"plain", "my-tool"}
    newest = store.history()[-1]
    newest.write_text("{broken")  # an unreadable newest file falls back to the previous run of that tool
    assert "my-tool" not in store.latest() and store.latest()["plain"].status == "passed"


def test_sweep_reaches_processes_that_left_the_group(tmp_path):
    from mlops_compare.executors.local import TOKEN_VAR, sweep

    # like DVC's queue workers: a detached process in a session of its own
    proc = subprocess.Popen(["sleep", "60"], env={**os.environ, TOKEN_VAR: "t-123"}, start_new_session=True)
    other = subprocess.Popen(["sleep", "60"], env={**os.environ, TOKEN_VAR: "someone-else"}, start_new_session=True)
    try:
        assert sweep("t-123") == 1
        assert proc.wait(timeout=5) == -signal.SIGKILL
        assert other.poll() is None  # another run's process is left alone
    finally:
        other.kill()
        other.wait()


def test_a_process_caught_inside_execve_is_read_again(monkeypatch):
    """Right after Popen, /proc/PID/environ can still be empty (the kernel sets the new image up
    after the parent resumes; 9-30 % of reads here): the sweep looks at such a process once more."""
    from mlops_compare.infra import proctree

    proc = subprocess.Popen(["sleep", "60"], env={**os.environ, "MC_SWEEP_PROBE": "p-1"}, start_new_session=True)
    real, reads = proctree._environ, []

    def mid_exec_first(p):
        if p.pid == proc.pid:
            reads.append(p.pid)
            if len(reads) == 1:
                return b""  # what the first read right after Popen may see
        return real(p)

    monkeypatch.setattr(proctree, "_environ", mid_exec_first)
    try:
        assert [p.pid for p in proctree.with_env("MC_SWEEP_PROBE", "p-1")] == [proc.pid]
        assert len(reads) == 2
    finally:
        proc.kill()
        proc.wait()


def test_interrupting_run_many_stores_every_record(tmp_path, small_exam):
    """Ctrl+C in `mlops-compare run` cancels the task: runners stop, every record is stored."""
    exam = {**small_exam, "grid": {"alpha": [0.1 * i for i in range(40)], "l1_ratio": [0.5, 1.0]}}
    store = Store(tmp_path / "store")

    async def scenario():
        metric = asyncio.Event()
        task = asyncio.ensure_future(
            run_many(
                [RunRequest("plain", exam, workdir=tmp_path), RunRequest("plain", exam, workdir=tmp_path)],
                jobs=1,
                on_event=lambda t, e: metric.set() if e["type"] == "metric" else None,
                store=store,
            )
        )
        await metric.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    records = [store.load(p) for p in store.history()]
    assert sorted(r.reason for r in records) == ["cancelled before it started", "cancelled by the user (interrupted)"]
    assert all(r.status == "cancelled" for r in records)
