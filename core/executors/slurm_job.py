"""The batch job of the Slurm executor: one runner on a compute node, isolated as on the login node.

``python -m mlops_compare.executors.slurm_job JOB_FILE`` is the command `sbatch` runs. JOB_FILE (written
by `slurm_executor`, next to the events file on the shared path) names the runner module,
the workspace, the events file, the run token and extra environment. It starts

    python -m <runner module> --exam @exam.json --workspace DIR --events FILE

with the environment `launcher.runner_env` gives a local runner (HOME, TMPDIR, XDG folders
and git's config inside the workspace; the tools' own variables removed), built here on the
node from the environment sbatch passed on, so Slurm's job variables stay. The runner has
its own process group; on SIGTERM (scancel, the time limit) the group gets SIGTERM then
SIGKILL, and at the end every process carrying the run token is killed, so helpers a tool
detached (DVC's queue workers) never outlive the job even without cgroups. A runner that
exits without a result leaves a last ``log`` event with its exit code for the parent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mlops_compare import events
from mlops_compare.executors import local as launcher
from mlops_compare.infra.threads import slurm_share

# Slurm waits KillWait (30 s by default) between its SIGTERM and SIGKILL: end well before.
GRACE = launcher.KILL_GRACE


def runner_argv(job: dict) -> list[str]:
    """The runner's command line (the one the README documents for batch schedulers)."""
    return [
        sys.executable,
        "-m",
        job["module"],
        "--exam",
        "@" + job["exam"],
        "--workspace",
        job["workspace"],
        "--events",
        job["events"],
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mlops_compare.executors.slurm_job JOB_FILE", file=sys.stderr)
        return 2
    job = json.loads(Path(args[0]).read_text())
    workspace = Path(job["workspace"])
    threads = slurm_share(os.environ)  # the job's --cpus-per-task, else 1
    env = {
        **launcher.runner_env(workspace, sys.executable, threads),
        **job.get("env", {}),
        launcher.TOKEN_VAR: job["token"],
    }
    proc = subprocess.Popen(runner_argv(job), cwd=workspace, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    stopped_at: list[float] = []

    def stop(signum, _frame) -> None:
        stopped_at.append(time.monotonic())
        launcher.kill_group(proc.pid, signal.SIGTERM)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        while (code := proc.poll()) is None:
            if stopped_at and time.monotonic() - stopped_at[0] > GRACE:
                launcher.kill_group(proc.pid)  # did not stop within the grace time
            time.sleep(0.2)
    finally:
        launcher.kill_group(proc.pid)
        launcher.sweep(job["token"])
    if code != 0:
        how = f"signal {-code}" if code < 0 else f"code {code}"
        note = f"runner stopped by {how}" if stopped_at else f"runner exited with {how}"
        with open(job["events"], "ab+") as handle:
            handle.seek(0, 2)
            if handle.tell():  # a runner killed mid-line: keep the note on a line of its own
                handle.seek(-1, 2)
                ends_line = handle.read(1) == b"\n"
            else:
                ends_line = True
            handle.write((b"" if ends_line else b"\n") + events.encode(events.make("log", line=note, stream="slurm")))
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    raise SystemExit(main())
