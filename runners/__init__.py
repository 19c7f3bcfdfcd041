"""Runners: one module per tool, each a plain program that runs the exam and streams events.

A runner is started by the core as ``python -m mlops_compare.runners.<module>`` in its own
process group and workspace. The contract every runner follows is in `base`. Nothing here
imports Textual, and no tool is imported at module level: each tool is imported only
inside the runner process that exercises it.
"""
