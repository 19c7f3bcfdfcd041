"""Detached Slurm runs: the small state file `mlops-compare run --attach` follows them again from.

``mlops-compare run --executor slurm --detach`` submits the jobs and writes
``<store>/slurm/<run>.json``: the options the jobs were submitted with and, per runner, its
job id and its folder on the shared path (exam, events file, workspace). Attaching reads it,
follows every job from the first line of its events file, so a job that finished meanwhile
is collected just the same, stores the records and removes the file.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_compare import atomic
from mlops_compare.errors import UserError
from mlops_compare.store import Store

FOLDER = "slurm"  # below the store: run folders (unless --workdir) and the state files


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def run_folder(store: Store, workdir: str | Path | None, run_id: str) -> Path:
    """Where a run's jobs keep their files: on the shared path, so compute nodes see them."""
    base = Path(workdir) if workdir else store.root / FOLDER
    return (base / run_id).resolve()


def state_path(store: Store, run_id: str) -> Path:
    return store.root / FOLDER / f"{run_id}.json"


def save(store: Store, run_id: str, options: dict[str, Any], jobs: list[dict[str, Any]]) -> Path:
    """Write the state of a detached run; *jobs* are `ticket`s."""
    path = state_path(store, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"run": run_id, "created": datetime.now(UTC).isoformat(timespec="seconds"), "options": options}
    atomic.write_text(path, json.dumps({**state, "jobs": jobs}, indent=1) + "\n")
    return path


def ticket(job) -> dict[str, Any]:
    """What attaching needs to know about one submitted `SlurmJob`."""
    request = job.request
    return {
        "tool": request.tool,
        "job_id": job.job_id,
        "submitted": job.submitted,
        "folder": str(job.folder),
        "python": request.python,
        "timeout": request.timeout,
        "module": request.module,
        # checks run on the login side once the job is collected (`split_run.SplitRun`)
        "login_side": getattr(job, "login_exam", None),
    }


def detached(store: Store) -> list[Path]:
    """State files of detached runs not yet collected, oldest first."""
    folder = store.root / FOLDER
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def load(store: Store, run: str | None) -> tuple[Path, dict[str, Any]]:
    """The state of run *run* (None: the newest detached run); UserError when there is none."""
    found = detached(store)
    if not found:
        raise UserError(
            f"no detached Slurm run in {store.root / FOLDER}; start one with "
            "`mlops-compare run --executor slurm --detach` (and the same --store)"
        )
    if run is None:
        path = found[-1]
    else:
        path = state_path(store, run)
        if not path.is_file():
            names = ", ".join(p.stem for p in found)
            raise UserError(f"--attach {run}: no such detached run in {store.root / FOLDER} (detached runs: {names})")
    try:
        state = json.loads(path.read_text())
        if not isinstance(state, dict) or not isinstance(state.get("jobs"), list):
            raise ValueError("not a table with a list of jobs")
        if not all(isinstance(job, dict) for job in state["jobs"]):
            raise ValueError("a job is not a table")
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a detached run's state file ({exc})") from None
    return path, state
