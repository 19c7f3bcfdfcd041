"""Where the test suite's wall time goes: CPU-bound, or both workers waiting (README: Testing).

    python3 benchmarks/suite_timeline.py                      # the README's pytest command
    python3 benchmarks/suite_timeline.py -- tests/test_tui_app.py -n 0

Runs pytest (by default ``-q -n auto``, as the README's test command) with a plugin that
records when each test phase ran on which xdist worker (benchmarks/timeline_plugin.py), and
samples ``/proc/stat`` once a second. Every second's idle CPU (both cores' worth) is shared
among the tests running in it; the result, per test file: its tests' wall seconds and the
idle core-seconds while they ran. A file with much idle is one whose tests wait (sleeps,
timeouts, a scheduler) while the other worker waits too: the part of the suite's time that
more CPU would not shorten. Then the whole run: wall time, busy %, idle core-seconds.

Linux only (``/proc/stat``). Run it on an otherwise idle machine; `CI=true` as in `.ci/run`
if the Slurm tests must not skip.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from timeline_plugin import LOG_VAR

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ARGS = ["-q", "-n", "auto"]


def cpu_counters() -> list[int]:
    with open("/proc/stat", encoding="ascii") as f:
        return [int(v) for v in f.readline().split()[1:]]


def sample_busy(out: list[tuple[float, float]], stop: threading.Event) -> None:
    """(time, busy fraction of all cores) once a second until *stop*."""
    before = cpu_counters()
    while not stop.wait(1.0):
        now = cpu_counters()
        delta = [b - a for a, b in zip(before, now, strict=False)]
        total = sum(delta) or 1
        idle = delta[3] + delta[4]  # idle + iowait
        out.append((time.time(), (total - idle) / total))
        before = now


def idle_by_file(lines: list[dict], busy: list[tuple[float, float]], cores: int) -> tuple[dict, dict, float]:
    phases = [(r["t"] - r["seconds"], r["t"], r["id"].split("::")[0]) for r in lines if r["worker"] != "main"]
    if not phases:  # without xdist the controller runs the tests itself
        phases = [(r["t"] - r["seconds"], r["t"], r["id"].split("::")[0]) for r in lines]
    wall: collections.Counter = collections.Counter()
    idle: collections.Counter = collections.Counter()
    for began, ended, name in phases:
        wall[name] += ended - began
    unattributed = 0.0
    for t, fraction in busy:
        spare = cores * (1.0 - fraction)
        running = [name for began, ended, name in phases if began <= t - 0.5 < ended]
        if not running:
            unattributed += spare
        for name in running:
            idle[name] += spare / len(running)
    return wall, idle, unattributed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=15, help="test files to list (default 15)")
    parser.add_argument(
        "pytest_args", nargs="*", help=f"after --: pytest's arguments (default {' '.join(DEFAULT_ARGS)})"
    )
    args = parser.parse_args()
    if not Path("/proc/stat").is_file():
        print("suite_timeline: needs Linux's /proc/stat", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="mlops-compare-timeline-") as tmp:
        log = Path(tmp) / "timeline.jsonl"
        env = {**os.environ, LOG_VAR: str(log)}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent), env.get("PYTHONPATH")) if p)
        busy: list[tuple[float, float]] = []
        stop = threading.Event()
        sampler = threading.Thread(target=sample_busy, args=(busy, stop), daemon=True)
        began = time.time()
        sampler.start()
        try:
            argv = [sys.executable, "-m", "pytest", "-p", "timeline_plugin", *(args.pytest_args or DEFAULT_ARGS)]
            code = subprocess.run(argv, cwd=ROOT, env=env).returncode
        finally:
            stop.set()
            sampler.join()
        seconds = time.time() - began
        lines = [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []
    wall, idle, unattributed = idle_by_file(lines, busy, cores)
    mean_busy = sum(f for _, f in busy) / len(busy) if busy else 0.0
    total_idle = sum(idle.values()) + unattributed
    print(
        f"\nsuite_timeline: {seconds:.0f} s wall, {100 * mean_busy:.0f} % busy on {cores} cores, "
        f"{total_idle:.0f} idle core-seconds (pytest exit {code})"
    )
    print(f"{'idle core-s':>12} {'test s':>8}  file")
    for name, spare in idle.most_common(args.top):
        print(f"{spare:12.1f} {wall[name]:8.1f}  {name}")
    if unattributed:
        print(f"{unattributed:12.1f} {'':>8}  (no test running: start-up, collection, teardown)")
    return code


if __name__ == "__main__":
    sys.exit(main())
