"""A fake runner for `tui_flood.py`: floods its event channel with log lines at a fixed rate.

Not registered as an entry point: the benchmark points the registry at it. It speaks the
runner event schema on stdout like a real runner, as started by the core launcher
(``python -m flood_runner --exam JSON --workspace DIR``). Every line carries its sequence
number, so the benchmark can check that each one reached the results store in order.

    FLOOD_RATE=20000 FLOOD_SECONDS=10 python benchmarks/flood_runner.py --workspace /tmp/x/mlops-compare-flood1-abc
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

TEXT = "lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor"


def line(tool: str, number: int) -> str:
    return f"{tool} {number:07d} {TEXT}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exam", default="{}")
    parser.add_argument("--workspace", default=".")
    args = parser.parse_args()
    # the launcher names the workspace mlops-compare-<tool>-<random>
    tool = Path(args.workspace).name.removeprefix("mlops-compare-").rsplit("-", 1)[0] or "flood"
    rate = int(os.environ.get("FLOOD_RATE", "20000"))
    total = int(rate * float(os.environ.get("FLOOD_SECONDS", "10")))
    out = sys.stdout.buffer
    head = '{"v": 1, "type": "log", "stream": "stdout", "line": "'
    start = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        if due <= sent:
            time.sleep(0.001)
            continue
        out.write("".join(f'{head}{line(tool, i)}"}}\n' for i in range(sent, due)).encode())
        out.flush()
        if due // rate != sent // rate:  # a progress event once a second
            progress = {"v": 1, "type": "progress", "k": due // rate, "n": total // rate, "label": "flood"}
            out.write((json.dumps(progress) + "\n").encode())
        sent = due
    elapsed = time.perf_counter() - start
    result = {"v": 1, "type": "result", "status": "passed", "tool": tool, "tool_version": ""}
    result["reason"] = f"sent {total} lines in {elapsed:.2f} s ({total / elapsed:,.0f} lines/s)"
    out.write((json.dumps(result) + "\n").encode())
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
