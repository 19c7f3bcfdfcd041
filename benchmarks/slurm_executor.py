"""Benchmark: the exam with `--executor slurm` against local processes, and Slurm's cost per job.

Starts a throwaway single-node Slurm (`mlops_compare.infra.slurm_cluster`, Slurm's default
scheduling settings unless --fast-schedule), then runs the same exam twice: every runner as
a local process (--jobs 2, the default) and every runner as a batch job (all submitted at
once; the node's 2 CPUs run two at a time, one CPU each). It prints the wall time of both,
per tool the runner's seconds both ways and the job's queue wait (submitted -> seen
running), and the round trip of an empty job (`true`) through sbatch and the executor's
polling: the overhead the scheduler adds to every job. Uses the criteria's [exam]
(default: the full 3x3 grid on sklearn:diabetes) unless --data/--target are given.

    python benchmarks/slurm_executor.py [--tool plain ...] [--check grid ...] [--fast-schedule] [--empty-jobs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mlops_compare import criteria, registry
from mlops_compare.executors import SlurmExecutor
from mlops_compare.executors.local import RunRequest, run_many
from mlops_compare.executors.slurm_options import SlurmOptions
from mlops_compare.infra import slurm
from mlops_compare.infra.slurm_cluster import Cluster


def run_all(requests, jobs, factory=None):
    start = time.perf_counter()
    kwargs = {"factory": factory} if factory else {}
    records = asyncio.run(run_many(requests, jobs=jobs, **kwargs))
    return time.perf_counter() - start, records


def empty_job_round_trip(cluster: Cluster, folder: Path, poll: float) -> float:
    """Seconds from sbatch until the job is seen COMPLETED, polling like the executor does."""
    start = time.perf_counter()
    job_id = slurm.submit(["true"], name="empty", chdir=folder, output="/dev/null", env=cluster.env)
    slurm.wait(job_id, 120, poll=poll, env=cluster.env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--tool", action="append", default=[])
    parser.add_argument("--check", action="append", default=[], help="only these checks (as `run --check`)")
    parser.add_argument("--fast-schedule", action="store_true", help="SchedulerParameters=batch_sched_delay=0")
    parser.add_argument("--empty-jobs", type=int, default=5, help="empty jobs for the per-job overhead")
    parser.add_argument("--poll", type=float, default=SlurmOptions.poll, help="seconds between job state queries")
    args = parser.parse_args()
    exam = criteria.load(None).exam.to_dict()
    if args.data:
        exam["data"] = str(Path(args.data).resolve())
    if args.target:
        exam["target"] = args.target
    if args.check:
        exam["checks"] = args.check
    tools = args.tool or list(registry.available())
    print(f"data {exam['data']} target {exam['target']}, grid {exam['grid']}, tools {', '.join(tools)}")
    settings = {"SchedulerParameters": "batch_sched_delay=0"} if args.fast_schedule else {}
    with tempfile.TemporaryDirectory(prefix="mlops-compare-slurm-bench-") as tmp, Cluster(settings=settings) as cluster:
        work = Path(tmp)
        print(f"Slurm up in {cluster.started_in:.1f} s ({'fast scheduling' if settings else 'default scheduling'})")
        requests = [RunRequest(t, exam, workdir=work / "local") for t in tools]
        local_wall, local = run_all(requests, 2)
        executor = SlurmExecutor(SlurmOptions(poll=args.poll, env=cluster.env), work / "slurm")
        slurm_wall, jobs = run_all(requests, len(requests), executor.process)
        trips = [empty_job_round_trip(cluster, work, min(args.poll, 0.5)) for _ in range(args.empty_jobs)]

    print(f"{'tool':<10}{'local':>9}{'slurm':>9}{'queue s':>9}  status (local/slurm)")
    for here, there in zip(local, jobs, strict=True):
        queued = there.executor.get("queue_seconds")
        print(
            f"{here.tool:<10}{here.seconds:>9.1f}{there.seconds:>9.1f}{(queued if queued is not None else float('nan')):>9.1f}"
            f"  {here.status}/{there.status}"
        )
        for record in (here, there):
            if record.status != "passed":
                print(f"  {record.tool}: {record.reason}")
    extra = slurm_wall - local_wall
    print(
        f"exam wall time: local processes (--jobs 2) {local_wall:.1f} s; Slurm jobs {slurm_wall:.1f} s "
        f"({extra:+.1f} s, x{slurm_wall / local_wall:.2f})"
    )
    print(
        f"empty job, sbatch -> seen COMPLETED: median {statistics.median(trips):.2f} s "
        f"(min {min(trips):.2f}, max {max(trips):.2f}, n={len(trips)})"
    )
    print(f"per job, queue wait median {statistics.median(q for q in queues(jobs)):.2f} s" if queues(jobs) else "")
    return 0 if all(r.status == "passed" for r in [*local, *jobs]) else 1


def queues(records) -> list[float]:
    return [r.executor["queue_seconds"] for r in records if r.executor.get("queue_seconds") is not None]


if __name__ == "__main__":
    sys.exit(main())
