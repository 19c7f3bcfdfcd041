"""Benchmark: the whole exam through every tool, and what running runners side by side buys.

From one invocation it prints, per tool, the exam's wall time, the grid time through the
tool, the plain grid time run the same way and their ratio (the `overhead` check), and
the wall time of all runners with --jobs 1 and with --jobs 3 and the speed-up
(target >= 1.6x on 2 cores). Uses the criteria's [exam] (default: the full 3x3 grid on
sklearn:diabetes) unless --data/--target are given.

    python benchmarks/exam.py [--data ../shared/data/wine-quality.csv --target quality]

Where the default exam's time goes: `--per-check` runs the shipped criteria's whole exam
(storage, large data: what `mlops-compare run` runs) through each tool one at a time, into a
results store, and prints the seconds of every check per tool, the sizes large_data
measured, and an estimate of the whole exam at --jobs 2 (the runners' wall times packed on
two slots in order). `--from-store DIR` prints the same table from a store's newest record
per tool (e.g. after `mlops-compare run`).

    python benchmarks/exam.py --per-check [--tool dvc] [--store DIR]
    python benchmarks/exam.py --from-store .mlops-compare
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


def packed(seconds: list[float], slots: int = 2) -> float:
    """Wall time of runs taken in order by the first free of *slots* (as `run --jobs` does)."""
    free = [0.0] * slots
    for s in seconds:
        free[free.index(min(free))] += s
    return max(free, default=0.0)


def per_check_table(records) -> str:
    """Seconds per check (rows) and tool (columns), the runner's wall time and the sizes it measured."""
    from mlops_compare.events import CHECK_IDS

    tools = [r.tool for r in records]
    lines = ["| check | " + " | ".join(tools) + " |", "|---|" + "---:|" * len(tools)]
    for cid in CHECK_IDS:
        cells = []
        for r in records:
            c = r.checks.get(cid) or {}
            cells.append("-" if c.get("status") in (None, "skip") else f"{float(c.get('seconds') or 0):.1f}")
        if any(x != "-" for x in cells):
            lines.append(f"| {cid} | " + " | ".join(cells) + " |")
    lines.append(
        "| sum of checks | "
        + " | ".join(f"{sum(float(c.get('seconds') or 0) for c in r.checks.values()):.1f}" for r in records)
        + " |"
    )
    lines.append("| runner wall | " + " | ".join(f"**{r.seconds:.1f}**" for r in records) + " |")
    walls = [r.seconds for r in records]
    lines.append("")
    longest = sorted(walls, reverse=True)  # the order `run` starts them once each has a stored run
    lines.append(
        f"one after another: {sum(walls):.0f} s; estimated at --jobs 2: {packed(walls):.0f} s in the order"
        f" above, {packed(longest):.0f} s longest first; at best (two even slots) {sum(walls) / 2:.0f} s"
    )
    for r in records:
        numbers = (r.checks.get("large_data") or {}).get("numbers") or {}
        if numbers.get("rows"):
            lines.append(f"{r.tool}: large_data measured rows {numbers['rows']}")
        if r.status != "passed":
            lines.append(f"{r.tool}: {r.status} {r.reason}")
    return "\n".join(lines)


def per_check(args) -> int:
    from mlops_compare import plan
    from mlops_compare.store import Store

    c = criteria.load(args.criteria)
    exam = plan.exam_for(c)
    tools = args.tool or list(registry.available())
    store = Store(args.store) if args.store else None
    print(
        f"criteria {c.path}; data {exam['data']}; grid {exam['grid']}; tables {sorted(k for k in exam if isinstance(exam[k], dict) and k != 'grid')}"
    )
    if "large_data" in exam:
        print(f"large_data rows {exam['large_data'].get('rows')}")
    records = []
    with tempfile.TemporaryDirectory(prefix="mlops-compare-exam-") as tmp:
        for tool in tools:  # one at a time: each runner's seconds without a neighbour's load
            request = RunRequest(tool, exam, timeout=c.exam.timeout, workdir=Path(tmp))
            records += asyncio.run(run_many([request], jobs=1, store=store))
            print(f"{tool}: {records[-1].status} in {records[-1].seconds:.1f} s", flush=True)
    print(per_check_table(records))
    return 0 if all(r.status == "passed" for r in records) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--target")
    parser.add_argument("--tool", action="append", default=[])
    parser.add_argument("--per-check", action="store_true", help="the shipped exam per tool, seconds per check")
    parser.add_argument("--criteria", help="criteria file for --per-check (default: as mlops-compare finds it)")
    parser.add_argument("--store", help="results store for --per-check's records")
    parser.add_argument("--from-store", metavar="DIR", help="print the per-check table from a store and exit")
    args = parser.parse_args()
    if args.from_store:
        from mlops_compare.store import Store

        latest = Store(args.from_store).latest()
        tools = args.tool or [t for t in registry.available() if t in latest]
        print(per_check_table([latest[t] for t in tools if t in latest]))
        return 0
    if args.per_check:
        return per_check(args)
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
