"""Benchmark: `mlops-compare score --format md` against `dvc exp show --md`, same run.

Creates a small git + DVC repository with two experiments in a temporary folder, then
times both commands alternately (best of N and median; `score` both as repeated, with
P(first) remembered, and with that cache removed), and times the 10,000-sample
Monte-Carlo sensitivity in-process. Prints the figures and whether the targets hold:
score / dvc exp show <= 0.25, sensitivity < 16 ms.

    python benchmarks/score_speed.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_dvc_repo(folder: Path, env: dict[str, str]) -> None:
    def run(*argv: str) -> None:
        subprocess.run(argv, cwd=folder, env=env, check=True, capture_output=True)

    (folder / "train.py").write_text(
        "import json, yaml\np = yaml.safe_load(open('params.yaml'))\njson.dump({'score': p['alpha'] * 2}, open('metrics.json', 'w'))\n"
    )
    (folder / "params.yaml").write_text("alpha: 0.5\n")
    (folder / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n    params: [alpha]\n    metrics:\n      - metrics.json:\n          cache: false\n"
    )
    run("git", "init", "-q")
    run("dvc", "init", "-q")
    run("dvc", "config", "core.analytics", "false")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "init")
    for alpha in ("0.1", "0.9"):
        run("dvc", "exp", "run", "-S", f"alpha={alpha}")


def isolated_env(home: Path) -> dict[str, str]:
    """The environment for the DVC side: its own HOME and git identity, no analytics.

    Without PYTHONDONTWRITEBYTECODE (some shells and tools set it): programs run as installed,
    with bytecode. Textual, DVC and the rest have theirs compiled in site-packages; an
    editable mlops-compare would otherwise compile its ~50 modules from source at every start
    (about 0.5 s of `compile` measured at load average 20). The benches' warm-up runs write it.
    """
    return {
        **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@invalid",
        "DVC_NO_ANALYTICS": "1",
    }


@contextlib.contextmanager
def dvc_bench_repo():
    """A temporary small git + DVC repo with two experiments: yields (root, repo, env)."""
    with tempfile.TemporaryDirectory(prefix="mlops-compare-bench-") as tmp:
        root = Path(tmp)
        repo, home = root / "repo", root / "home"
        repo.mkdir()
        home.mkdir()
        env = isolated_env(home)
        make_dvc_repo(repo, env)
        yield root, repo, env


def find_dvc() -> str | None:
    """`dvc` on PATH, else in a tool environment (mlops-compare envs) that holds DVC; its folder
    goes first on this process's PATH, so the benches' `dvc ...` commands run it."""
    found = shutil.which("dvc")
    with contextlib.suppress(Exception):
        if not found:
            from mlops_compare import envs

            root = envs.default_root()
            found = next((str(c) for c in sorted(root.glob("*/bin/dvc")) if os.access(c, os.X_OK)), None)
    if found:
        os.environ["PATH"] = str(Path(found).parent) + os.pathsep + os.environ.get("PATH", "")
    return found


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if find_dvc() is None:
        print(
            "no dvc: `mlops-compare envs --prepare` builds DVC's tool environment (or pip install dvc)", file=sys.stderr
        )
        return 2
    with dvc_bench_repo() as (root, repo, env):
        score_cmd = [sys.executable, "-m", "mlops_compare", "score", "--format", "md", "--store", str(root / "none")]
        dvc_cmd = ["dvc", "exp", "show", "--md"]
        # P(first) is remembered between calls (mlops_compare.scoring.sensitivity_cache; the store "none"
        # does not exist, so in the bench HOME's cache folder): timed warm, as a repeated score
        # is, and cold, with that file removed first (numpy imported, P(first) computed)
        cache = Path(env.get("XDG_CACHE_HOME") or Path(env["HOME"]) / ".cache") / "mlops-compare" / "p-first.json"
        timed(score_cmd, repo, env)  # warm the file cache for both
        timed(dvc_cmd, repo, env)
        score_t, cold_t, dvc_t = [], [], []
        for _ in range(args.repeat):
            score_t.append(timed(score_cmd, repo, env))
            cache.unlink(missing_ok=True)
            cold_t.append(timed(score_cmd, repo, env))
            dvc_t.append(timed(dvc_cmd, repo, env))

    from mlops_compare import criteria, scoring

    c = criteria.load(criteria.SHIPPED)
    weights, ratings = c.profiles[c.default_profile].weights, c.ratings()
    scoring.p_first(weights, ratings)  # numpy import and warm-up
    mc = []
    for _ in range(20):
        start = time.perf_counter()
        scoring.p_first(weights, ratings, samples=10_000)
        mc.append(time.perf_counter() - start)

    ratio = statistics.median(score_t) / statistics.median(dvc_t)
    print(
        f"mlops-compare score --format md: median {statistics.median(score_t) * 1000:.0f} ms, best {min(score_t) * 1000:.0f} ms"
    )
    print(
        f"  the same, P(first) not cached: median {statistics.median(cold_t) * 1000:.0f} ms, best {min(cold_t) * 1000:.0f} ms"
    )
    print(
        f"dvc exp show --md:               median {statistics.median(dvc_t) * 1000:.0f} ms, best {min(dvc_t) * 1000:.0f} ms"
    )
    print(f"ratio (medians): {ratio:.3f}  target <= 0.25  {'OK' if ratio <= 0.25 else 'MISSED'}")
    print(f"ratio (medians), P(first) not cached: {statistics.median(cold_t) / statistics.median(dvc_t):.3f}")
    print(
        f"Monte-Carlo sensitivity, 10,000 samples: median {statistics.median(mc) * 1000:.2f} ms, best {min(mc) * 1000:.2f} ms  target < 16 ms  {'OK' if statistics.median(mc) < 0.016 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
