"""Wall time and peak memory of one command: ``python -m mlops_compare.runners.usage OUT -- ARGV...``.

Starts *ARGV*, waits for it with ``os.wait4`` and writes one JSON object to *OUT*:

``seconds``   wall time from start to exit (this wrapper's own start-up not included);
``max_rss``   bytes: the kernel's peak resident set of the largest single process of the
              command's tree (the command itself or any descendant it waited for), from
              the rusage ``wait4`` returns; exact, not sampled;
``tree_rss``  bytes: the largest *sum* of resident sets of the command and all its living
              descendants, sampled every 0.1 s with psutil (catches a parent and a child
              holding the same data at once; can miss a peak shorter than the interval);
``code``      the command's exit code (negative: killed by that signal).

Its output goes straight to this wrapper's stdout/stderr (the runner streams them as log
events through `Context.run`). The command dies with the wrapper (``PR_SET_PDEATHSIG``),
so a timeout that kills the wrapper does not leave the measured command running.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time

import psutil

PR_SET_PDEATHSIG = 1
SAMPLE_SECONDS = 0.1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the launcher's group kill still applies
        pass


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total


def measure(argv: list[str]) -> dict[str, float | int]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, preexec_fn=_die_with_parent)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            peak[0] = max(peak[0], _tree_rss(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    return {
        "seconds": seconds,
        "max_rss": int(usage.ru_maxrss) * 1024,  # Linux reports kilobytes
        "tree_rss": int(peak[0]),
        "code": os.waitstatus_to_exitcode(status),
    }


def main(args: list[str]) -> int:
    if len(args) < 3 or args[1] != "--":
        print("usage: python -m mlops_compare.runners.usage OUT -- ARGV...", file=sys.stderr)
        return 2
    out, argv = args[0], args[2:]
    result = measure(argv)
    with open(out, "w") as handle:
        json.dump(result, handle)
    code = int(result["code"])
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
