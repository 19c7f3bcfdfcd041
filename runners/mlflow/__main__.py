"""``python -m mlops_compare.runners.mlflow``: the runner as a program."""

from mlops_compare.runners.mlflow import MlflowRunner

raise SystemExit(MlflowRunner.main())
