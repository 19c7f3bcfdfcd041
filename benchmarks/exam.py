"""Benchmark: the whole exam through every tool, and what running runners side by side buys.

From one invocation it prints, per tool, the exam's wall time, the grid time through the
tool, the plain grid time run the same way and their ratio (the `overhead` check), and
the wall time of all runners with --jobs 1 and with --jobs 3 and the speed-up
(target >= 1.6x on 2 cores). Uses the criteria's [exam] (default: the full 3x3 grid on
sklearn:diabetes) unless --data/--target are given.

    python benchmarks/exam.py [--data ../shared/data/wine-quality.csv --target quality]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from mlops_compare import criteria, registry
from mlops_compare.executors.local import RunRequest, run_many


def run_all(exam: dict, jobs: int, tools: list[str], workdir: Path):
    start = time.perf_counter()
    records = asyncio.run(run_many([RunRequest(t, exam, workdir=workdir) for t in tools], jobs=jobs))
    return time.perf_counter() - start, records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--tool", action="append", default=[])
    args = parser.parse_args()
    exam = criteria.load(None).exam.to_dict()
    if args.data:
        exam["data"] = str(Path(args.data).resolve())
    if args.target:
        exam["target"] = args.target
    tools = args.tool or [t for t in registry.available()]
    print(f"data {exam['data']} target {exam['target']}, grid {exam['grid']}, tools {', '.join(tools)}")
    with tempfile.TemporaryDirectory(prefix="mlops-compare-exam-") as tmp:
        serial, records = run_all(exam, 1, tools, Path(tmp))
        parallel, _ = run_all(exam, 3, tools, Path(tmp))
    print(f"{'tool':<10}{'status':>9}{'exam s':>9}{'grid s':>9}{'plain s':>9}{'ratio':>8}  run as")
    for r in records:
        n = (r.checks.get("overhead") or {}).get("numbers", {})
        print(
            f"{r.tool:<10}{r.status:>9}{r.seconds:>9.1f}{n.get('tool_seconds', float('nan')):>9.2f}"
            f"{n.get('plain_seconds', float('nan')):>9.2f}{n.get('ratio', float('nan')):>8}  {n.get('process_setup', '-')}"
        )
        if r.status != "passed":
            print(f"  {r.tool}: {r.reason}")
    speedup = serial / parallel
    print(
        f"all runners --jobs 1: {serial:.1f} s; --jobs 3: {parallel:.1f} s; speed-up x{speedup:.2f}  target >= 1.6  {'OK' if speedup >= 1.6 else 'MISSED'}"
    )
    return 0 if all(r.status == "passed" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
