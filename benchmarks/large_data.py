"""Benchmark: the large_data check at 1M and 10M rows through every tool, one runner at a time.

Runs ``--check large_data`` (setup + the check) for each tool in turn (``--jobs 1``, so one
tool's memory peak never shares the machine with another's), printing progress as it goes,
then per size and tool: seconds to register / train / read back, the total and its ratio
to plain, the peak resident memory, the bytes the tool stored; then the growth exponents
and where each tool breaks. The data sets are generated once into the cache
(``~/.cache/mlops-compare/large-data`` unless criteria.toml says otherwise) and reused by
later runs; ``mlops-compare clean`` removes them. 10M rows is about 1 GB of CSV and takes
tens of minutes for all tools: run it in the background with its output in a file.

    python benchmarks/large_data.py [--rows 1000000 --rows 10000000] [--tool mlflow ...] [--store DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from mlops_compare import criteria, registry
from mlops_compare.checks.large_data import curves, default_cache
from mlops_compare.executors.local import RunRequest, run_many
from mlops_compare.plan import Choices, exam_for
from mlops_compare.store import Store


def table(records) -> str:
    head = (
        f"{'rows':>11}  {'tool':<9}{'register s':>11}{'train s':>9}{'read s':>8}{'total s':>9}{'x plain':>8}"
        f"{'peak GB':>8}{'stored MB':>10}  peak GB register/train/read"
    )
    lines = [head]
    for rows in sorted({s.rows for r in records.values() for s in curves(_numbers(r))}):
        for tool, record in records.items():
            size = next((s for s in curves(_numbers(record)) if s.rows == rows), None)
            if size is None:
                continue
            if not size.measured:
                why = size.get("skipped") or size.get("error") or "not measured"
                lines.append(f"{rows:>11,}  {tool:<9}{why}")
                continue
            figures = size.figures  # "x plain": against the plain baseline this runner measured itself
            lines.append(
                f"{rows:>11,}  {tool:<9}{figures['tool_register_s']:>11.2f}{figures['tool_train_s']:>9.2f}"
                f"{figures['tool_read_s']:>8.2f}{figures['tool_s']:>9.2f}{figures['ratio']:>8.1f}"
                f"{figures['tool_rss'] / 1e9:>8.2f}{figures['tool_stored'] / 1e6:>10.1f}  "
                + "/".join(f"{figures.get(f'tool_{step}_rss', 0) / 1e9:.2f}" for step in ("register", "train", "read"))
            )
    lines.append("")
    lines.append(f"{'tool':<9}{'time exp':>9}{'memory exp':>11}  breaks at")
    for tool, record in records.items():
        n = _numbers(record)
        exp = (
            f"{n['time_exponent']:>9.2f}{n['memory_exponent']:>11.2f}" if "time_exponent" in n else f"{'-':>9}{'-':>11}"
        )
        breaks = f"{n['breaks_at']:,} rows: {n['breaks_because']}" if n.get("breaks_at") else "does not break"
        check = record.checks.get("large_data") or {}
        lines.append(f"{tool:<9}{exp}  {breaks}  [{check.get('status', record.status)}]")
    return "\n".join(lines)


def _numbers(record) -> dict:
    return (record.checks.get("large_data") or {}).get("numbers") or {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", default=[])
    parser.add_argument("--tool", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per runner")
    parser.add_argument("--store", help="keep the run records here (for `mlops-compare report --store`)")
    args = parser.parse_args()
    loaded = criteria.load(None)
    exam = exam_for(loaded, Choices(checks=("large_data",)))
    settings = exam.setdefault("large_data", {"data": "", "slow_factor": 10.0})
    settings["rows"] = sorted(args.rows or [1_000_000, 10_000_000])
    settings.setdefault("cache", str(default_cache()))
    tools = args.tool or list(registry.available())
    print(f"large_data: rows {settings['rows']}, tools {', '.join(tools)}, cache {settings.get('cache')}", flush=True)
    start = time.perf_counter()

    def on_event(tool: str, event: dict) -> None:
        if event["type"] == "progress" and event["label"].startswith("large_data"):
            print(f"{time.perf_counter() - start:8.1f} s  {tool:<9}{event['label']}", flush=True)
        elif event["type"] == "log" and event["line"].startswith("large_data:"):
            print(f"{time.perf_counter() - start:8.1f} s  {tool:<9}{event['line']}", flush=True)

    store = Store(Path(args.store)) if args.store else None
    with tempfile.TemporaryDirectory(prefix="mlops-compare-large-") as tmp:
        requests = [RunRequest(t, exam, timeout=args.timeout, workdir=Path(tmp)) for t in tools]
        records = asyncio.run(run_many(requests, 1, on_event, store))
    print(f"\nall tools: {time.perf_counter() - start:.0f} s\n")
    by_tool = {r.tool: r for r in records}
    for record in records:
        if record.status != "passed":
            print(f"{record.tool}: {record.status} {record.reason}")
    print(table(by_tool))
    return 0 if all(r.status == "passed" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
