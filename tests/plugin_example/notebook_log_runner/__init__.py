"""The exam through notebook-log, a made-up tool: each run is a JSON file in ``notebook/``.

A complete mlops-compare runner plugin in one module (docs/runners.md walks through it):
the class names its tool and its example folder, which ships in this package; setup, grid,
retrieve and reproduce are measured. It has no method for the other tool checks: a plugin
must implement only setup, grid and retrieve, and each check it leaves out is ``skip`` "not
implemented by this runner; added in <release>", so the expert rating (if criteria.toml has
one) stands for it. The shared checks (baseline_match, invasiveness, overhead, license, cost)
come from `Runner`.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.context import Context

NOTEBOOK = "notebook"  # where the tool keeps its runs


class NotebookLogRunner(Runner):
    name = "notebook-log"  # the entry point's name
    requires = ("sklearn",)  # import names checked before anything runs
    install = "pip install mlops-compare-notebook-log"
    distribution = "mlops-compare-notebook-log"  # version and licence are read from it
    example = "example"  # the folder with the tool's version of train.py ...
    example_package = "notebook_log_runner"  # ... in this package, not in mlops-compare's example/
    commands = ("python train.py ALPHA L1_RATIO",)

    def setup(self, ctx: Context) -> Outcome:
        files = ctx.copy_example(self.example_dir())  # train.py, plus the exam's common.py
        (ctx.workspace / NOTEBOOK).mkdir()
        return Outcome("pass", f"copied {', '.join(files)}; made {NOTEBOOK}/", {"files": len(files)})

    def grid(self, ctx: Context) -> Outcome:
        train = ctx.load_module(ctx.workspace / "train.py", "_notebook_log_train").train
        for k, point in enumerate(ctx.points, 1):
            metrics = train(point["alpha"], point["l1_ratio"])
            ctx.metric(point["alpha"], point["l1_ratio"], metrics)  # a metric event as each point lands
            ctx.progress(k, len(ctx.points), "grid")
        return Outcome("pass", f"{len(ctx.points)} runs, each written to {NOTEBOOK}/", {"points": len(ctx.points)})

    def retrieve(self, ctx: Context) -> Outcome:
        for path in sorted((ctx.workspace / NOTEBOOK).glob("run-*.json")):
            record = json.loads(path.read_text())
            key = common.point_key(**record["params"])
            self.retrieved[key] = record["metrics"]  # what baseline_match compares with the plain script
        n = len(self.retrieved)
        status = "pass" if n == len(ctx.points) else "fail"
        return Outcome(status, f"read {n} run file(s) back from {NOTEBOOK}/", {"runs": n})

    def reproduce(self, ctx: Context) -> Outcome:
        path = sorted((ctx.workspace / NOTEBOOK).glob("run-*.json"))[0]
        record = json.loads(path.read_text())
        train = ctx.load_module(ctx.workspace / "train.py", "_notebook_log_again").train
        same = train(**record["params"]) == record["metrics"]
        evidence = (
            f"re-ran {path.name}'s params: metrics {'equal' if same else 'DIFFERENT'}; "
            "the record keeps no code or data version"
        )
        return Outcome("partial" if same else "fail", evidence, {"identical": int(same)})

    def store_paths(self, ctx: Context) -> list[Path]:
        return [ctx.workspace / NOTEBOOK]  # for overhead's disk figure

    # No method for models, data_versioning, fan_out, failure, ui, share, languages,
    # remote_storage, large_data, hpc: a plugin may leave out any check but setup, grid and
    # retrieve. Each gets `skip` "not implemented by this runner; added in <release>" and the
    # expert rating (if criteria.toml has one) stands for it.
