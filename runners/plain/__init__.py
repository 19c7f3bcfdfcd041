"""The baseline runner: the exam with no MLOps tool (``python -m mlops_compare.runners.plain``)."""

from mlops_compare.runners.plain.runner import PlainRunner

__all__ = ["PlainRunner"]
