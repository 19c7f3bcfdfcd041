"""The Slurm client library and the throwaway cluster, against a real single-node Slurm.

Jobs finish in seconds here. A TIMEOUT test is left out: Slurm's time limits have a
resolution of one minute (seconds round up), and the controller enforces them on a periodic
check, so one would cost more than a minute; cancelling a running job is tested instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlops_compare.infra import slurm
from mlops_compare.infra import slurm_cluster as cluster_module
from slurm_support import require_slurm

WAIT = 60  # seconds any job here may take; a healthy single-node cluster needs 1-3


def submit(cluster, script, tmp_path, **options):
    options.setdefault("env", cluster.env)
    return slurm.submit(script, name="test", chdir=tmp_path, output=tmp_path / "job.out", **options)


def until_running(job_id, env, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while (current := slurm.state(job_id, env=env)).state != "RUNNING":
        assert not current.finished and time.monotonic() < deadline, current
        time.sleep(0.1)
    return current


def test_controller_answers(slurm_cluster):
    assert slurm.available(env=slurm_cluster.env) is None


def test_job_completes_with_its_output_and_environment(slurm_cluster, tmp_path):
    job = submit(
        slurm_cluster, 'echo "hello $GREETING"\nhostname\n', tmp_path, env={**slurm_cluster.env, "GREETING": "slurm"}
    )
    assert job.isdigit()
    final = slurm.wait(job, WAIT, poll=0.2, env=slurm_cluster.env)
    assert (final.state, final.exit_code, final.signal) == ("COMPLETED", 0, None)
    assert final.node == slurm_cluster.hostname
    assert final.start is not None and final.end is not None and final.start <= final.end
    assert (tmp_path / "job.out").read_text().split("\n")[:2] == ["hello slurm", slurm_cluster.hostname]
    slurm.cancel(job, env=slurm_cluster.env)  # already over: not an error


def test_failing_job_is_failed_with_its_exit_code(slurm_cluster, tmp_path):
    job = submit(slurm_cluster, ["sh", "-c", "exit 3"], tmp_path, cpus=1, mem=100, time_limit=5)
    final = slurm.wait(job, WAIT, poll=0.2, env=slurm_cluster.env)
    assert (final.state, final.exit_code, final.reason) == ("FAILED", 3, "NonZeroExitCode")


def test_unknown_partition_gives_sbatchs_own_message(slurm_cluster, tmp_path):
    before = slurm_cluster.jobs()
    with pytest.raises(slurm.SlurmError, match="invalid partition specified: nowhere"):
        submit(slurm_cluster, ["true"], tmp_path, partition="nowhere")
    assert slurm_cluster.jobs() == before


def test_cancelled_running_job_is_cancelled_and_leaves_the_queue(slurm_cluster, tmp_path):
    job = submit(slurm_cluster, ["sleep", "300"], tmp_path)
    running = until_running(job, slurm_cluster.env)
    assert running.start is not None and running.exit_code is None
    began = time.monotonic()
    slurm.cancel([job], env=slurm_cluster.env)
    final = slurm.wait(job, WAIT, poll=0.2, env=slurm_cluster.env)
    # killed by SIGTERM: the batch shell either dies of the signal (ExitCode 0:15) or, when it
    # reaps the killed `sleep` first, exits 128+15 (ExitCode 143:0); both are the same cancel
    assert final.state == "CANCELLED"
    assert final.signal == signal.SIGTERM or final.exit_code == 128 + signal.SIGTERM, final
    assert time.monotonic() - began < 10
    assert job not in slurm_cluster.jobs()


def test_wait_gives_up_after_its_timeout(slurm_cluster, tmp_path):
    job = submit(slurm_cluster, ["sleep", "300"], tmp_path)
    try:
        with pytest.raises(slurm.WaitTimeout, match=f"job {job} still") as caught:
            slurm.wait(job, 1.0, poll=0.2, env=slurm_cluster.env)
        assert caught.value.last.state in ("PENDING", "RUNNING")
    finally:
        slurm.cancel(job, env=slurm_cluster.env)
        slurm.wait(job, WAIT, poll=0.2, env=slurm_cluster.env)


def test_unknown_job_is_unknown(slurm_cluster):
    gone = slurm.state("987654", env=slurm_cluster.env)
    assert gone.state == "UNKNOWN" and gone.finished and gone.reason


def test_stopped_controller_gives_a_clear_error_within_the_timeout(tmp_path):
    require_slurm()
    with cluster_module.Cluster(tmp_path / "slurm") as other:
        ctld = other.processes["slurmctld"]
        ctld.terminate()
        ctld.wait(10)
        assert "slurmctld does not answer" in slurm.available(env=other.env)
        for call in (
            lambda: slurm.state("1", env=other.env, timeout=2),
            lambda: submit(other, ["true"], tmp_path, timeout=2),
            lambda: slurm.cancel("1", env=other.env, timeout=2),
        ):
            began = time.monotonic()
            with pytest.raises(slurm.SlurmError, match="slurmctld|controller"):
                call()
            assert time.monotonic() - began < 5
    assert not other.running()


def test_available_names_the_missing_command(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert slurm.available() == "sbatch is not on PATH"
    with pytest.raises(slurm.SlurmError, match="sbatch is not on PATH"):
        slurm.submit(["true"], name="x", chdir=tmp_path, output=tmp_path / "out")


def test_a_broken_configuration_fails_with_the_daemons_own_message(tmp_path):
    require_slurm()
    cluster = cluster_module.Cluster(tmp_path / "slurm", settings={"NoSuchSetting": "1"})
    with pytest.raises(cluster_module.ClusterError, match="unrecognized key: NoSuchSetting"):
        cluster.start(timeout=10)
    assert not cluster.running()


def test_cli_start_prints_the_environment_and_stops_on_ctrl_c(tmp_path):
    require_slurm()
    folder = tmp_path / "cli"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_compare.infra.slurm_cluster", "start", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        export = proc.stdout.readline()
        assert export == f"export SLURM_CONF={folder / 'slurm.conf'}\n", proc.stderr.read() if not export else export
        assert proc.stdout.readline().startswith("# Slurm is up")
        assert slurm.available(env={"SLURM_CONF": str(folder / "slurm.conf")}) is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not processes_mentioning(str(folder))


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain *text* (the daemons name their folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in line and (cmdline.parent / "stat").read_text().split()[2] != "Z":
            found.append(line)
    return found


def test_cli_without_slurm_says_what_to_install(tmp_path):
    # /usr/sbin is searched too, so hide the clients: the daemons alone are not enough.
    env = {**os.environ, "PATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "mlops_compare.infra.slurm_cluster", "check"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 2
    assert "apt-get install slurm-wlm munge" in out.stderr and "Traceback" not in out.stderr


def test_fixture_fails_in_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setattr(cluster_module, "missing", lambda: "slurmctld not installed")
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI must run the Slurm tests"):
        require_slurm()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="slurmctld not installed"):
        require_slurm()
