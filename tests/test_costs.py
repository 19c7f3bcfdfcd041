"""The `cost` check's reading (tool output, config, telemetry switches, network watch) and the plain runner's four checks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from mlops_compare.runners.checks import cost as costs
from mlops_compare.runners.checks import cost_netwatch as netwatch

TELEMETRY = (costs.Telemetry("Tool telemetry", "telemetry.example", ("TOOL_NO_TELEMETRY", "DO_NOT_TRACK")),)


def findings(lines=(), files=(), env=None, tmp_path=None) -> costs.Findings:
    return costs.scan(tmp_path, lines, files, TELEMETRY, ("TOOL_",), env=env or {"TOOL_NO_TELEMETRY": "1"})


def test_a_quiet_run_passes_and_says_what_was_switched_off(tmp_path):
    lines = ["INFO: Uvicorn running on http://127.0.0.1:5000 (Press CTRL+C to quit)", "1 file pushed"]
    status, evidence, numbers = costs.describe(findings(lines, tmp_path=tmp_path))
    assert status == "pass", evidence
    assert "Tool telemetry (to telemetry.example): off by TOOL_NO_TELEMETRY" in evidence
    assert numbers["lines_scanned"] == 2 and numbers["telemetry_default_on"] == 1 and numbers["telemetry_on"] == 0


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Please log in to continue", "login prompt"),
        ("Sign up for a free trial at https://studio.datachain.ai", "sign-up"),
        ("Set your API key with tool login", "API key or token request"),
        ("botocore.exceptions.NoCredentialsError: Unable to locate credentials", "authentication failure"),
        ("We collect anonymous usage statistics", "telemetry notice"),
    ],
)
def test_prompts_are_named(tmp_path, line, kind):
    found = findings([line], tmp_path=tmp_path)
    assert found.prompts[kind] == [line]
    status, evidence, _ = costs.describe(found)
    assert status == ("fail" if kind == "authentication failure" else "partial")
    assert kind in evidence


def test_hosted_services_and_other_links(tmp_path):
    found = findings(
        ["Track it on DVC Studio: https://studio.datachain.ai/x", "see https://github.com/a/b/issues/1"],
        tmp_path=tmp_path,
    )
    assert found.hosted == ["DVC Studio"] and found.links == {"github.com"}
    status, evidence, _ = costs.describe(found)
    assert status == "partial" and "hosted services named: DVC Studio" in evidence
    assert "other links (documentation, not asked for): github.com" in evidence


def test_config_and_environment_secrets(tmp_path):
    config = tmp_path / "config"
    config.write_text('[core]\n    analytics = false\n[remote "team"]\n    url = /srv/dvc\n[studio]\n    token = abc\n')
    hosted = tmp_path / "hosted"
    hosted.write_text("url = https://tracking.example.com\nlocal_url = http://127.0.0.1:5000\n")
    env = {"TOOL_NO_TELEMETRY": "1", "TOOL_API_KEY": "k", "OTHER_TOKEN": "t", "TOOL_TRACKING_URI": "sqlite:///x.db"}
    found = findings(files=[config, hosted, tmp_path / "missing"], env=env, tmp_path=tmp_path)
    assert found.config == ["config: token", "hosted: url", "environment: TOOL_API_KEY"]
    assert costs.describe(found)[0] == "partial"


def test_requests_to_the_tools_own_server_are_not_prompts(tmp_path):
    lines = [
        '2026/11/27 10:01:08 INFO:     127.0.0.1:44144 - "GET /ajax-api/3.0/mlflow/ui-telemetry HTTP/1.1" 200 OK',
        '2026/11/27 10:01:08 INFO:     127.0.0.1:44144 - "GET /static-files/TelemetryLogger.worker.js HTTP/1.1" 200 OK',
        '127.0.0.1:5 - "POST /api/2.0/mlflow/runs/search HTTP/1.1" 200 OK',
    ]
    found = findings(lines, tmp_path=tmp_path)
    assert not found.prompts and found.local_telemetry == {
        "/ajax-api/3.0/mlflow/ui-telemetry",
        "/static-files/TelemetryLogger.worker.js",
    }
    status, evidence, numbers = costs.describe(found)
    assert status == "pass" and numbers["local_telemetry_requests"] == 2
    assert "2 telemetry path(s) requested from the tool's own server on loopback" in evidence


def test_telemetry_left_on_is_a_finding(tmp_path):
    found = findings(env={"TOOL_NO_TELEMETRY": "0"}, tmp_path=tmp_path)
    assert found.telemetry_on == [
        "Tool telemetry (to telemetry.example): ON, none of TOOL_NO_TELEMETRY, DO_NOT_TRACK set"
    ]
    assert costs.describe(found)[0] == "partial"


def test_loopback():
    assert all(
        netwatch.is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "localhost", "0.0.0.0", "a.localhost")
    )
    assert not any(netwatch.is_loopback(h) for h in ("192.0.2.1", "10.0.0.1", "analytics.dvc.org", "2001:db8::1"))


def test_the_watch_sees_child_python_processes(tmp_path):
    """install() in a runner-like process; its child's calls land in the log (UDP connect sends no packet)."""
    code = (
        "import pathlib, socket, subprocess, sys\n"
        "from mlops_compare.runners.checks import cost_netwatch as netwatch\n"
        f"netwatch.install(pathlib.Path({str(tmp_path)!r}))\n"
        "socket.getaddrinfo('localhost', 80)\n"
        "child = 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((\"192.0.2.1\", 9))'\n"
        "subprocess.run([sys.executable, '-c', child], check=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    seen = netwatch.read(tmp_path)
    assert seen.processes == 2 and seen.loopback >= 1
    assert seen.outside == {"192.0.2.1:9": {"-c"}}
    status, evidence, numbers = costs.describe(findings(tmp_path=tmp_path))
    assert status == "partial" and "tried to reach 192.0.2.1:9 (-c)" in evidence and numbers["outside_hosts"] == 1


@pytest.mark.slow
def test_plain_runner_shows_what_no_tool_gives(exam_run):
    checks = exam_run.records["plain"].checks
    assert checks["share"]["status"] == checks["languages"]["status"] == "skip"
    licence = checks["license"]["numbers"]  # the baseline's own closure: numpy, pandas, scikit-learn and theirs
    assert licence["licence"] == "BSD-3-Clause" and licence["closure"] == licence["tool_specific"] >= 3
    assert checks["cost"]["status"] == "pass" and checks["cost"]["numbers"]["processes_watched"] >= 1
