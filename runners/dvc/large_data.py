"""DVC's `large_data` check: ``dvc add`` + ``dvc push``, ``dvc exp run``, ``dvc pull``, at every size.

Each size gets its own git + DVC repository (initialised as in `setup`, not measured) with
a local remote: a folder in the workspace, or, when ``[exam.storage] shared_path`` is set,
a folder under that shared path (removed after the size). Reading back is the fresh-clone
case: the working copy and DVC's local cache are deleted, and ``dvc pull`` brings the
bytes back from the remote.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import large_data as scaling
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _tool_env
from mlops_compare.runners.measures import dir_size

SHARED_FOLDER = "mlops-compare-large-data"


class DvcScale(scaling.ScaleSteps):
    label = "dvc"
    describe = (
        "`dvc add` + `dvc push` to a local remote; `dvc exp run -S` at one grid point; `dvc pull` into an emptied cache"
    )
    warm = ("dvc.cli", "dvc.repo")

    def _remote(self, folder: Path) -> Path:
        shared = (self.ctx.exam.get("storage") or {}).get("shared_path")
        if shared:
            return Path(shared) / SHARED_FOLDER / f"{self.ctx.workspace.name}-{folder.parent.name}"
        return folder.parent / "dvc-remote"

    def _run(self, folder: Path, *argv: str) -> str:
        return self.ctx.run(list(argv), cwd=folder, env=_tool_env())

    def prepare(self, folder: Path) -> None:
        self.copy_example("dvc", folder)
        site_cache = folder / ".dvc" / "tmp" / "site_cache"
        self._run(folder, "git", "init", "-q")
        self._run(folder, "dvc", "init", "-q")
        self._run(folder, "dvc", "config", "--local", "core.analytics", "false")
        self._run(folder, "dvc", "config", "--local", "core.site_cache_dir", str(site_cache))
        self._run(folder, "dvc", "remote", "add", "-d", "--local", "store", str(self._remote(folder)))
        self._run(folder, "git", "add", "-A", ":!" + common.DATA_FILE)
        self._run(folder, "git", "commit", "-q", "-m", "exam code and pipeline")

    def register(self, folder: Path) -> scaling.Usage:
        added, _ = self.measure(["dvc", "add", "-q", common.DATA_FILE], folder, env=_tool_env())
        self._run(folder, "git", "add", common.DATA_FILE + ".dvc", ".gitignore")
        self._run(folder, "git", "commit", "-q", "-m", "data")
        pushed, _ = self.measure(["dvc", "push", "-q"], folder, env=_tool_env())
        return added + pushed

    def train(self, folder: Path, point: dict[str, float]) -> tuple[scaling.Usage, dict[str, float]]:
        argv = ["dvc", "exp", "run", "-S", f"alpha={point['alpha']!r}", "-S", f"l1_ratio={point['l1_ratio']!r}"]
        usage, _ = self.measure(argv, folder, env=_tool_env())
        import json

        metrics = json.loads((folder / "metrics.json").read_text())
        return usage, {k: float(v) for k, v in metrics.items()}

    def read_back(self, folder: Path) -> scaling.Usage:
        shutil.rmtree(folder / ".dvc" / "cache")  # a fresh clone's state: only the remote has the bytes
        usage, _ = self.measure(["dvc", "pull", "-q", common.DATA_FILE], folder, env=_tool_env())
        return usage

    def stored(self, folder: Path) -> int:
        return dir_size(folder / ".dvc" / "cache", self._remote(folder))

    def finish(self, folder: Path) -> None:
        remote = self._remote(folder)
        if not remote.is_relative_to(self.ctx.workspace):
            shutil.rmtree(remote, ignore_errors=True)


class LargeDataCheck(DvcRepo):
    def large_data(self, ctx: Context) -> Outcome:
        return scaling.run_check(ctx, DvcScale(ctx))
