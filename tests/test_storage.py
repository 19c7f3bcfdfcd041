"""The remote_storage check for real: every runner, a shared folder and an S3 endpoint, faults, and no leaked secret.

The S3 endpoint standing in for the institute's (MinIO, Ceph) is a moto_server this test
starts and points the exam at through ``endpoint_url``, exactly as a user would; the
runner's credentials carry a planted, recognisable secret (moto without IAM emulation
accepts any), which must appear in nothing the run produced. The wrong-secret case uses
moto's IAM emulation (``auth=True``), which rejects the request. (With IAM emulation even
the right secret fails on listings whose prefix has a "/", getmoto/moto#5948, so the
round trips use the plain server.) Only ``remote_storage`` runs (plus setup), to keep
this file within a few minutes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from pathlib import Path

import pytest
from conftest import SMALL_EXAM
from envs_support import environment
from mlops_compare.exam_settings import parse_exam
from mlops_compare.executors.local import RunRequest, run_many
from mlops_compare.infra.s3_endpoint import LocalS3, free_port
from mlops_compare.store import Store

TOOLS = ("plain", "mlflow", "dvc", "metaflow")
# MLflow meets both faults the same way (its server logs the store's error): one of them is enough.
CLOSED_PORT_TOOLS = ("plain", "dvc", "metaflow")
PLANTED = f"PLANTED-{uuid.uuid4().hex}-SECRET"
EXPECTED = {  # remote_storage: (check, shared folder, S3)
    "plain": ("pass", "pass", "pass"),
    "mlflow": ("pass", "pass", "pass"),
    "dvc": ("pass", "pass", "pass"),
    # the S3 datastore round trip is exact, but the run's metadata stays local (no metadata service)
    "metaflow": ("partial", "pass", "partial"),
}


def storage_exam(endpoint: str, shared: str | bool, timeout: float = 30.0, checks=("remote_storage",)) -> dict:
    exam = copy.deepcopy(SMALL_EXAM)
    s3 = {"endpoint_url": endpoint, "bucket": "institute", "prefix": "exam", "region": "us-east-1"}
    exam.update(checks=list(checks), storage={"shared_path": shared, "timeout": timeout, "s3": s3})
    return exam


def run(requests: list[RunRequest], store: Store) -> tuple[dict, dict]:
    events: dict[str, list] = {}
    records = asyncio.run(run_many(requests, 2, lambda t, e: events.setdefault(t, []).append(e), store))
    return {r.tool: r for r in records}, events


def _keys(endpoint: LocalS3) -> dict[str, str]:
    return {"aws_access_key_id": endpoint.env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "any"}


class StorageRun:
    def __init__(self, records, events, store, shared, endpoint, leftover_keys):
        self.records, self.events, self.store = records, events, store
        self.shared, self.endpoint, self.leftover_keys = shared, endpoint, leftover_keys


@pytest.fixture(scope="module")
def storage_run(tmp_path_factory) -> StorageRun:
    pytest.importorskip("moto.server")
    base = tmp_path_factory.mktemp("storage")
    shared = base / "shared-mount"
    store = Store(base / "store")
    with LocalS3(bucket="institute") as endpoint:
        env = {**endpoint.env, "AWS_SECRET_ACCESS_KEY": PLANTED}
        exam = storage_exam(endpoint.endpoint_url, str(shared))
        requests = [
            RunRequest(t, exam, timeout=600, workdir=base / "work", env=env, environment=environment(t)) for t in TOOLS
        ]
        records, events = run(requests, store)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint.endpoint_url, region_name="us-east-1", **_keys(endpoint))
        leftover = [o["Key"] for o in client.list_objects_v2(Bucket="institute").get("Contents", [])]
    return StorageRun(records, events, store, shared, endpoint.endpoint_url, leftover)


@pytest.mark.slow
@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_round_trips_both_remotes(storage_run, tool):
    record = storage_run.records[tool]
    check = record.checks["remote_storage"]
    numbers = check["numbers"]
    assert record.status == "passed", (record.reason, check["evidence"], record.log[-30:])
    assert (check["status"], numbers["shared_status"], numbers["s3_status"]) == EXPECTED[tool], check["evidence"]
    for kind in ("shared", "s3"):
        # every file or model compared after the round trip came back identical
        assert numbers[f"{kind}_files"] >= 2 and numbers[f"{kind}_identical"] == numbers[f"{kind}_files"]
        assert numbers[f"{kind}_bytes"] > 1000 and numbers[f"{kind}_objects"] >= 2
        assert numbers[f"{kind}_push_seconds"] >= 0 and numbers[f"{kind}_pull_seconds"] >= 0
    assert numbers["s3_endpoint"] == storage_run.endpoint  # the user's URL, never credentials
    if tool != "plain":
        assert numbers["example_lines_changed"] == 0, check["evidence"]  # backends swapped by configuration
    # the TUI pane shows the sub-steps live
    labels = {e["label"] for e in storage_run.events[tool] if e["type"] == "progress"}
    assert any(label.startswith("shared: ") for label in labels) and any(label.startswith("s3: ") for label in labels)


@pytest.mark.slow
def test_what_each_tool_needed_is_in_the_evidence(storage_run):
    evidence = {tool: storage_run.records[tool].checks["remote_storage"]["evidence"] for tool in TOOLS}
    assert (
        "dvc remote modify s3 endpointurl" in evidence["dvc"]
        and "`dvc status -c`: cache and remote in sync" in (evidence["dvc"])
    )
    assert "--artifacts-destination" in evidence["mlflow"] and "only MLFLOW_TRACKING_URI" in evidence["mlflow"]
    assert "METAFLOW_DATASTORE_SYSROOT_S3" in evidence["metaflow"] and "MetaflowNotFound" in evidence["metaflow"]
    assert "boto3" in evidence["plain"]


@pytest.mark.slow
def test_the_remotes_are_left_clean(storage_run):
    assert storage_run.shared.is_dir() and list(storage_run.shared.iterdir()) == []
    assert storage_run.leftover_keys == []  # each tool's prefix was deleted from the user's bucket


@pytest.mark.slow
def test_the_planted_secret_appears_nowhere(storage_run):
    needle = PLANTED.encode()
    assert needle not in json.dumps(storage_run.events).encode()
    produced = [*storage_run.store.root.rglob("*")]
    for record in storage_run.records.values():
        produced += Path(record.workspace).rglob("*")
    files = [p for p in produced if p.is_file() and not p.is_symlink()]
    assert len(files) > 100  # the workspaces really are searched
    leaks = [str(p) for p in files if needle in p.read_bytes()]
    assert leaks == []


def test_the_launcher_masks_every_secret_of_the_runner_environment(tmp_path, small_exam):
    """A runner that prints its secret, in a log line, a check's evidence and numbers, and its reason."""
    (tmp_path / "leaky_runner.py").write_text(
        "import json, os, urllib.parse\n"
        "secret = os.environ['AWS_SECRET_ACCESS_KEY']\n"
        "print('tool output: key=' + secret, flush=True)\n"
        "check = {'v': 1, 'type': 'check', 'id': 'remote_storage', 'status': 'fail', 'seconds': 0.1,\n"
        "         'evidence': 'denied for ' + secret, 'numbers': {'url': 'http://x/?k=' + urllib.parse.quote(secret)}}\n"
        "print(json.dumps(check), flush=True)\n"
        "print(json.dumps({'v': 1, 'type': 'result', 'status': 'failed', 'reason': 'secret ' + secret,\n"
        "                  'tool': 'leaky', 'tool_version': '1'}), flush=True)\n"
    )
    secret = "s3cr/et+" + uuid.uuid4().hex  # characters URLs escape
    store = Store(tmp_path / "store")
    request = RunRequest(
        "leaky",
        small_exam,
        timeout=60,
        workdir=tmp_path / "work",
        module="leaky_runner",
        env={"AWS_SECRET_ACCESS_KEY": secret, "PYTHONPATH": str(tmp_path)},
    )
    seen: list[dict] = []
    (record,) = asyncio.run(run_many([request], 1, lambda t, e: seen.append(e), store))
    assert record.checks["remote_storage"]["evidence"] == "denied for ***"
    assert record.checks["remote_storage"]["numbers"]["url"] == "http://x/?k=***"
    assert record.reason == "secret ***" and "tool output: key=***" in record.log
    stored = b"".join(p.read_bytes() for p in store.root.rglob("*") if p.is_file())
    for form in (secret, secret.replace("/", "%2F")):
        assert form.encode() not in stored and form not in json.dumps(seen)


@pytest.mark.slow
def test_a_closed_port_and_a_wrong_secret_fail_in_seconds_and_the_rest_goes_on(tmp_path):
    pytest.importorskip("moto.server")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    some_keys = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "x" * 40}
    checks = ("remote_storage", "invasiveness")  # invasiveness: another check, which must still run
    store = Store(tmp_path / "store")
    with LocalS3(bucket="institute", auth=True) as guarded:
        wrong = {**guarded.env, "AWS_SECRET_ACCESS_KEY": "W" * 40}
        requests = [
            RunRequest(
                tool,
                storage_exam(url, False, timeout=10, checks=checks),
                timeout=300,
                workdir=tmp_path,
                env=env,
                environment=environment(tool),
            )
            for url, env, tools in ((closed, some_keys, CLOSED_PORT_TOOLS), (guarded.endpoint_url, wrong, TOOLS))
            for tool in tools
        ]
        started = time.monotonic()
        records = asyncio.run(run_many(requests, 2, None, store))
    assert time.monotonic() - started < 240
    # the tool's own words, then the probe's hint
    messages = {
        "closed": ("Could not connect to the endpoint URL",),
        "wrong": ("SignatureDoesNotMatch", "AccessDenied"),
    }
    hints = {"closed": "(hint: nothing answers at", "wrong": "(hint: credentials rejected (SignatureDoesNotMatch)"}
    for record, case in zip(records, ["closed"] * len(CLOSED_PORT_TOOLS) + ["wrong"] * len(TOOLS), strict=True):
        check = record.checks["remote_storage"]
        where = f"{record.tool}, {case}: {check['evidence']}"
        assert record.status == "failed", (where, record.reason)  # finished, with a failed check: not a crash
        assert check["status"] == "fail" and check["numbers"]["s3_status"] == "fail", where
        own, _, hint = check["evidence"].partition(hints[case])
        assert hint and any(m in own.rpartition("FAILED: ")[2] for m in messages[case]), where
        assert check["seconds"] < 90, where  # timeouts and cut retries: seconds, not a hang
        assert record.checks["invasiveness"]["status"] == "pass", where
        assert "W" * 40 not in json.dumps(record.checks)


@pytest.mark.slow
def test_without_an_endpoint_the_check_starts_its_own_s3(tmp_path):
    store = Store(tmp_path / "store")
    exam = storage_exam("", "")
    (record,) = asyncio.run(run_many([RunRequest("plain", exam, timeout=120, workdir=tmp_path)], 1, None, store))
    numbers = record.checks["remote_storage"]["numbers"]
    assert record.checks["remote_storage"]["status"] == "pass", record.checks["remote_storage"]["evidence"]
    assert numbers["s3_endpoint"] == "local moto_server" and numbers["s3_identical"] == 2
    assert "local S3 endpoint http://127.0.0.1:" in "\n".join(record.log)


def test_shared_path_false_means_no_shared_remote():
    problems: list[str] = []
    exam = parse_exam(
        {"storage": {"shared_path": False, "s3": False}}, lambda message, *where: problems.append(message)
    )
    assert problems == [] and exam.tables["storage"]["shared_path"] is False and exam.tables["storage"]["s3"] is False
    parse_exam({"storage": {"shared_path": True}}, lambda message, *where: problems.append(message))
    assert problems and "false (none)" in problems[0]


@pytest.mark.slow
def test_the_report_shows_both_remotes_per_tool(storage_run, tmp_path):
    from mlops_compare import cli

    out = tmp_path / "report.md"
    assert cli.main(["report", "--store", str(storage_run.store.root), "-o", str(out)]) == 0
    md = out.read_text()
    section = md.split("### Remote storage", 1)[1].split("###", 1)[0]
    for tool in TOOLS:
        assert f"| {tool} | shared folder | - | {EXPECTED[tool][1]} |" in section
        assert f"| {tool} | S3 | {storage_run.endpoint} | {EXPECTED[tool][2]} |" in section
    assert "Lines of the example changed to switch from local to remote storage: " in section
    assert PLANTED not in md
