"""hpc: the grid as Slurm jobs (``[exam.hpc]``).

Settings: ``partition``, ``account``, ``time_limit``, ``cpus``, ``mem``, ``options`` (more
sbatch options as text), ``poll_seconds``; command-line flags of the Slurm executor override
them (`mlops_compare.executors.slurm.SlurmOptions`).
"""

from __future__ import annotations

from typing import Any

from mlops_compare.exam_settings import Report, known_keys


def parse_settings(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "hpc")
    known: dict[str, type | tuple[type, ...]] = {
        "partition": str,
        "account": str,
        "time_limit": str,
        "cpus": int,
        "mem": str,
        "options": list,
        "poll_seconds": (int, float),
    }
    out = known_keys(table, known, where, problem)
    if "cpus" in out and out["cpus"] < 1:
        problem("exam.hpc.cpus must be at least 1", *where, "cpus")
    if any(not isinstance(o, str) for o in out.get("options", [])):
        problem("exam.hpc.options must be a list of sbatch options as text, e.g. ['--qos=short']", *where, "options")
        out["options"] = []
    return out
