"""ZenML and W&B (offline) as third-party runner plugins, end to end in their own environments (issue 22).

`plugins/mlops-compare-zenml` and `plugins/mlops-compare-wandb` are distributions of their
own, installed into the comparer without dependencies (`pip install --no-deps ./plugins/...`,
as the README's set-up and .ci/setup do) so their entry points are listed; `mlops-compare
run --tool NAME` then runs each in the tool environment built from its runner's
`requirements` (core/envs.py), with the plugin's code installed there from the same folder.
A tiny grid and the checks that need no Slurm or S3 keep it short: each still starts the
tool for real (ZenML's SQLite store and its local server, W&B's offline service).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import without_large_data, without_storage
from mlops_compare import registry

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
CHECKS = ("baseline_match", "models", "invasiveness", "overhead", "license", "cost", "ui", "failure")


def tiny(criteria_copy: Path) -> Path:
    text = without_storage(without_large_data(criteria_copy.read_text()))
    criteria_copy.write_text(
        text.replace("alpha = [0.0, 0.5, 1.0]\nl1_ratio = [0.0, 0.5, 1.0]", "alpha = [0.0, 0.5]\nl1_ratio = [0.5]")
    )
    return criteria_copy


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["zenml", "wandb"])
def test_a_field_plugin_runs_the_exam_in_its_own_environment(tool, tmp_path, criteria_copy):
    if tool not in registry.available():
        message = f"{tool} plugin not installed: pip install --no-deps {PLUGINS / ('mlops-compare-' + tool)}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    store = tmp_path / "store"
    argv = [sys.executable, "-m", "mlops_compare", "run", "--criteria", str(tiny(criteria_copy)), "--tool", tool]
    argv += ["--store", str(store)] + [arg for check in CHECKS for arg in ("--check", check)]
    run = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    [path] = (store / "runs").glob(f"*-{tool}.json")
    record = json.loads(path.read_text())
    assert record["status"] in ("passed", "failed"), (record["reason"], run.stderr[-2000:])
    assert_measured(tool, record)


def assert_measured(tool: str, record: dict) -> None:
    """What a run of *tool*'s plugin must show (also usable on a stored record)."""
    checks = {check_id: check["status"] for check_id, check in record["checks"].items()}
    evidence = {check_id: check["evidence"] for check_id, check in record["checks"].items()}
    # in the tool's own environment (a venv), not the comparer's interpreter, unless environments are off
    if os.environ.get("MLOPS_COMPARE_ENVS") != "none":
        assert record["python"] != sys.executable
        assert (Path(record["python"]).parent.parent / "pyvenv.cfg").is_file(), record["python"]
    for check_id in ("setup", "grid", "baseline_match", "invasiveness", "overhead"):
        assert checks[check_id] == "pass", (check_id, evidence[check_id])
    assert checks["retrieve"] in ("pass", "partial"), evidence["retrieve"]
    assert record["checks"]["baseline_match"]["numbers"]["max_abs_diff"] == 0.0  # the plain script's numbers
    # a check the plugin leaves out: skip with the reason, not a crash (docs/runners.md, section 3)
    assert checks["failure"] == "skip" and evidence["failure"].startswith("not implemented by this runner; added in")
    assert record["checks"]["cost"]["numbers"]["outside_hosts"] == 0, evidence["cost"]  # nothing left the machine
    assert checks["license"] in ("pass", "partial")
    if tool == "wandb":
        assert record["checks"]["cost"]["numbers"]["core_remote_hosts"] == 0, evidence["cost"]
        assert checks["models"] == "partial" and checks["ui"] in ("pass", "partial"), evidence["ui"]
        assert record["checks"]["invasiveness"]["numbers"]["lines_added"] <= 10
    else:
        assert checks["models"] == "pass", evidence["models"]
        assert "daemon pid" in evidence["retrieve"], evidence["retrieve"]  # the server was started and stopped
        # the dashboard past its first-visit survey lists the runs (their metrics are not on a run's page)
        if os.environ.get("CI"):  # Chromium is installed there
            assert checks["ui"] in ("pass", "partial") and "runs listed by name" in evidence["ui"], evidence["ui"]
            assert record["checks"]["ui"]["numbers"]["runs_listed"] == 2, evidence["ui"]


def test_wandb_sockets_keep_the_runners_own_chromium_apart(tmp_path):
    """A connection of the runner's Chromium (told by its executable) is not W&B's; any other child's is."""
    import shutil
    import socket

    import psutil
    from mlops_compare_wandb import CoreSockets

    # a non-loopback address of this machine: a UDP socket "connected" to it shows as a remote address
    here = next(
        a.address
        for addrs in psutil.net_if_addrs().values()
        for a in addrs
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    )
    chromium = tmp_path / "chromium"  # an interpreter whose executable is named as Chromium's
    shutil.copy2("/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable, chromium)
    hold = "import socket, sys, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
    hold += "s.connect((sys.argv[1], int(sys.argv[2]))); time.sleep(1.5)"
    sockets = CoreSockets()
    sockets.start()
    procs = [
        subprocess.Popen([str(chromium), "-c", hold, here, "53"]),
        subprocess.Popen([sys.executable, "-c", hold, here, "54"]),
    ]
    for proc in procs:
        assert proc.wait(30) == 0
    sockets.stop()
    assert set(sockets.instruments) == {f"{here}:53"}, sockets.instruments
    assert set(sockets.remote) == {f"{here}:54"}, sockets.remote
