"""mlops-compare's headless core: criteria, scoring, runner events, results, CLI.

Importing this package is cheap on purpose: nothing here imports Textual, pandas or any
MLOps tool at module level, so `mlops-compare score` and the TUI start fast.
"""

__version__ = "0.1.0"
