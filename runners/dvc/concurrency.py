"""DVC under many writers: each task is `dvc exp run` of one point, in one shared repository or in a clone of it.

Mixed into `DvcRunner`. A fresh git + DVC repository on the shared path (the example's
pipeline, data.csv added to DVC) is what every task uses:

1. The tool's default way: every task runs ``dvc exp run -n conc-I -S alpha=A -S l1_ratio=L``
   in the shared repository itself. DVC's repository lock (``rw.lock``) is held by one
   command at a time, so parallel runs in one repository fail (treeverse/dvc#7419).
2. The documented workaround: a clone per task. Each task clones the shared repository,
   points its DVC cache at the shared one (so data.csv and outputs need no copying), runs the
   experiment there and pushes it back with ``dvc exp push origin conc-I --no-cache``.

Read back with ``dvc exp show --json`` in the shared repository; experiments are matched to
their task by name.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from mlops_compare.example import common
from mlops_compare.runners.checks import concurrency as many
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _tool_env

INPUTS = ("train.py", "common.py", "dvc.yaml", "params.yaml", common.EXAM_FILE, common.DATA_FILE)
# The workaround as a user writes it in the array script (arguments: task, alpha, l1_ratio).
CLONE_SCRIPT = """set -e
git clone -q "$REPO" "$CLONES/task-$1"
cd "$CLONES/task-$1"
dvc config --local cache.dir "$REPO/.dvc/cache"
dvc checkout data.csv
dvc exp run -n "conc-$1" -S "alpha=$2" -S "l1_ratio=$3"
dvc exp push origin "conc-$1" --no-cache
"""


class ConcurrencyCheck:
    def concurrency(self, ctx: Context) -> Outcome:
        return many.check(ctx, "dvc", lambda root: self._concurrency_variants(ctx, root))

    def _shared_repo(self, ctx: Context, folder: Path) -> Path:
        """A fresh repository as the user sets it up: git init, dvc init, dvc add data.csv, one commit."""
        many.copy_inputs(ctx, folder, INPUTS)
        env = {**_tool_env(), "DVC_SITE_CACHE_DIR": str(folder / ".dvc" / "tmp" / "site_cache")}
        for argv in (
            ["git", "init", "-q"],
            ["dvc", "init", "-q"],
            ["dvc", "config", "--local", "core.analytics", "false"],
            ["dvc", "config", "--local", "core.site_cache_dir", env["DVC_SITE_CACHE_DIR"]],
            ["dvc", "add", "-q", common.DATA_FILE],
            ["git", "add", "-A"],
            ["git", "commit", "-q", "-m", "concurrency: the shared repository"],
        ):
            ctx.run(argv, cwd=folder, env=env)
        return folder

    def _read(self, ctx: Context, repo: Path) -> list[many.Found]:
        import json

        text = ctx.run(["dvc", "exp", "show", "--json"], cwd=repo, env=_tool_env(), output="capture", timeout=300)
        found = []
        for exp in DvcRepo._experiments(json.loads(text)):
            name = str(exp.get("name") or "")
            if not name.startswith("conc-"):
                continue
            params, metrics = exp["params"], exp["metrics"]
            key = common.point_key(params["alpha"], params["l1_ratio"]) if {"alpha", "l1_ratio"} <= set(params) else "?"
            has = all(m in metrics for m in many.METRICS)
            found.append(many.Found(key, metrics if has else None, int(name.removeprefix("conc-"))))
        return found

    def _concurrency_variants(self, ctx: Context, root: Path) -> list[many.Variant]:
        points = many.points(ctx)
        env: dict[str, str | None] = dict(_tool_env())
        shared = self._shared_repo(ctx, many.fresh(root / "dvc-shared"))
        in_repo = [
            many.Task(
                i,
                p,
                [
                    "dvc",
                    "exp",
                    "run",
                    "-n",
                    f"conc-{i}",
                    "-S",
                    f"alpha={p['alpha']!r}",
                    "-S",
                    f"l1_ratio={p['l1_ratio']!r}",
                ],
                shared,
                env,
            )
            for i, p in enumerate(points)
        ]
        origin = self._shared_repo(ctx, many.fresh(root / "dvc-origin"))
        clones = many.fresh(root / "dvc-clones")
        script = root / "dvc-clone-task.sh"
        script.write_text(CLONE_SCRIPT)
        clone_env = {**env, "REPO": str(origin), "CLONES": str(clones)}
        per_clone = [
            many.Task(i, p, ["sh", str(script), str(i), repr(p["alpha"]), repr(p["l1_ratio"])], clones, clone_env)
            for i, p in enumerate(points)
        ]
        return [
            many.Variant(
                "`dvc exp run` in one shared repository",
                True,
                "<shared>/dvc-shared (git refs and .dvc/cache)",
                in_repo,
                lambda: self._read(ctx, shared),
            ),
            many.Variant(
                "a clone per task, `dvc exp push` back",
                False,
                "<shared>/dvc-origin (a clone per task, shared .dvc/cache)",
                per_clone,
                lambda: self._read(ctx, origin),
                note=f"the workaround is {len(CLONE_SCRIPT.splitlines())} lines of shell per task: {shlex.quote(CLONE_SCRIPT)}",
            ),
        ]
