"""The machinery a run talks to, knowing nothing of exams: Slurm, a throwaway cluster, S3, process trees, redaction.

Nothing here imports any other part of mlops_compare (tests/test_layers.py holds that), so
runners, executors and tests can all use it.
"""
