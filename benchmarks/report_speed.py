"""Benchmark: the decision report for every profile from stored results (target < 1 s each).

python benchmarks/report_speed.py [--store .mlops-compare]
"""

from __future__ import annotations

import argparse
import time

from mlops_compare import criteria
from mlops_compare.evidence import Evidence
from mlops_compare.report import decision_report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=".mlops-compare")
    args = parser.parse_args()
    c = criteria.load(None)
    for profile in c.profiles.values():
        start = time.perf_counter()
        evidence = Evidence.from_store(args.store)
        text = decision_report(c, profile, evidence)
        took = time.perf_counter() - start
        print(
            f"{profile.id:<20} {took * 1000:7.1f} ms  {len(text):6d} chars  {len(evidence.records)} stored tools  {'OK' if took < 1 else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
