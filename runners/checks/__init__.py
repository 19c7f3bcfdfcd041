"""What every tool's version of a check shares, one module per check id (``hpc.py`` for ``hpc``).

A tool's own half of a check lives in its package (``runners/<tool>/<check>.py``); the part
that judges the tools alike (sizes, baselines, verdict rules, the second user, the remotes)
lives here, so a reader finds "the shared part of check X" at ``runners/checks/X.py``.
"""
