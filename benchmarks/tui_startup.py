"""Benchmark: time from starting `mlops-compare` to its first interactive frame, vs `dvc exp show --md`.

The TUI runs on a real pseudo-terminal (80x24, as over SSH) in a tiny git + DVC repository
made in a temporary folder (the same one `score_speed.py` uses); the clock stops when the
screen shows the scored ranking and the checkpoint table, i.e. when the user can act on
it. `dvc exp show --md` is timed in the same repository, alternating with the TUI.
Prints the medians and the ratio; the target is <= 0.5.

    python benchmarks/tui_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pty_screen import PtyApp, Screen  # noqa: E402
from score_speed import dvc_bench_repo, timed  # noqa: E402

TARGET = 0.5


SCORED = re.compile(r"#1 \S+ +[█░]+ \d\.\d\d")  # a ranked tool with its bar and score
SENSITIVITY = re.compile(r"P\(1st\) +\d+\.\d%")  # P(first) computed (it needs numpy, so it may come later)


def interactive(screen: Screen) -> bool:
    """The checkpoint table, the ranked scores and the key bar are drawn: the user can act."""
    text = screen.text()
    return bool(SCORED.search(text)) and "Checkpoint" in text and "quit" in text


def with_sensitivity(screen: Screen) -> bool:
    return interactive(screen) and bool(SENSITIVITY.search(screen.text()))


def tui_command() -> list[str]:
    script = shutil.which("mlops-compare")
    return [script] if script else [sys.executable, "-m", "mlops_compare"]


def time_tui(cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the first interactive frame, and to the frame with P(first) filled in."""
    start = time.perf_counter()
    app = PtyApp(tui_command(), 80, 24, cwd=cwd, env=env)
    app.wait_for(interactive, timeout=60)
    first = time.perf_counter() - start
    app.wait_for(with_sensitivity, timeout=60)
    full = time.perf_counter() - start
    app.send("q")
    if app.close() != 0:
        raise RuntimeError("the TUI did not exit cleanly:\n" + app.screen.text())
    return first, full


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("dvc") is None:
        print("dvc is not installed: pip install dvc", file=sys.stderr)
        return 2
    with dvc_bench_repo() as (_, repo, env):
        dvc_cmd = ["dvc", "exp", "show", "--md"]
        time_tui(repo, env)  # warm the file cache for both
        timed(dvc_cmd, repo, env)
        tui_t, full_t, dvc_t = [], [], []
        for _ in range(args.repeat):
            first, full = time_tui(repo, env)
            tui_t.append(first)
            full_t.append(full)
            dvc_t.append(timed(dvc_cmd, repo, env))

    tui, full, dvc = statistics.median(tui_t), statistics.median(full_t), statistics.median(dvc_t)
    ratio = tui / dvc
    print(f"command: {' '.join(tui_command())}")
    print(
        f"TUI start to first interactive frame (80x24 pty): median {tui * 1000:.0f} ms, best {min(tui_t) * 1000:.0f} ms"
    )
    print(
        f"TUI start to P(first) on screen:                  median {full * 1000:.0f} ms, best {min(full_t) * 1000:.0f} ms"
    )
    print(
        f"dvc exp show --md:                                median {dvc * 1000:.0f} ms, best {min(dvc_t) * 1000:.0f} ms"
    )
    print(
        f"ratio (medians, first interactive frame): {ratio:.2f}  target <= {TARGET}  {'OK' if ratio <= TARGET else 'MISSED'}"
    )
    print(f"ratio (medians, with P(first)):           {full / dvc:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
