"""The plain baseline on Slurm: one batch script per grid point, written by hand, as a user without a tool would.

Mixed into `PlainRunner`. The results exist only as the scripts' printed output, read back from
the job output files: that is what every tool is measured against.
"""

from __future__ import annotations

import ast
import shlex
import sys
import time
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import hpc as slurm_jobs
from mlops_compare.runners.context import Context, Outcome


class HpcCheck:
    def hpc(self, ctx: Context) -> Outcome:
        """The baseline on Slurm: one hand-written batch script per grid point, results in its output file."""
        if (down := slurm_jobs.unavailable(ctx)) is not None:
            return down
        jobs = slurm_jobs.SlurmJobs(ctx)
        folder = ctx.workspace / "hpc"
        folder.mkdir(exist_ok=True)
        route = slurm_jobs.Route(
            "sbatch, one script per grid point",
            native=False,
            tracked="nothing (job output files)",
            site="sbatch on the login node and a shared path for the scripts and output files",
        )
        start = time.perf_counter()
        outputs: dict[str, tuple[dict[str, float], Path]] = {}
        with jobs.cancel_on_term():
            with jobs.watching("plain sbatch jobs", len(ctx.points)) as ids:
                for k, point in enumerate(ctx.points):
                    # What a user writes by hand: cd to the code, run the script for one point.
                    script = (
                        f"cd {shlex.quote(str(ctx.workspace))}\n"
                        f"{shlex.quote(sys.executable)} train.py {point['alpha']!r} {point['l1_ratio']!r}\n"
                    )
                    route.glue_lines = len(script.splitlines())
                    out = folder / f"point-{k}.out"
                    job_id = jobs.submit(script, name="mlops-compare-plain", chdir=ctx.workspace, output=out)
                    outputs[job_id] = (point, out)
                jobs.wait(list(outputs))
            route.jobs = jobs.records(ids)
        route.seconds = time.perf_counter() - start
        retrieved = {}
        for point, out in outputs.values():
            # The script prints "ElasticNet(alpha=..., l1_ratio=...): {'rmse': ...}"; repr'd floats read back exactly.
            line = next((x for x in out.read_text().splitlines() if x.startswith("ElasticNet(")), "")
            if line:
                retrieved[common.point_key(**point)] = ast.literal_eval(line.split(": ", 1)[1])
        slurm_jobs.check_metrics(ctx, route, retrieved)
        return slurm_jobs.verdict([route], note="the baseline: no tool, results only as printed output")
