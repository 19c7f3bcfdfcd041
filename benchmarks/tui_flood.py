"""Benchmark: three runners flooding the TUI with 20,000 lines/s each for 10 s while keys are pressed.

The TUI runs for real on a 160x48 pseudo-terminal (every runner pane and its log visible,
the worst case for repainting), started through the core launcher like `mlops-compare run`;
the runners are `flood_runner.py` (a fake runner, not an entry point: the child process
points the registry at it). While they flood, this script sets the weight of the selected
checkpoint with a digit key four times a second and measures key-to-repaint: the time
until the screen shows the new weight in the table *and* the rescored scoreboard. It
samples the TUI's RSS, and at the end checks that every line of every runner reached the
results store, in order.

Targets: key-to-repaint p95 < 100 ms, RSS < 300 MB, every line in the store.

    python benchmarks/tui_flood.py [--rate 20000] [--seconds 10] [--runners 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pty_screen import PtyApp, Screen  # noqa: E402

SIZE = (160, 48)
KEYS = "5182907364"  # the weights the first checkpoint (General design, file weight 3) is set to in turn
TIMEOUT = 3.0  # a repaint that takes longer is counted as this


def child(store_dir: str, runners: int) -> int:
    """The TUI itself, with the registry pointing at the flood runner."""
    from mlops_compare import criteria, registry
    from mlops_compare.store import Store
    from mlops_compare.tui.app import MlopsCompareApp

    names = [f"flood{i}" for i in range(1, runners + 1)]
    registry.available = lambda: {n: registry.RunnerInfo(n, "flood_runner", "Flood") for n in names}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    app = MlopsCompareApp(criteria.load(None), store=Store(store_dir), runners=names, jobs=runners)
    return app.run() or 0


def expected_scores(weight: float) -> dict[str, str]:
    from mlops_compare import criteria
    from mlops_compare.scoring.summary import summarize

    loaded = criteria.load(None)
    profile = loaded.profiles[loaded.default_profile].with_weights({loaded.checkpoints[0].id: weight})
    summary = summarize(loaded, profile)
    return {loaded.tools[t].name: f"{s:4.2f}" for t, s in summary.scores.items()}


def weight_shown(screen: Screen, weight: str) -> bool:
    row = re.search(r"General design\s+(\d+)(?: \*)?\s", screen.text())
    return row is not None and row.group(1) == weight


def repainted(screen: Screen, weight: str, scores: dict[str, str]) -> bool:
    text = screen.text()
    if not weight_shown(screen, weight):
        return False
    for name, score in scores.items():
        line = re.search(rf"#\d {re.escape(name)}\s+[█░]+\s+(\d\.\d\d)", text)
        if line is None or line.group(1) != score:
            return False
    return True


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def verify_store(store_dir: Path, runners: int, total: int) -> list[str]:
    from mlops_compare.store import Store

    sys.path.insert(0, str(HERE))
    from flood_runner import line

    problems = []
    latest = Store(store_dir).latest()
    for i in range(1, runners + 1):
        tool = f"flood{i}"
        record = latest.get(tool)
        if record is None:
            problems.append(f"{tool}: no record in the store")
            continue
        if record.status != "passed":
            problems.append(f"{tool}: status {record.status} ({record.reason})")
        expected = [line(tool, n) for n in range(total)]
        if record.log != expected:
            missing = len(set(expected) - set(record.log))
            problems.append(f"{tool}: {len(record.log)} lines stored, {missing} missing or out of order")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20_000, help="lines per second per runner")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--child", metavar="STORE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.runners)

    total = int(args.rate * args.seconds)
    with tempfile.TemporaryDirectory(prefix="mlops-compare-flood-") as tmp:
        root = Path(tmp)
        store = root / ".mlops-compare"
        env = {**os.environ, "FLOOD_RATE": str(args.rate), "FLOOD_SECONDS": str(args.seconds)}
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(store), "--runners", str(args.runners)]
        app = PtyApp(argv, *SIZE, cwd=root, env=env)
        app.wait_for(lambda s: "General design" in s.text() and re.search(r"#1 \S+ +[█░]+ \d\.\d\d", s.text()), 60)
        app.wait_for(lambda s: re.search(r"P\(1st\) +\d+\.\d%", s.text()), 60)
        app.send("r")
        started = time.perf_counter()
        latencies: list[float] = []
        cell_latencies: list[float] = []
        peak = 0.0
        done_pattern = re.compile("|".join(rf"flood{i} ✓" for i in range(1, args.runners + 1)))
        index = 0
        while True:
            key = KEYS[index % len(KEYS)]
            index += 1
            scores = expected_scores(float(key))
            sent = time.perf_counter()
            app.send(key)
            try:
                cell_latencies.append(app.wait_for(lambda s, k=key: weight_shown(s, k), TIMEOUT))
                latencies.append(
                    cell_latencies[-1] + app.wait_for(lambda s, k=key, e=scores: repainted(s, k, e), TIMEOUT)
                )
            except TimeoutError:
                latencies.append(TIMEOUT)
            peak = max(peak, rss_mb(app.proc.pid))
            finished = len(done_pattern.findall(app.screen.lines()[0])) == args.runners
            if finished and time.perf_counter() - started > args.seconds:
                break
            if time.perf_counter() - started > args.seconds * 6 + 60:
                print("the runs did not finish in time", file=sys.stderr)
                break
            while time.perf_counter() - sent < 0.25:  # four keys a second, reading all the while
                app.pump(0.01)
        flood_seconds = time.perf_counter() - started
        hwm = rss_mb(app.proc.pid, "VmHWM")
        for _ in range(60):  # the last records may still be being saved: the quit dialog says so
            app.send("q")
            try:
                app.wait_for(lambda s: "still active" in s.text(), 1.0)
            except (TimeoutError, RuntimeError):
                break
            app.send("n")
            time.sleep(0.5)
        code = app.close(60)
        problems = verify_store(store, args.runners, total)

    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(
        f"{args.runners} runners x {args.rate:,} lines/s x {args.seconds:g} s = {args.runners * total:,} lines; "
        f"all runs finished after {flood_seconds:.1f} s; TUI exit code {code}"
    )
    print(
        f"key-to-repaint (weight cell and rescored scoreboard), {len(latencies)} keys: "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms  "
        f"target p95 < 100 ms  {'OK' if p95 < 0.1 else 'MISSED'}"
    )
    print(
        f"  of which the weight cell alone: p50 {statistics.median(cell_latencies) * 1000:.0f} ms, "
        f"p95 {percentile(cell_latencies, 0.95) * 1000:.0f} ms"
    )
    print(
        f"TUI RSS: peak sampled {peak:.0f} MB, high-water mark {hwm:.0f} MB  target < 300 MB  "
        f"{'OK' if max(peak, hwm) < 300 else 'MISSED'}"
    )
    print("every line in the store, in order: " + ("OK" if not problems else "MISSED: " + "; ".join(problems)))
    return 0 if not problems and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
