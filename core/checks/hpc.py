"""hpc: the grid as Slurm jobs (``[exam.hpc]``).

Settings: ``partition``, ``account``, ``time_limit``, ``cpus``, ``mem``, ``options`` (more
sbatch options as text), ``poll_seconds``, ``queue_timeout``, ``login``, ``ssh_key``;
command-line flags of the Slurm executor override them (`mlops_compare.executors.slurm_options.SlurmOptions`).
"""

from __future__ import annotations

from typing import Any

from mlops_compare.exam_settings import Report, known_keys

# Its work is Slurm jobs: under the Slurm executor it runs on the login-node side, not inside
# the runner's own job (`mlops_compare.executors.split_run`).
SUBMITS_JOBS = True


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
        "queue_timeout": (int, float),  # seconds a job may stay PENDING; the record names Slurm's reason
        "login": str,  # "host[:port]": the site's SSH login node (Metaflow's @slurm); default: an sshd as the user
        "ssh_key": str,  # the key file for `login` (default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
    }
    out = known_keys(table, known, where, problem)
    if "queue_timeout" in out and out["queue_timeout"] <= 0:
        problem("exam.hpc.queue_timeout must be more than 0 seconds", *where, "queue_timeout")
    if "cpus" in out and out["cpus"] < 1:
        problem("exam.hpc.cpus must be at least 1", *where, "cpus")
    if any(not isinstance(o, str) for o in out.get("options", [])):
        problem("exam.hpc.options must be a list of sbatch options as text, e.g. ['--qos=short']", *where, "options")
        out["options"] = []
    return out


# --- the report's section (`mlops_compare.report.sections` asks every check for it) ---------


def report_section(evidence: Any) -> Any:
    """What each tool needed to run the grid on Slurm: the route that worked, jobs, glue, what did not work."""
    from mlops_compare.report.blocks import CELL_MAX, Section, Table, shorten
    from mlops_compare.report.sections import numbers

    rows = []
    for tool, found in evidence.tools.items():
        n = numbers(found, "hpc")
        if not n:
            continue
        routes = range(1, int(n.get("routes", 0)) + 1)
        failed = [f"{n.get(f'route{i}', '?')}: {n[f'route{i}_error']}" for i in routes if f"route{i}_error" in n]
        rows.append(
            [
                tool,
                found.checks["hpc"].status,
                n.get("route") or "-",
                "yes" if n.get("native") else "no (a wrapper)",
                f"{n.get('completed', 0)}/{n.get('jobs', 0)}",
                f"{n.get('queue_seconds_max', 0):g} / {n.get('run_seconds_max', 0):g}",
                n.get("glue_lines", "-"),
                shorten("; ".join(failed) or "-", CELL_MAX),
            ]
        )
    if not rows:
        return None
    header = ["tool", "hpc", "route that worked", "tool submits", "jobs done", "max queue / run s", "glue lines"]
    table = Table([*header, "what did not work"], rows)
    return Section("On Slurm", [table, "What each route had to install and configure is in the appendix (hpc)."])
