"""``python -m mlops_compare.runners.dvc``: the DVC runner as a program."""

from mlops_compare.runners.dvc import DvcRunner

raise SystemExit(DvcRunner.main())
