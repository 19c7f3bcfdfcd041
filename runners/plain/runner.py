"""The baseline runner: the exam with no MLOps tool, for reference.

It runs the same grid as every tool and records what plain scripts give you (nothing to
retrieve from, no versioning), so the other runners have something to be compared with.
"""

from __future__ import annotations

import pickle

from mlops_compare.example import common
from mlops_compare.runners.base import Outcome, Runner
from mlops_compare.runners.checks import large_data as scaling
from mlops_compare.runners.context import Context
from mlops_compare.runners.plain.concurrency import ConcurrencyCheck
from mlops_compare.runners.plain.hpc import HpcCheck
from mlops_compare.runners.plain.operations import PlainOperations
from mlops_compare.runners.plain.storage import StorageCheck


class PlainRunner(ConcurrencyCheck, HpcCheck, StorageCheck, PlainOperations, Runner):
    name = "plain"
    typical_seconds = 10.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires = ("sklearn", "pandas")
    install = "pip install scikit-learn pandas"
    distribution = "scikit-learn"
    example = "plain"
    commands = ("python train.py ALPHA L1_RATIO",)

    def setup(self, ctx: Context) -> Outcome:
        files = ctx.copy_example("plain")
        return Outcome(
            "pass", f"nothing to initialise; copied {', '.join(files)}", {"files": len(files), "commands": 0}
        )

    def grid(self, ctx: Context) -> Outcome:
        train = ctx.load_module(ctx.workspace / "train.py", "_mlops_compare_plain_grid").train
        for k, point in enumerate(ctx.points, 1):
            metrics = train(point["alpha"], point["l1_ratio"])
            self.retrieved[common.point_key(**point)] = metrics
            ctx.metric(point["alpha"], point["l1_ratio"], metrics)
            ctx.progress(k, len(ctx.points), "grid")
        return Outcome("pass", f"{len(ctx.points)} points in a plain loop", {"points": len(ctx.points)})

    def retrieve(self, ctx: Context) -> Outcome:
        return Outcome("skip", "no tool: parameters and metrics exist only as printed output")

    def baseline_match(self, ctx: Context) -> Outcome:
        return Outcome("skip", "this is the baseline")

    def models(self, ctx: Context) -> Outcome:
        from sklearn.linear_model import ElasticNet

        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        model = ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=ctx.exam["random_state"]).fit(train_x, train_y)
        path = ctx.workspace / "model.pkl"
        path.write_bytes(pickle.dumps(model))
        same = (pickle.loads(path.read_bytes()).predict(test_x) == model.predict(test_x)).all()
        return Outcome("partial" if same else "fail", "pickle by hand: no model store, no metadata, one file per model")

    def data_versioning(self, ctx: Context) -> Outcome:
        return Outcome("skip", "baseline, no tool: versions exist only as copies you make yourself")

    def reproduce(self, ctx: Context) -> Outcome:
        return Outcome("skip", "baseline, no tool: nothing records which parameters and data gave which result")

    def large_data(self, ctx: Context) -> Outcome:
        return scaling.run_check(ctx, None)  # the baseline every tool's figures are divided by

    def share(self, ctx: Context) -> Outcome:
        return Outcome("skip", "baseline, no tool: runs, data and models are shared by copying files and by word")

    def languages(self, ctx: Context) -> Outcome:
        return Outcome("skip", "baseline, no tool: a shell script or a notebook runs, but nothing records what it did")

    def overhead(self, ctx: Context) -> Outcome:
        plain = ctx.plain_grid_time("in-process")  # measured once, in Context.prepare
        numbers = {"ratio": 1.0, "tool_seconds": self.grid_seconds or 0.0, "plain_seconds": plain, "disk_bytes": 0}
        return Outcome("pass", "this is the baseline (ratio 1.0)", numbers)
