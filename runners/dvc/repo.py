"""The git + DVC repository in the runner's workspace: commands, experiments and the queue.

DVC's queue workers detach into their own process groups (dvc-task's ``setpgid``), so the
launcher's process-group kill would not reach them: the runner stops them itself and
kills any process still working inside the workspace before it reports a result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import psutil
from mlops_compare.infra import proctree
from mlops_compare.runners.context import Context

METRICS = ("rmse", "mae", "r2")
JOBS = 2  # queue workers: the machine the study used has two cores
QUEUE_TIMEOUT = (120.0, 60.0)  # give up on the queue after 120 s + 60 s per grid point
QUEUE_START_TIMEOUT = 60.0
EXP_SHOW_TIMEOUT = 60.0  # seconds for one `dvc exp show --json`
IGNORED = ("/home/", "/tmp/", "/_plain/")  # launcher/runner folders kept out of git
VAR_TMP = Path("/var/tmp")
SITE_CACHE = Path(".dvc") / "tmp" / "site_cache"  # DVC's site cache, moved inside the workspace


def _tool_env() -> dict[str, str]:
    """Run the `dvc` of this interpreter (queue workers call `dvc` from PATH too)."""
    bindir = str(Path(sys.executable).parent)
    return {"PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def _var_tmp_snapshot() -> set[str]:
    """Every path under /var/tmp/dvc (DVC's default site cache dir on Linux)."""
    root = VAR_TMP / "dvc"
    if not root.exists():
        return set()
    return {str(p) for p in [root, *root.rglob("*")]}


def _site_cache_leaks(workspace: Path, before: set[str]) -> tuple[int, int]:
    """New paths under /var/tmp/dvc since *before*: (all of them, those of this workspace's repos).

    Other DVC users on the machine may write there too; DVC names each repository's folder
    by a token, and the tokens of this workspace's repos are the folders DVC made in the
    site cache dir configured inside the workspace.
    """
    new = _var_tmp_snapshot() - before
    mine_dir = workspace / SITE_CACHE / "repo"
    tokens = {p.name for p in mine_dir.iterdir()} if mine_dir.is_dir() else set()
    mine = {p for p in new if any(f"/repo/{t}" in p for t in tokens)}
    return len(new), len(mine)


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(float(a[m]) == float(b[m]) for m in METRICS)


class DvcRepo:
    """Running git and DVC in the workspace; mixed into `DvcRunner`."""

    # The runner's state the checks share (set by `DvcRunner`) and its class attributes (`Runner`).
    name: ClassVar[str]
    example: ClassVar[str]
    v1_rev: str
    var_tmp_before: set[str]
    queued: list[str]
    experiments: dict[str, dict[str, Any]]
    retrieved: dict[str, dict[str, float]]

    started = psutil.Process().create_time()  # processes older than this runner are not ours

    def _dvc(self, ctx: Context, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
        return ctx.run(["dvc", *args], env={**_tool_env(), **(env or {})}, check=check)

    def _git(self, ctx: Context, *args: str) -> str:
        return ctx.run(["git", *args])

    def _git_out(self, ctx: Context, *args: str) -> str:
        """A quiet git query (not logged line by line)."""
        return subprocess.run(
            ["git", *args], cwd=ctx.workspace, check=True, capture_output=True, text=True
        ).stdout.strip()

    def _queue_start(self, ctx: Context) -> None:
        """`dvc queue start -j N`, its output through a file: the workers it forks inherit the
        command's stdout, so a pipe would stay open until they exit."""
        ctx.run(["dvc", "queue", "start", "-j", str(JOBS)], env=_tool_env(), output="file", timeout=QUEUE_START_TIMEOUT)

    def _exp_show(self, ctx: Context, *extra: str) -> list[dict[str, Any]]:
        """`dvc exp show --json` parsed; the command is logged, its (long) JSON is not."""
        # timeout: seen once stuck on a lock held by a queue worker
        out = ctx.run(
            ["dvc", "exp", "show", "--json", *extra], env=_tool_env(), output="capture", timeout=EXP_SHOW_TIMEOUT
        )
        return json.loads(out)

    @staticmethod
    def _experiments(show: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Flatten `dvc exp show --json`: one dict per experiment under any baseline commit."""
        out = []
        for baseline in show:
            for exp in baseline.get("experiments") or []:
                executor = exp.get("executor") or {}
                for rev in exp.get("revs") or []:
                    data = rev.get("data") or {}
                    params = ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}
                    metrics = ((data.get("metrics") or {}).get("metrics.json") or {}).get("data") or {}
                    out.append(
                        {
                            "name": rev.get("name") or exp.get("name"),
                            "rev": rev.get("rev"),
                            "baseline": baseline.get("rev"),
                            "state": executor.get("state") or "success",
                            "params": params,
                            "metrics": metrics,
                            "deps": data.get("deps") or {},
                            "outs": data.get("outs") or {},
                        }
                    )
        return out

    def _exp_refs(self, ctx: Context) -> set[str]:
        """Experiment refs (refs/exps/<xx>/<baseline>/<name>): cheap to poll, no DVC start-up."""
        text = self._git_out(ctx, "for-each-ref", "--format=%(refname)", "refs/exps")
        return {ref for ref in text.splitlines() if len(ref.split("/")) == 5}

    def _leftovers(self, ctx: Context) -> list:
        """Processes this runner left running inside the workspace (DVC's detached queue workers)."""
        return proctree.working_in(ctx.workspace, started_after=self.started)

    def _stop_queue(self, ctx: Context, kill: bool = False) -> dict[str, int]:
        """Stop DVC's queue workers and make sure no process is left running in the workspace."""
        left = self._leftovers(ctx)
        numbers = {"processes_found": len(left), "killed": 0}
        if left:
            self._dvc(ctx, "queue", "stop", *(["--kill"] if kill else []), check=False)
            deadline = time.monotonic() + 20
            while (left := self._leftovers(ctx)) and time.monotonic() < deadline:
                time.sleep(0.5)
            numbers["killed"] = proctree.kill(left, grace=2)
            left = self._leftovers(ctx)
        numbers["processes_left"] = len(left)
        return numbers

    def _metrics_file(self, ctx: Context) -> dict[str, float]:
        return json.loads((ctx.workspace / "metrics.json").read_text())

    def _reap(self, ctx: Context) -> None:
        """SIGKILL whatever this runner left running in the workspace (no time for DVC)."""
        proctree.kill(self._leftovers(ctx))
