"""How fast this machine is right now: a yardstick for timings taken at different hours.

    python3 benchmarks/machine_speed.py            # before and after a suite run, on the idle machine
    python3 benchmarks/machine_speed.py --repeat 9

The development machine's speed moves by a quarter from one hour to the next (README:
Testing), so a suite or exam time means little without the speed it was taken at. Two
figures, each the median of --repeat tries, both CPU-bound and free of the project's code:

- **loop**: CPU seconds of a fixed pure-Python loop in this interpreter;
- **import**: wall seconds for the plain runner's tool environment (the shipped criteria's,
  if built; else this interpreter) to start and import scikit-learn and pandas, which is
  what most of the suite's ~2,700 processes begin with.

Run it on the idle machine right before and after the timing it qualifies; the README's
table of suite runs gives both next to each run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMPORT = "import sklearn.linear_model, pandas"


def loop_seconds() -> float:
    began, total = time.process_time(), 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.process_time() - began


def plain_python() -> str:
    """The interpreter of the plain runner's tool environment when it is built, else this one."""
    from mlops_compare import criteria, envs, plan

    shipped = criteria.load(ROOT / "criteria.toml")
    found = plan.tool_environment(shipped, "plain", plan.candidates(shipped)["plain"])
    if found and "spec" in found:
        env = envs.Envs(Path(found["root"])).find(envs.Spec.from_dict(found["spec"]))
        if env is not None:
            return str(env.python)
    return sys.executable


def import_seconds(python: str) -> float:
    began = time.perf_counter()
    subprocess.run([python, "-c", IMPORT], check=True)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="tries per figure (median; default 5)")
    args = parser.parse_args()
    python = plain_python()
    loop = statistics.median(loop_seconds() for _ in range(args.repeat))
    imports = statistics.median(import_seconds(python) for _ in range(args.repeat))
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{stamp}: loop {loop:.3f} s, import {imports:.2f} s ({python})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
