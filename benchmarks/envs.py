"""How long the comparer takes to install, and each tool's environment to build and to reuse (issue 16).

    python3 benchmarks/envs.py                 # comparer install + every runner's environment
    python3 benchmarks/envs.py --tool mlflow   # one tool's environment only
    python3 benchmarks/envs.py --skip-install  # environments only
    python3 benchmarks/envs.py --cold          # uv with an empty cache: every wheel from the index

1. The comparer: its wheel (built from this checkout without network) into a fresh
   `python -m venv` with the pip that venv bundles (ensurepip), dependencies resolved from
   the index the machine's pip is configured for; seconds and the number of distributions.
2. Each runner's tool environment (`mlops_compare.envs`, the shipped criteria) built into a
   fresh folder: seconds to build (uv resolving, linking from its cache, the runner code
   without dependencies), then to find it again (what a second `run` pays) and to start
   its interpreter importing the tool. Without --cold uv's cache is the user's (warm after
   the first build on this machine; the figure a second user or a new key pays).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlops_compare import criteria, envs, plan

ROOT = Path(__file__).resolve().parent.parent
IMPORTS = {"mlflow": "mlflow", "dvc": "dvc", "metaflow": "metaflow", "dvc-mlflow": "dvc, mlflow", "plain": "sklearn"}


def comparer_install(work: Path) -> tuple[float, int]:
    source = work / "src"
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".*cache")
    )
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = out.glob("mlops_compare-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip_version = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, text=True).stdout.split()[1]
    began = time.perf_counter()
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True)
    seconds = time.perf_counter() - began
    listed = json.loads(subprocess.run([python, "-m", "pip", "list", "--format", "json"], capture_output=True).stdout)
    print(f"comparer: pip {pip_version} installs the wheel with its dependencies in {seconds:.1f} s")
    print(f"comparer: {len(listed)} distributions in the venv (pip and setuptools included)")
    return seconds, len(listed)


def tool_envs(tools: list[str], root: Path) -> list[tuple[str, float, float, float, int]]:
    shipped = criteria.load(ROOT / "criteria.toml")
    known = plan.candidates(shipped)
    rows = []
    for tool in tools:
        found = plan.tool_environment(shipped, tool, known[tool])
        if found is None or "spec" not in found:
            print(f"{tool}: no environment ({(found or {}).get('error', 'MLOPS_COMPARE_ENVS=none')})")
            continue
        spec = envs.Spec.from_dict(found["spec"])
        where = envs.Envs(root)
        began = time.perf_counter()
        env = where.ensure(spec)
        build = time.perf_counter() - began
        began = time.perf_counter()
        again = where.ensure(spec)
        reuse = time.perf_counter() - began
        assert not again.built
        began = time.perf_counter()
        subprocess.run([env.python, "-c", f"import {IMPORTS.get(tool, 'sklearn')}"], check=True)
        start = time.perf_counter() - began
        count = len(env.versions())
        print(
            f"{tool}: built in {build:.1f} s ({count} distributions, {env.size() / 1e6:.0f} MB), "
            f"found again in {reuse * 1000:.1f} ms, its interpreter imports the tool in {start:.1f} s"
        )
        rows.append((tool, build, reuse, start, count))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", action="append", default=[], help="only these runners (default: every one)")
    parser.add_argument("--skip-install", action="store_true", help="leave out the comparer's install")
    parser.add_argument("--cold", action="store_true", help="uv with an empty cache (every wheel downloaded)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-compare-bench-envs-") as tmp:
        work = Path(tmp)
        if args.cold:
            os.environ["UV_CACHE_DIR"] = str(work / "uv-cache")
        if not args.skip_install:
            comparer_install(work / "install")
        tools = args.tool or list(plan.candidates(criteria.load(ROOT / "criteria.toml")))
        rows = tool_envs(tools, work / "envs")
        if rows:
            print("\n| tool | build | reuse (find) | interpreter start + import | distributions |")
            print("|---|---|---|---|---|")
            for tool, build, reuse, start, count in rows:
                print(f"| {tool} | {build:.1f} s | {reuse * 1000:.1f} ms | {start:.1f} s | {count} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
