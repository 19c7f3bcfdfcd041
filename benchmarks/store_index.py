"""The results store at 1,000 runs: `score` and `report` against a store of 2 runs (issue 18).

Two stores of synthetic records (every check, ~70 KB of log each, as real runs hold):

- small: 2 runs (plain and mlflow, every check);
- large: 1,000 runs over five tools; each tool's runs alternate between full exams and
  reruns of a few checks (``--check grid``), newest last; the checks an ``[exam.<table>]``
  switches on were not configured (``skip``), so no run measures every check and, without
  the index, finding each check's newest run reads every file (issue 18: x1.76).

Each command runs as a fresh process (``python -m mlops_compare score --store ...``), small
and large alternating, ROUNDS times; the medians and their ratio are printed. The store's
index (``index.json``) is built by one run before timing (the first read after runs were
added reads them once); the cold build is timed apart. In-process, `Evidence.from_store`
is timed the same way. The target: large within 1.1x of small.

    python benchmarks/store_index.py [--runs 1000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = ("plain", "mlflow", "dvc", "metaflow", "dvc-mlflow")
LOG_LINE = "INFO 2026-12-04 10:00:00 a line of a tool's log, as runners stream them to the record " * 2


def record(tool: str, started: str, checks: list[str]) -> dict:
    from mlops_compare.events import CHECK_IDS, CHECKS_BY_ID
    from mlops_compare.results import RunRecord

    out = RunRecord(tool=tool, status="passed", tool_version="1.0", started_at=started, seconds=100.0)
    for check_id in checks or CHECK_IDS:
        # the checks an [exam.<table>] switches on (remote_storage, large_data, hpc, ...) were
        # not configured: "skip", as in most stores, so no run ever measures every check
        status = "skip" if CHECKS_BY_ID[check_id].enabled_by else "pass"
        out.checks[check_id] = {"status": status, "seconds": 1.0, "evidence": f"{check_id} ok", "numbers": {}}
    out.metrics = [{"alpha": 0.1, "l1_ratio": 0.5, "rmse": 0.7, "mae": 0.5, "r2": 0.3}] * 9
    out.log = [LOG_LINE] * 400
    return out.to_dict()


def fill(root: Path, runs: int) -> int:
    folder = root / "runs"
    folder.mkdir(parents=True)
    total = 0
    for i in range(runs):
        tool = TOOLS[i % len(TOOLS)] if runs > 2 else TOOLS[i]
        few = runs > 2 and (i // len(TOOLS)) % 2 == 1  # every other run of a tool: a rerun of a few checks
        stamp = f"2026{1 + i // 40000:02d}{1 + (i // 1440) % 28:02d}T{(i // 60) % 24:02d}{i % 60:02d}00{i:06d}Z"
        text = json.dumps(record(tool, f"2026-01-01T00:{i % 60:02d}:00+00:00", ["grid"] if few else []))
        (folder / f"{stamp}-{tool}.json").write_text(text)
        total += len(text)
    return total


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-compare-store-bench-") as tmp:
        small, large = Path(tmp) / "small", Path(tmp) / "large"
        fill(small, 2)
        size = fill(large, args.runs)
        print(f"stores: 2 runs; {args.runs} runs ({size / 1e6:.0f} MB)")
        command = [sys.executable, "-m", "mlops_compare"]
        cold = timed([*command, "score", "--store", str(large)])
        print(f"first score on the large store (builds index.json from every file): {cold:.2f} s")
        timed([*command, "score", "--store", str(small)])
        for name in ("score", "report"):
            times: dict[str, list[float]] = {"small": [], "large": []}
            for _ in range(args.rounds):
                for label, store in (("small", small), ("large", large)):
                    times[label].append(timed([*command, name, "--store", str(store)]))
            a, b = statistics.median(times["small"]), statistics.median(times["large"])
            print(f"{name}: 2 runs {a:.3f} s, {args.runs} runs {b:.3f} s (medians of {args.rounds}): x{b / a:.2f}")
        from mlops_compare.evidence import Evidence

        times = {"small": [], "large": []}
        for _ in range(args.rounds):
            for label, store in (("small", small), ("large", large)):
                started = time.perf_counter()
                Evidence.from_store(store)
                times[label].append(time.perf_counter() - started)
        a, b = statistics.median(times["small"]), statistics.median(times["large"])
        print(f"Evidence.from_store in-process: 2 runs {a * 1000:.1f} ms, {args.runs} runs {b * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
