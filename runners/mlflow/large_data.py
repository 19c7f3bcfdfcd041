"""MLflow's `large_data` check: dataset logging, the example's run, the dataset read back, at every size.

Registering is what MLflow's docs teach for data sets: ``mlflow.data.from_pandas`` and
``mlflow.log_input`` in a run (`REGISTER`). Training is the example's ``train.py`` run as a
script (it logs its input and its model too). MLflow records a data set's digest, schema,
profile and source path, never its bytes, so reading back is: the recorded source through
``mlflow.data.get_source(...).load()``, read and digested again and compared with the
record (`READ_BACK`); the working copy is not deleted first, since MLflow could not bring
it back. Each size has its own SQLite store in its folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlops_compare.runners.checks import large_data as scaling
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.measures import dir_size
from mlops_compare.runners.mlflow.tracking import MlflowTracking

REGISTER = '''"""Register the data set with MLflow, as its docs teach: mlflow.data.from_pandas + mlflow.log_input."""
import os

import mlflow
from common import DATA_FILE, load_exam, read_csv

with mlflow.start_run(run_name="register-data") as run:
    dataset = mlflow.data.from_pandas(
        read_csv(DATA_FILE), source=os.path.abspath(DATA_FILE), targets=load_exam()["target"], name="data"
    )
    mlflow.log_input(dataset, context="training")
print(f"registered run_id={run.info.run_id} digest={dataset.digest}")
'''

READ_BACK = '''"""Read the data set of a run back through MLflow and check it against the recorded digest."""
import sys

import mlflow
from common import read_csv
from mlflow import MlflowClient

record = MlflowClient().get_run(sys.argv[1]).inputs.dataset_inputs[0]
path = mlflow.data.get_source(record).load()
digest = mlflow.data.from_pandas(read_csv(path)).digest
print(f"read back {path}: digest {digest}, recorded {record.dataset.digest}")
sys.exit(0 if digest == record.dataset.digest else 1)
'''


class MlflowScale(scaling.ScaleSteps):
    label = "mlflow"
    describe = (
        "mlflow.data.from_pandas + mlflow.log_input; the example's train.py (logs its input and model); "
        "the recorded source loaded with mlflow.data.get_source and its digest checked"
    )
    keeps_copy = False
    warm = ("mlflow", "mlflow.sklearn")

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.run_id = ""

    @staticmethod
    def _env(folder: Path) -> dict[str, str]:
        # This size's own store and experiment; the runner's experiment id (set in its
        # environment by mlflow.set_experiment) is blanked, it does not exist here.
        return {
            "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
            "MLFLOW_EXPERIMENT_NAME": "large_data",
            "MLFLOW_EXPERIMENT_ID": "",
        }

    def prepare(self, folder: Path) -> None:
        self.copy_example("mlflow", folder)
        (folder / "register_data.py").write_text(REGISTER)
        (folder / "read_back.py").write_text(READ_BACK)

    def register(self, folder: Path) -> scaling.Usage:
        usage, text = self.measure([sys.executable, "register_data.py"], folder, env=self._env(folder))
        self.run_id = text.rsplit("registered run_id=", 1)[1].split()[0]
        return usage

    def train(self, folder: Path, point: dict[str, float]) -> tuple[scaling.Usage, dict[str, float]]:
        argv = [sys.executable, "train.py", repr(point["alpha"]), repr(point["l1_ratio"])]
        usage, text = self.measure(argv, folder, env=self._env(folder))
        return usage, scaling.printed_metrics(text)

    def read_back(self, folder: Path) -> scaling.Usage:
        return self.measure([sys.executable, "read_back.py", self.run_id], folder, env=self._env(folder))[0]

    def stored(self, folder: Path) -> int:
        return dir_size(folder / "mlflow.db", folder / "mlruns", folder / "mlartifacts")


class LargeDataCheck(MlflowTracking):
    def large_data(self, ctx: Context) -> Outcome:
        return scaling.run_check(ctx, MlflowScale(ctx))
