"""The Textual explorer of mlops-compare: the only part of the project that imports Textual.

Start it with `mlops-compare` (or `run_app` from `mlops_compare.tui.app`). `relay` is the
one module here that runs in another process and never imports Textual.
"""
