"""pytest plugin for benchmarks/suite_timeline.py: one JSON line per test phase, from every xdist worker.

Loaded with ``-p timeline_plugin`` (benchmarks/ on PYTHONPATH); writes to the file named by
``MLOPS_COMPARE_TIMELINE`` (appended: each line is one small write, so workers do not mix).
"""

from __future__ import annotations

import json
import os
import time

LOG_VAR = "MLOPS_COMPARE_TIMELINE"


def pytest_runtest_logreport(report) -> None:
    path = os.environ.get(LOG_VAR)
    if not path:
        return
    line = {
        "t": time.time(),
        "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
        "id": report.nodeid,
        "when": report.when,
        "seconds": report.duration,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
