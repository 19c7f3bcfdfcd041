"""Benchmark: mlops-compare's first frames against a bare-Textual floor and `dvc exp show --md`.

All on a real pseudo-terminal (80x24, as over SSH), in one run, alternating, in a tiny git +
DVC repository made in a temporary folder (the one `score_speed.py` uses). Timed per start:

- the floor: `bare_textual.py`, a Textual app with a DataTable of 15 rows and a Footer, until
  its last row and key bar are drawn;
- mlops-compare's first interactive frame (ranked scores, checkpoint table, key bar);
- its frame with P(first) filled in, twice: as a user starts it again (the results store's
  `sensitivity_cache` holds P(first) for the same criteria, weights and evidence) and cold
  (that cache removed first, so P(first) waits for numpy in a worker);
- `dvc exp show --md` (not a pty: it prints a table and exits).

Prints medians, best, and the ratios to the floor (targets: first frame and P(first) <= 1.3x)
and to `dvc exp show`. `dvc` is taken from PATH, else from a tool environment that holds DVC
(`mlops-compare envs`); without either, the DVC ratios are skipped with a message.

    python benchmarks/tui_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from pty_screen import PtyApp, Screen  # noqa: E402
from score_speed import dvc_bench_repo, find_dvc, isolated_env, timed  # noqa: E402

FLOOR_TARGET = 1.3  # x the bare-Textual floor
BARE = Path(__file__).with_name("bare_textual.py")
CACHE = Path(".mlops-compare") / "cache" / "p-first.json"  # sensitivity_cache.FILE in the default store
USER_CACHE = Path("mlops-compare") / "p-first.json"  # where it is while that store does not exist

SCORED = re.compile(r"#1 \S+ +[█░]+ \d\.\d\d")  # a ranked tool with its bar and score
SENSITIVITY = re.compile(r"P\(1st\) +\d+\.\d%")  # P(first) computed (it needs numpy, so it may come later)


def interactive(screen: Screen) -> bool:
    """The checkpoint table, the ranked scores and the key bar are drawn: the user can act."""
    text = screen.text()
    return bool(SCORED.search(text)) and "Checkpoint" in text and "quit" in text


def with_sensitivity(screen: Screen) -> bool:
    return interactive(screen) and bool(SENSITIVITY.search(screen.text()))


def bare_drawn(screen: Screen) -> bool:
    text = screen.text()
    return "Checkpoint" in text and "last" in text and "quit" in text


def tui_command() -> list[str]:
    """The console script a user starts, of this interpreter's install (a shim on PATH, pyenv's
    say, may pick another Python under the benchmark's own HOME), else ``python -m``."""
    beside = Path(sys.executable).parent / "mlops-compare"
    script = str(beside) if beside.exists() else shutil.which("mlops-compare")
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


def time_bare(cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    app = PtyApp([sys.executable, str(BARE)], 80, 24, cwd=cwd, env=env)
    app.wait_for(bare_drawn, timeout=60)
    took = time.perf_counter() - start
    app.send("q")
    if app.close() != 0:
        raise RuntimeError("the bare Textual app did not exit cleanly:\n" + app.screen.text())
    return took


@contextlib.contextmanager
def bench_folder(dvc: str | None):
    """The DVC repository (`find_dvc` put dvc's folder first on PATH), or a plain folder when there is no dvc."""
    if dvc is not None:
        with dvc_bench_repo() as (_, repo, env):
            yield repo, env
        return
    with tempfile.TemporaryDirectory(prefix="mlops-compare-bench-") as tmp:
        repo, home = Path(tmp) / "repo", Path(tmp) / "home"
        repo.mkdir()
        home.mkdir()
        yield repo, isolated_env(home)


def line(label: str, values: list[float]) -> str:
    return f"{label:<44} median {statistics.median(values) * 1000:5.0f} ms, best {min(values) * 1000:5.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    dvc = find_dvc()
    times: dict[str, list[float]] = {"bare": [], "first": [], "warm": [], "cold": [], "dvc": []}
    with bench_folder(dvc) as (repo, env):
        dvc_cmd = [dvc, "exp", "show", "--md"] if dvc else None
        time_bare(repo, env)  # warm the file cache for all
        time_tui(repo, env)  # also leaves P(first) in the store's cache
        if dvc_cmd:
            timed(dvc_cmd, repo, env)
        for _ in range(args.repeat):
            times["bare"].append(time_bare(repo, env))
            first, full = time_tui(repo, env)
            times["first"].append(first)
            times["warm"].append(full)
            (repo / CACHE).unlink(missing_ok=True)
            (Path(env.get("XDG_CACHE_HOME") or Path(env["HOME"]) / ".cache") / USER_CACHE).unlink(missing_ok=True)
            times["cold"].append(time_tui(repo, env)[1])  # puts the cache back for the next round
            if dvc_cmd:
                times["dvc"].append(timed(dvc_cmd, repo, env))

    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"command: {' '.join(tui_command())}; 80x24 pty; {args.repeat} rounds, alternating")
    print(line("bare Textual (DataTable 15 rows + Footer):", times["bare"]))
    print(line("mlops-compare first interactive frame:", times["first"]))
    print(line("mlops-compare with P(first), cache warm:", times["warm"]))
    print(line("mlops-compare with P(first), cache cold:", times["cold"]))
    if dvc_cmd:
        print(line("dvc exp show --md:", times["dvc"]))
    else:
        print("dvc exp show --md: skipped, no dvc on PATH nor in a tool environment (mlops-compare envs --prepare)")
    print(f"ratios of medians          to the floor (target <= {FLOOR_TARGET})   to dvc exp show")
    for key, label in (("first", "first frame"), ("warm", "P(first), cache warm"), ("cold", "P(first), cache cold")):
        floor = med[key] / med["bare"]
        verdict = "OK" if floor <= FLOOR_TARGET else "MISSED"
        to_dvc = f"{med[key] / med['dvc']:.2f}" if "dvc" in med else "-"
        print(f"  {label:<24} {floor:5.2f} {verdict:<6}                 {to_dvc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
