"""Where runners run: local processes (the default) or Slurm batch jobs (``--executor slurm``).

An executor makes the `launcher.RunnerProcess` for each request of the run plan, so
`run_many`, `mlops-compare run` and the TUI relay drive both kinds the same way:

- `LocalExecutor`: `RunnerProcess`, a process group on this machine;
- `SlurmExecutor`: `slurm_executor.SlurmJob`, one batch job per runner, its files in one
  folder per run on the shared path (``--workdir``, default ``<store>/slurm/<run>/``).

`choose` takes the user's choice as typed `ExecutorOptions` (the CLI builds them from its
flags) and checks before anything starts that Slurm can take the jobs (sbatch on PATH, the
controller answers, `sbatch --test-only` accepts the options), so a wrong partition or
account is sbatch's own message and exit code 2. Detaching and attaching are here too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_compare.errors import UserError

if TYPE_CHECKING:
    from mlops_compare.criteria import Criteria
    from mlops_compare.executors.slurm_options import SlurmOptions
    from mlops_compare.store import Store

NO_SBATCH = (
    "--executor slurm needs Slurm's sbatch on PATH: run on a login node, "
    "or start a throwaway cluster with `python -m mlops_compare.infra.slurm_cluster start`"
)
EXECUTORS = ("local", "slurm")


@dataclass(frozen=True)
class ExecutorOptions:
    """Where runners run, as the user chose it (`mlops_compare.cli` builds it from its flags).

    ``name`` is one of `EXECUTORS`; the rest matters for Slurm only: the sbatch options
    (None: take ``[exam.hpc]``, then the defaults; ``sbatch_options`` add up with its
    ``options``), the shared folder for job files (``workdir``, default the store) and
    whether to submit and return (``detach``).
    """

    name: str = "local"
    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None
    cpus: int | None = None
    mem: str | None = None
    sbatch_options: tuple[str, ...] = ()
    queue_timeout: float | None = None
    workdir: str | None = None
    detach: bool = False

    def __post_init__(self) -> None:
        if self.name not in EXECUTORS:
            raise UserError(f"executor {self.name!r}: one of {', '.join(EXECUTORS)}")
        if self.cpus is not None and self.cpus < 1:
            raise UserError("--cpus must be at least 1")
        if self.queue_timeout is not None and self.queue_timeout <= 0:
            raise UserError("--queue-timeout must be more than 0 seconds")


def tui_executor(options: ExecutorOptions, criteria: Criteria) -> dict[str, Any] | None:
    """The TUI's executor as a `spec` (None: local), checked before any screen is drawn."""
    from mlops_compare.store import Store

    if options.name != "slurm":
        return None
    return choose(options, criteria, Store(), criteria.exam.timeout).spec()


class LocalExecutor:
    name = "local"

    def process(self, request, on_event=None, store=None):
        from mlops_compare.executors.local import RunnerProcess

        return RunnerProcess(request, on_event, store)

    def jobs(self, requested: int | None, count: int) -> int:
        return requested or 2

    def spec(self) -> None:
        return None


class SlurmExecutor:
    """Each runner one batch job, its files in *folder*/<tool>/ (a folder on the shared path)."""

    name = "slurm"

    def __init__(self, options, folder: str | Path, run_id: str = "", tickets: Mapping[str, dict] | None = None):
        self.options = options  # slurm_executor.SlurmOptions
        self.folder = Path(folder).resolve()
        self.run_id = run_id
        self.tickets = dict(tickets or {})  # tool -> ticket of a submitted job, when attaching

    def process(self, request, on_event=None, store=None):
        """A `SlurmJob`, or a `SplitRun` when checks that submit jobs themselves (hpc) are chosen."""
        import dataclasses

        from mlops_compare.executors.slurm import SlurmJob
        from mlops_compare.executors.split_run import SplitRun, split_exam

        ticket = self.tickets.get(request.tool)
        if ticket is not None:
            job = SlurmJob(
                request,
                on_event,
                store,
                options=self.options,
                folder=ticket["folder"],
                job_id=ticket["job_id"],
                submitted=ticket.get("submitted"),
            )
            login = ticket.get("login_side")
            return SplitRun(request, on_event, store, job=job, login_exam=login) if login else job
        job_exam, login_exam = split_exam(request.exam)
        if login_exam is None:
            return SlurmJob(request, on_event, store, options=self.options, folder=self._new_folder(request.tool))
        batch = None  # the part of the exam that runs as a batch job, if any
        if job_exam is not None:
            folder = self._new_folder(request.tool)
            batch = SlurmJob(dataclasses.replace(request, exam=job_exam), options=self.options, folder=folder)
        return SplitRun(request, on_event, store, job=batch, login_exam=login_exam)

    def _new_folder(self, tool: str) -> Path:
        """<folder>/<tool>, or <tool>-2, -3, ... when the tool ran before in this run (the TUI's `r` again)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            path = self.folder / (tool if n == 1 else f"{tool}-{n}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path
        raise UserError(f"{self.folder}: too many runs of {tool} in one folder")

    def spec(self) -> dict[str, Any]:
        """The executor as plain data, for another process (the TUI's relay): see `from_spec`."""
        return {"name": self.name, "options": self.options.to_dict(), "folder": str(self.folder), "run": self.run_id}

    def jobs(self, requested: int | None, count: int) -> int:
        return requested or max(count, 1)  # every job in the queue at once: Slurm schedules them

    def check(self, timeout: float | None) -> None:
        """Raise UserError unless Slurm takes a job with these options from here."""
        import shutil  # here, not at the top: `mlops-compare score` imports this module for its flags
        import subprocess

        from mlops_compare.infra import slurm

        env = {**os.environ, **self.options.env}
        if shutil.which("sbatch", path=env.get("PATH")) is None:
            raise UserError(NO_SBATCH)
        why = slurm.available(env=self.options.env, timeout=self.options.command_timeout)
        if why:
            raise UserError(f"--executor slurm: {why}")
        argv = ["sbatch", "--test-only", *self.options.sbatch_args(timeout), "--wrap", "true"]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=self.options.command_timeout)
        except subprocess.TimeoutExpired:
            raise UserError(f"sbatch --test-only did not answer within {self.options.command_timeout:g} s") from None
        if out.returncode != 0:
            message = (out.stderr.strip() or out.stdout.strip()).replace("\n", "; ")
            raise UserError(f"sbatch refused the job ({' '.join(argv[2:-2]) or 'no options'}): {message}")


# Not named `slurm_options`: importing the submodule executors.slurm_options sets that name on this
# package and would replace the function ("'module' object is not callable").
def options_for_slurm(
    options: ExecutorOptions, criteria: Criteria, env: Mapping[str, str] | None = None
) -> SlurmOptions:
    """``[exam.hpc]`` overridden by the user's choices."""
    from mlops_compare.executors.slurm_options import SlurmOptions

    return SlurmOptions.from_settings(
        criteria.exam.table("hpc"),
        partition=options.partition,
        account=options.account,
        time_limit=options.time_limit,
        cpus=options.cpus,
        mem=options.mem,
        options=list(options.sbatch_options),
        queue_timeout=options.queue_timeout,
        env=dict(env or {}),
    )


def choose(
    options: ExecutorOptions,
    criteria: Criteria,
    store: Store,
    timeout: float | None,
    env: Mapping[str, str] | None = None,
) -> LocalExecutor | SlurmExecutor:
    """The executor the user asked for, checked (Slurm takes the jobs); raises UserError."""
    if options.name != "slurm":
        if options.detach:
            raise UserError("--detach works with --executor slurm")
        return LocalExecutor()
    from mlops_compare.executors import detached as slurm_runs

    run_id = slurm_runs.new_run_id()
    executor = SlurmExecutor(
        options_for_slurm(options, criteria, env), slurm_runs.run_folder(store, options.workdir, run_id), run_id
    )
    executor.check(timeout)
    return executor


def detach(executor: SlurmExecutor, requests, store) -> tuple[Any, list]:
    """Submit every request and return (the state file, the jobs); refused ones are stored records."""
    from mlops_compare.executors import detached as slurm_runs

    jobs = [executor.process(request, None, store) for request in requests]
    submitted = [job for job in jobs if job.submit_detached()]
    path = None
    if submitted:
        tickets = [slurm_runs.ticket(job) for job in submitted]
        path = slurm_runs.save(store, executor.run_id, executor.options.to_dict(), tickets)
    return path, jobs


def attach(store, run: str | None):
    """(state file, the requests, the executor that follows them) of a detached run."""
    import json

    from mlops_compare.executors import detached as slurm_runs
    from mlops_compare.executors.local import RunRequest
    from mlops_compare.executors.slurm_options import SlurmOptions

    path, state = slurm_runs.load(store, run or None)
    requests, tickets = [], {}
    for ticket in state["jobs"]:
        folder = Path(ticket["folder"])
        try:
            exam = json.loads((folder / "exam.json").read_text())
        except (OSError, ValueError):
            exam = {}
        requests.append(
            RunRequest(
                ticket["tool"], exam, python=ticket["python"], timeout=ticket.get("timeout"), module=ticket["module"]
            )
        )
        tickets[ticket["tool"]] = ticket
    options = SlurmOptions.from_dict(state.get("options", {}))
    return path, requests, SlurmExecutor(options, path.parent / state["run"], state["run"], tickets)


def from_spec(spec: Mapping[str, Any] | None) -> LocalExecutor | SlurmExecutor:
    """The executor `spec()` described (None: local processes)."""
    if not spec or spec.get("name") != "slurm":
        return LocalExecutor()
    from mlops_compare.executors.slurm_options import SlurmOptions

    return SlurmExecutor(SlurmOptions.from_dict(spec.get("options", {})), spec["folder"], spec.get("run", ""))
