"""`python -m mlops_compare` is the same as the `mlops-compare` command."""

from mlops_compare.cli import main

raise SystemExit(main())
