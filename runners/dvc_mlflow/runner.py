"""The DVC + MLflow runner: DVC's runner for the repository and the pipeline, MLflow's beside it.

`DvcMlflowRunner` is the DVC runner (the workspace's git + DVC repository, its queue and its
clean-up) with an MLflow runner as its MLflow side (`self.mlflow`: the tracking store, the
server, the models). Every check method below names the tool that answers it; the table is
in the package docstring.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc import DvcRunner
from mlops_compare.runners.dvc_mlflow.answers import answered, both
from mlops_compare.runners.mlflow import MlflowRunner

# Beside the repository, never in it: MLflow's store (a team would run `mlflow server` elsewhere).
MLFLOW_FILES = ("/mlflow.db", "/mlartifacts/")


def by_dvc(check_id: str):
    """The check as the DVC runner does it, stamped as DVC's answer."""

    def check(self: DvcMlflowRunner, ctx: Context) -> Outcome:
        return answered("dvc", getattr(DvcRunner, check_id)(self, ctx))

    check.__name__ = check_id
    return check


def by_mlflow(check_id: str):
    """The check as the MLflow side (`self.mlflow`, an MLflow runner) does it, stamped as MLflow's answer."""

    def check(self: DvcMlflowRunner, ctx: Context) -> Outcome:
        return answered("mlflow", getattr(self.mlflow, check_id)(ctx))

    check.__name__ = check_id
    return check


class _MlflowSide(MlflowRunner):
    """MLflow's half of the combination: its setup copies the combination's example too (the same files)."""

    example = "dvc_mlflow"
    server_checks = ("retrieve", "ui", "share")  # languages is answered by DVC, without the server


class DvcMlflowRunner(DvcRunner):
    name = "dvc-mlflow"
    typical_seconds = 297.0  # its wall time in the default exam of 2026-12-06 02:53 (README)
    requires = ("dvc", "mlflow")
    install = "pip install dvc mlflow"
    requirements = ("dvc>=3.50", "dvc-s3>=3.0", "mlflow>=3.0")
    distribution = "dvc"  # the DVC side's licence; `tool_version` reports both tools
    example = "dvc_mlflow"
    process_setup = "subprocess"  # DVC's queue runs each point as `python train.py`
    commands = (
        "git init && dvc init",
        "dvc add data.csv && git add . && git commit",
        "export MLFLOW_TRACKING_URI=sqlite:///$PWD/mlflow.db MLFLOW_EXPERIMENT_NAME=exam",
        "dvc exp run --queue -S alpha=A1,A2,... -S l1_ratio=L1,L2,...",
        "dvc queue start -j 2",
        "mlflow server --backend-store-uri sqlite:///mlflow.db",
        "dvc repro",
        "git checkout REV -- data.csv.dvc && dvc checkout data.csv",
        "dvc exp apply NAME",
    )
    telemetry = DvcRunner.telemetry + MlflowRunner.telemetry
    config_files = DvcRunner.config_files + MlflowRunner.config_files
    env_prefixes = DvcRunner.env_prefixes + MlflowRunner.env_prefixes

    def __init__(self) -> None:
        super().__init__()
        self.mlflow = _MlflowSide()

    @classmethod
    def tool_version(cls) -> str:
        """Both tools' versions, "DVC + MLflow" (criteria.toml's `version` is written the same way)."""
        try:
            return " + ".join(importlib.metadata.version(d) for d in ("dvc", "mlflow"))
        except importlib.metadata.PackageNotFoundError:
            return ""

    def store_paths(self, ctx: Context) -> list[Path]:
        return super().store_paths(ctx) + self.mlflow.store_paths(ctx)

    # --- answered by both ------------------------------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        dvc = super().setup(ctx)  # git + DVC: code, pipeline and the data pointer committed
        dvc.evidence = dvc.evidence.replace(f"dvc {self.tool_version()}", f"dvc {DvcRunner.tool_version()}")
        if dvc.status == "fail":
            return answered("dvc", dvc)
        with open(ctx.workspace / ".git" / "info" / "exclude", "a") as handle:
            handle.write("".join(f"{path}\n" for path in MLFLOW_FILES))
        # MLflow's store and experiment; its tracking URI and experiment id go into the
        # environment, which DVC's queue workers, and so every stage, inherit.
        return both(dvc, self.mlflow.setup(ctx), need_both=True)

    def retrieve(self, ctx: Context) -> Outcome:
        from mlflow import MlflowClient

        dvc = super().retrieve(ctx)  # `dvc exp show --json`: DVC's record of every experiment
        # The MLflow run of each DVC experiment: the grid's runs in the exam experiment, by params.
        runs = MlflowClient().search_runs([self.mlflow.experiment_id], max_results=1000)
        commits = 0
        for run in runs:
            params = run.data.params
            key = common.point_key(float(params.get("alpha", "nan")), float(params.get("l1_ratio", "nan")))
            if key in self.experiments:
                self.mlflow.run_ids[key] = run.info.run_id
                self.mlflow.logged[key] = self.retrieved[key]  # MLflow's record must equal DVC's
                commits += run.data.tags.get("mlflow.source.git.commit") == self.experiments[key]["baseline"]
        mlflow = self.mlflow.retrieve(ctx)
        self.retrieved = dict(self.mlflow.retrieved)  # baseline_match compares what MLflow gives back
        out = both(dvc, mlflow, need_both=True)
        out.numbers["runs_with_experiment_commit"] = commits
        out.evidence += (
            f" || both: MLflow's metrics were compared with DVC's record of the same experiment; {commits} of "
            f"{len(self.mlflow.run_ids)} MLflow runs carry the git commit their DVC experiment started from "
            "(mlflow.source.git.commit), the only link between the two records besides the params"
        )
        return out

    def share(self, ctx: Context) -> Outcome:
        return both(super().share(ctx), self.mlflow.share(ctx), need_both=False)

    def license(self, ctx: Context) -> Outcome:
        dvc, mlflow = super().license(ctx), self.mlflow.license(ctx)
        out = both(dvc, mlflow, need_both=True)
        shares = [o.numbers.get("osi_share") for o in (dvc, mlflow)]
        numbers = [float(s) for s in shares if isinstance(s, int | float)]
        if len(numbers) == len(shares):
            out.numbers["osi_share"] = min(numbers)  # scored: the lower of the two tools' shares
        return out

    # --- answered by MLflow ----------------------------------------------------------
    models = by_mlflow("models")
    ui = by_mlflow("ui")

    # --- answered by DVC -------------------------------------------------------------
    def grid(self, ctx: Context) -> Outcome:
        outcome = answered("dvc", super().grid(ctx))
        outcome.evidence += "; each stage also logged its params and metrics as an MLflow run"
        return outcome

    data_versioning = by_dvc("data_versioning")
    reproduce = by_dvc("reproduce")
    fan_out = by_dvc("fan_out")
    failure = by_dvc("failure")
    languages = by_dvc("languages")
    remote_storage = by_dvc("remote_storage")
    large_data = by_dvc("large_data")
    hpc = by_dvc("hpc")

    def concurrency(self, ctx: Context) -> Outcome:
        # Many writers on each tool's own store are measured in the dvc and mlflow rows; the
        # combination's tasks would write both at once, which this check does not separate.
        return Outcome("skip", "measured per tool: see the dvc and mlflow rows of the concurrency check")
