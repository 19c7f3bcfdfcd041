"""The MLflow runner: the exam through MLflow Tracking, Models, Projects and mlflow.data.

- setup: a SQLite tracking store (``mlflow.db``) and an experiment whose artifacts live in
  ``mlartifacts/``, both in the workspace (MLflow 3 refuses a plain ``./mlruns`` file store
  unless MLFLOW_ALLOW_FILE_STORE=true);
- grid: the example's ``train`` (``example/mlflow/train.py``) in-process, one MLflow run per
  point, in one experiment;
- retrieve: a real ``mlflow server`` on 127.0.0.1 and a free port, read through its REST API
  with ``MlflowClient``; if it does not come up, the SQLite store is read directly (partial);
- models: ``mlflow.sklearn.log_model`` for ElasticNet and a DecisionTreeRegressor, loaded
  back with ``mlflow.sklearn.load_model`` and ``mlflow.pyfunc.load_model``;
- data_versioning: ``mlflow.data.from_pandas`` + ``mlflow.log_input`` record a digest per
  version, but MLflow keeps no copy of the data, so v1 cannot be restored through it (partial);
- reproduce: one past run's parameters from the store, re-run with
  ``mlflow.projects.run(..., env_manager="local")`` against the example's ``MLproject``.

Where to find what: `tracking` (the store, `mlflow server`, helpers), `runner` (setup,
grid, retrieve), `models`, `data` (data versioning and reproduce).
"""

from mlops_compare.runners.mlflow.runner import MlflowRunner

__all__ = ["MlflowRunner"]
