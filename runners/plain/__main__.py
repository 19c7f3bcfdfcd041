"""``python -m mlops_compare.runners.plain``: the baseline runner as a program."""

from mlops_compare.runners.plain import PlainRunner

raise SystemExit(PlainRunner.main())
