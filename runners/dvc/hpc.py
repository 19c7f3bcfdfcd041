"""DVC on Slurm: the train stage's command goes through `srun`, so every experiment becomes a job.

DVC has no Slurm executor of its own; its documented way is the stage command, which may be
any command. With `cmd: srun ... python train.py` in dvc.yaml (one changed line), `dvc exp run`
in the workspace and queued experiments (`dvc exp run --queue`, `dvc queue start -j 2`) each
submit a Slurm job and wait for it, and DVC tracks params and metrics as for a local run.

The first grid point runs in the workspace, the others through the queue; while the first
one's job runs, `dvc status` in the same repository shows DVC's repository lock, which a
long job holds for its whole run (on a shared file system: treeverse/dvc#7419).
"""

from __future__ import annotations

import shlex
import threading
import time

from mlops_compare.runners.checks import hpc as slurm_jobs
from mlops_compare.runners.context import CommandError, Context, Outcome
from mlops_compare.runners.dvc.repo import EXP_SHOW_TIMEOUT, DvcRepo, _tool_env

JOB_NAME = "mlops-compare-dvc"
LOCK_WORDS = ("rwlock", "Unable to acquire lock", "is busy")


class HpcCheck(DvcRepo):
    def hpc(self, ctx: Context) -> Outcome:
        if (down := slurm_jobs.unavailable(ctx)) is not None:
            return down
        jobs = slurm_jobs.SlurmJobs(ctx)
        stage = ctx.workspace / "dvc.yaml"
        original = stage.read_text()
        command = shlex.join(["srun", f"--job-name={JOB_NAME}", *jobs.flags(cpus=jobs.settings.get("cpus", 1))])
        if "cmd: python train.py" not in original:
            return Outcome("fail", "dvc.yaml has no `cmd: python train.py` stage to send through srun")
        stage.write_text(original.replace("cmd: python train.py", f"cmd: {command} python train.py", 1))
        self._git(ctx, "add", "dvc.yaml")
        self._git(ctx, "commit", "-q", "-m", "hpc: the train stage runs through srun", "--", "dvc.yaml")

        route = slurm_jobs.Route(
            "`dvc exp run` and `dvc queue start -j 2` with the stage command through srun",
            native=True,
            glue_lines=1,
            configured=f"dvc.yaml stage cmd: `{command} python train.py`",
            tracked="DVC experiments (git refs, `dvc exp show`)",
            site="srun on the node where `dvc exp run` runs (each stage waits there for its job) and a shared "
            "path for the repository",
        )
        names = [f"hpc-{k}" for k in range(len(ctx.points))]
        lock = ""
        start = time.perf_counter()
        with jobs.cancel_on_term(), jobs.watching("DVC experiments as Slurm jobs", len(names)) as ids:
            try:
                lock = self._first_in_workspace(ctx, jobs, names[0], ctx.points[0])
                if len(names) > 1:
                    for name, point in zip(names[1:], ctx.points[1:], strict=True):
                        self._exp_run(ctx, "--queue", name, point)
                    self._queue_start(ctx)
                self._wait_for(ctx, set(names), slurm_jobs.JOB_TIMEOUT[0] + slurm_jobs.JOB_TIMEOUT[1] * len(names))
            except (CommandError, TimeoutError) as exc:
                route.why = str(exc)
            finally:
                self._stop_queue(ctx, kill=True)
        route.seconds = time.perf_counter() - start
        route.jobs = jobs.records(ids)
        retrieved = {}
        for exp in self._experiments(self._exp_show(ctx)):
            if exp["name"] in names and exp["metrics"]:
                retrieved[slurm_jobs.point_of(exp["params"])] = exp["metrics"]
        if not route.why:
            slurm_jobs.check_metrics(ctx, route, retrieved)
        outcome = slurm_jobs.verdict([route], note=lock)
        outcome.numbers["lock_seen"] = int(lock.startswith("while"))
        return outcome

    def _exp_run(self, ctx: Context, mode: str, name: str, point: dict[str, float]) -> str:
        args = ["exp", "run", *([mode] if mode else []), "-n", name]
        args += ["-S", f"alpha={point['alpha']!r}", "-S", f"l1_ratio={point['l1_ratio']!r}"]
        return ctx.run(["dvc", *args], env=_tool_env(), timeout=slurm_jobs.JOB_TIMEOUT[0] + slurm_jobs.JOB_TIMEOUT[1])

    def _first_in_workspace(self, ctx: Context, jobs: slurm_jobs.SlurmJobs, name: str, point) -> str:
        """`dvc exp run` of one point in the workspace; while its job runs, try `dvc status`. Returns the lock note."""
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self._exp_run(ctx, "", name, point)
            except BaseException as exc:  # reported by the caller
                failure.append(exc)

        before = set(jobs.seen)
        thread = threading.Thread(target=run, name="dvc-exp-run", daemon=True)
        thread.start()
        note = "the first experiment's job ended before `dvc status` could be tried: lock not observed"
        while thread.is_alive():
            running = [j for i, j in jobs.seen.items() if i not in before and j.state.state == "RUNNING"]
            if running:
                text = ctx.run(["dvc", "status"], env=_tool_env(), check=False, timeout=EXP_SHOW_TIMEOUT)
                hit = next((line.strip() for line in text.splitlines() if any(w in line for w in LOCK_WORDS)), "")
                if hit:
                    note = (
                        f"while job {running[0].state.job_id} ran under `dvc exp run`, `dvc status` in the same "
                        f"repository failed: {hit[:200]!r}: DVC holds its repository lock for the whole job, so no "
                        "other DVC command can use the repository until the job ends (on a shared file system: "
                        "treeverse/dvc#7419)"
                    )
                else:
                    note = f"`dvc status` during job {running[0].state.job_id} did not hit DVC's repository lock"
                break
            time.sleep(0.2)
        thread.join()
        if failure:
            raise failure[0]
        return note

    def _wait_for(self, ctx: Context, names: set[str], timeout: float) -> None:
        """Until every named experiment has succeeded or failed in `dvc exp show`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                exps = {e["name"]: e for e in self._experiments(self._exp_show(ctx)) if e["name"] in names}
            except CommandError as exc:  # exp show can race a queue worker (see the grid check)
                ctx.log(f"exp show: {exc}; polling again")
                exps = {}
            done = {n for n, e in exps.items() if e["state"] == "failed" or (e["state"] == "success" and e["metrics"])}
            failed = sorted(n for n in done if exps[n]["state"] == "failed")
            if failed:
                raise CommandError(f"DVC reports experiment(s) failed: {', '.join(failed)}")
            if done >= names:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"experiments not finished after {timeout:g} s: {', '.join(sorted(names - done))}")
            time.sleep(1.0)
