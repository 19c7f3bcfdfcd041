"""mlops-compare as a cluster's users have it: an unprivileged account, its own venv, root's Slurm.

The account and its install come from `.ci/user-setup` (see tests/user_support.py). Root
starts a throwaway single-node Slurm whose jobs get the whole node's memory unless they ask
(no DefMemPerCPU), as some sites do; everything else runs as the account: a local exam, the
Slurm executor's SIGTERM (cancel), SIGHUP then ``run --attach``. The Slurm executor with the
hpc check for every tool runs as the account too, in tests/test_hpc.py (its `hpc_run`).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from mlops_compare.infra import proctree, slurm
from mlops_compare.store import Store
from slurm_support import running_cluster
from user_support import User, criteria, require_user, run_argv

# One group: the account's runs share one Slurm and two CPUs (pytest-xdist keeps them on one worker).
pytestmark = pytest.mark.xdist_group("as_user")
WAIT = 180.0
# where a tool could write outside the account's folders (the whole disk takes minutes to walk)
SEARCHED = (
    "/tmp",
    "/var/tmp",
    "/dev/shm",
    "/run",
    "/etc",
    "/opt",
    "/srv",
    "/usr/local",
    "/var/lib",
    "/var/spool",
    "/home",
)


@pytest.fixture(scope="module")
def user() -> User:
    return require_user()


@pytest.fixture(scope="module")
def site(user):
    """Root's Slurm, in a folder every user can read (munge socket, slurm.conf), jobs default to the whole node."""
    yield from running_cluster(settings={"DefMemPerCPU": "0", "SchedulerParameters": "batch_sched_delay=0"})


@pytest.fixture
def home(user, request):
    """A folder of the account's own: criteria copy, store, workspaces (the shared path)."""
    folder = user.folder(f"as-user-{request.node.name[:30]}-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def owned_outside(user: User, allowed: list[Path], since: Path) -> list[str]:
    """Files the account changed after *since* (a marker file), where a tool might write, outside *allowed*."""
    where = [p for p in SEARCHED if Path(p).exists()]
    roots = [str(p) + "/" for p in allowed]
    # slurmd keeps a copy of each job's script under its spool folder, owned by the job's user: the site's
    # (other tests' folders, when tests run side by side, are theirs: also allowed)
    roots.append(str(Path(tempfile.gettempdir()) / "as-user-"))
    # The allowed trees are not walked (their files pass the filter below anyway): the account's home
    # holds its tool environments, tens of thousands of files that took find 14 s of CPU.
    prune = [arg for root in roots for arg in ("-o", "-path", root.rstrip("/") + ("*" if root.endswith("-") else ""))]
    argv = ["find", *where, "(", *prune[1:], ")", "-prune", "-o", "-user", user.name, "-newer", str(since), "-print"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=120).stdout.split("\n")
    return [p for p in out if p and "/spool/job" not in p and not any((p + "/").startswith(r) for r in roots)]


def mlops_compare_process(runuser: subprocess.Popen, timeout: float = 30) -> psutil.Process:
    """The account's mlops-compare process under runuser (signals go to it, as a terminal's would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(runuser.pid).children(recursive=True):
            if any("mlops-compare" in part for part in child.cmdline()):
                return child
        time.sleep(0.1)
    raise AssertionError("no mlops-compare process under runuser")


def wait_for_line(proc: subprocess.Popen, test, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("{") and test(json.loads(line)):
            return
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"not seen within {timeout:g} s; stderr: {proc.stderr.read() if proc.stderr else ''}")


def signalled(user: User, home: Path, argv: list[str], signum: int, seen, extra=None, timeout: float = 90):
    """Run *argv* as the account and send *signum* to its mlops-compare process once an event passes *seen*
    (as a closed terminal or `kill` would); the exit code and stderr."""
    proc = user.popen(argv, cwd=home, extra=extra)
    target = mlops_compare_process(proc)
    wait_for_line(proc, seen)
    target.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


# --- the tests ----------------------------------------------------------------------------------


def test_a_local_exam_as_a_user_writes_only_to_its_own_folders(user, home):
    crit = criteria(user, home)
    started = home / ".started"
    started.touch()
    # two tools keep it short (CI's whole test command stays near 10 minutes); test_hpc.py runs every tool as the account
    argv = run_argv(user, home, crit, "--check", "grid", "--tool", "plain", "--tool", "mlflow")
    done = user.run(argv, cwd=home, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    records = Store(home / "store").latest()
    assert set(records) == {"plain", "mlflow"}
    for tool, record in records.items():
        assert record.status == "passed", (tool, record.reason)
        assert record.checks["grid"]["status"] == "pass" and len(record.metrics) == 2
    # nothing written outside the account's home, its workspace and store (and no root needed)
    assert owned_outside(user, [user.home, home], started) == []


def test_sigterm_as_a_user_cancels_the_jobs_and_stores_cancelled_records(user, site, home):
    crit = criteria(user, home, points=60)
    argv = run_argv(user, home, crit, "--executor", "slurm", "--tool", "plain", "--check", "grid", "--json")
    code, err = signalled(user, home, argv, signal.SIGTERM, lambda e: e.get("type") == "metric", site.env)
    assert code == 143, err
    record = Store(home / "store").latest()["plain"]
    assert record.status == "cancelled" and "SIGTERM" in record.reason, record.reason
    assert slurm.wait(record.executor["job_id"], 30, poll=0.3, env=site.env).state == "CANCELLED"
    assert site.jobs() == []


def test_sighup_as_a_user_keeps_the_jobs_and_attach_stores_them(user, site, home):
    crit = criteria(user, home, points=30)
    argv = run_argv(user, home, crit, "--executor", "slurm", "--tool", "plain", "--check", "grid", "--json")
    running = lambda e: e.get("type") == "log" and "RUNNING" in str(e.get("line", ""))  # noqa: E731
    code, err = signalled(user, home, argv, signal.SIGHUP, running, site.env)
    assert code == 129, err
    assert Store(home / "store").history() == []
    [state] = (home / "store" / "slurm").glob("*.json")
    job_id = json.loads(state.read_text())["jobs"][0]["job_id"]
    assert job_id in site.jobs()  # the job runs on without its parent

    attach = [str(user.command), "run", "--attach", "--store", str(home / "store")]
    done = user.run(attach, cwd=home, extra=site.env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    record = Store(home / "store").latest()["plain"]
    assert record.status == "passed" and record.executor["job_id"] == job_id and len(record.metrics) == 30
    assert not state.exists() and site.jobs() == []


def test_sighup_to_a_local_run_as_a_user_stores_records_and_leaves_no_process(user, home):
    """A dropped SSH session during a local run: the record is stored as cancelled, nothing runs on."""
    crit = criteria(user, home, points=60)
    began = time.time()
    argv = run_argv(user, home, crit, "--tool", "plain", "--check", "grid", "--json")
    code, err = signalled(user, home, argv, signal.SIGHUP, lambda e: e.get("type") == "metric")
    assert code == 129, err
    record = Store(home / "store").latest()["plain"]
    assert record.status == "cancelled" and "SIGHUP" in record.reason, record.reason
    assert len(record.metrics) >= 1  # what the runner measured before the signal is kept
    time.sleep(0.5)
    assert proctree.working_in(home / "work", started_after=began) == []


def test_no_runner_needs_root():
    """Nothing on a user's path calls unshare, sudo, su, mount or chown, nor names a file under /run or /etc (DVC's /var/tmp is only looked at)."""
    root = Path(__file__).resolve().parent.parent
    pattern = re.compile(
        r"""["'](unshare|sudo|su|mount|umount|chown|chroot|runuser|setpriv)["']|['"]/(run|etc)/(?!sshd\b)"""
    )
    found = []
    for folder in ("runners", "example", "core"):
        for path in sorted((root / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line) and "PRIVSEP_DIR" not in line:
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == []
