"""The shared ML example: ElasticNet on a tabular regression data set.

`common` holds everything every tool must compute identically (data loading, the split,
the metrics). `plain/` is the baseline with no tool; `mlflow/`, `dvc/` and `metaflow/`
each hold that tool's integration, written the way the tool's own documentation teaches.
A runner copies `common.py` and one tool's folder into its workspace and runs them there.
"""
