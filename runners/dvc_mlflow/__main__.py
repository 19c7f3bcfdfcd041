"""``python -m mlops_compare.runners.dvc_mlflow``: the DVC + MLflow runner as a program."""

from mlops_compare.runners.dvc_mlflow import DvcMlflowRunner

raise SystemExit(DvcMlflowRunner.main())
