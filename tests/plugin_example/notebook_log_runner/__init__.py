"""The exam through notebook-log, a made-up tool: each run is a JSON file in ``notebook/``.

A complete mlops-compare runner plugin in one module (docs/runners.md walks through it):
the class names its tool and its example folder, which ships in this package; setup, grid,
retrieve and reproduce are measured; every other check of the exam returns ``skip`` with
the reason, so the expert rating (if criteria.toml has one) stands for it.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.context import Context

NOTEBOOK = "notebook"  # where the tool keeps its runs


def not_measured(what: str):
    """A check method that reports ``skip``: the expert rating stands for it."""

    def check(self, ctx: Context) -> Outcome:
        return Outcome("skip", f"notebook-log: {what} is not measured by this plugin")

    return check


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

    # --- what notebook-log does not do (or this plugin does not measure yet): skip, with why ---
    models = not_measured("storing models")
    data_versioning = not_measured("data versioning")
    fan_out = not_measured("fan-out")
    failure = not_measured("a failing run")
    ui = not_measured("a UI")
    share = not_measured("sharing")
    languages = not_measured("other languages")
    remote_storage = not_measured("remote storage")
    large_data = not_measured("large data")
    hpc = not_measured("Slurm")
