"""Metaflow's `data_versioning` and `reproduce` checks."""

from __future__ import annotations

import hashlib
import json

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import FLOW, MetaflowFlows, _floats


class DataChecks(MetaflowFlows):
    def data_versioning(self, ctx: Context) -> Outcome:
        data_file = ctx.workspace / common.DATA_FILE
        point = ctx.points[0]
        key = common.point_key(**point)
        args = ["--alphas", _floats([point["alpha"]]), "--l1_ratios", _floats([point["l1_ratio"]])]
        v1_sha = common.sha256_file(data_file)
        v1_metrics = self._train_tasks(self.grid_run)[key].data.metrics
        stored_v1 = self._run(self.grid_run).data.data
        original = data_file.read_bytes()
        try:
            # v2: one row more (the last row duplicated), run again
            last = original.rstrip(b"\n").rsplit(b"\n", 1)[-1]
            data_file.write_bytes(original.rstrip(b"\n") + b"\n" + last + b"\n")
            v2_sha = common.sha256_file(data_file)
            self.v2_run = self._flow(ctx, args)
            v2_metrics = self._train_tasks(self.v2_run)[key].data.metrics
            stored_v2 = self._run(self.v2_run).data.data
            # roll back: the first run's IncludeFile artifact, read through the client, written back
            data_file.write_bytes(self._run(self.grid_run).data.data)
            restored_sha = common.sha256_file(data_file)
            check_run = self._flow(ctx, args)
            restored_metrics = self._train_tasks(check_run)[key].data.metrics
        finally:
            if data_file.read_bytes() != original:  # leave v1 for the next checks whatever happened
                data_file.write_bytes(original)
        numbers = {
            "v1_sha256": v1_sha[:12],
            "v2_sha256": v2_sha[:12],
            "restored_sha256": restored_sha[:12],
            "v1_run": self.grid_run,
            "v2_run": self.v2_run,
            "rollback_run": check_run,
            "v1_rmse": v1_metrics["rmse"],
            "v2_rmse": v2_metrics["rmse"],
            "restored_rmse": restored_metrics["rmse"],
        }
        problems = []
        if hashlib.sha256(stored_v1).hexdigest() != v1_sha:
            problems.append("the first run's data artifact does not match the v1 file")
        if hashlib.sha256(stored_v2).hexdigest() != v2_sha:
            problems.append("the second run's data artifact does not match the v2 file")
        if restored_sha != v1_sha:
            problems.append(f"restored file sha256 {restored_sha[:12]} != v1 {v1_sha[:12]}")
        if restored_metrics != v1_metrics:
            problems.append(f"metrics after the rollback {restored_metrics} != v1 {v1_metrics}")
        if problems:
            return Outcome("fail", "; ".join(problems), numbers)
        changed = "changed" if v2_metrics != v1_metrics else "did not change"
        return Outcome(
            "pass",
            f"data.csv is an IncludeFile Parameter, stored byte for byte with every run (content-addressed, "
            f"deduplicated). v1 sha256 {v1_sha[:12]} (run {self.grid_run}); v2 with one row added "
            f"{v2_sha[:12]} (run {self.v2_run}; rmse {changed}: {v2_metrics['rmse']:.6g} vs "
            f"{v1_metrics['rmse']:.6g}); rolled back by reading Run('{FLOW}/{self.grid_run}').data.data "
            f"through the client and writing it out: sha256 equal to v1, and a new run on it "
            f"({check_run}) gives v1's metrics exactly. Versions hang on runs, not on files: there is no "
            f"checkout/diff command for data, the restore is a line of client code",
            numbers,
        )

    def reproduce(self, ctx: Context) -> Outcome:
        data_file = ctx.workspace / common.DATA_FILE
        past = self.v2_run or self.grid_run
        run = self._run(past)
        params = run["_parameters"].task.data  # the Parameters exactly as the run received them
        original = {key: task.data.metrics for key, task in self._train_tasks(past).items()}
        current = data_file.read_bytes()
        data_file.write_bytes(params.data)  # the run's own data, from its IncludeFile artifact
        try:
            again = self._flow(
                ctx,
                ["--alphas", json.dumps(params.alphas), "--l1_ratios", json.dumps(params.l1_ratios)]
                + ["--model_type", params.model_type, "--data", common.DATA_FILE],
            )
        finally:
            data_file.write_bytes(current)
        repeated = {key: task.data.metrics for key, task in self._train_tasks(again).items()}
        code = "recorded" if run.code is not None else "not recorded (Metaflow packages code only for remote steps)"
        numbers = {
            "original_run": past,
            "rerun": again,
            "points": len(original),
            "code_in_record": int(run.code is not None),
        }
        if repeated != original:
            return Outcome("fail", f"run {again} gave {repeated}, the original {past} gave {original}", numbers)
        # Same numbers, but the code came from the workspace, not from the record: partial.
        return Outcome(
            "pass" if run.code is not None else "partial",
            f"re-ran {FLOW}/{past} from its record: Parameters from its _parameters task "
            f"(alphas={params.alphas}, l1_ratios={params.l1_ratios}, model_type={params.model_type}) and its "
            f"data from its IncludeFile artifact ({len(params.data)} bytes); the new run {again} gives the "
            f"same metrics for all {len(original)} point(s), bit for bit. Code: {code}; flow.py in the "
            f"workspace was reused",
            numbers,
        )
