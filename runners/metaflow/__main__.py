"""``python -m mlops_compare.runners.metaflow``: the runner as a program."""

from mlops_compare.runners.metaflow import MetaflowRunner

raise SystemExit(MetaflowRunner.main())
