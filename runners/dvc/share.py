"""DVC's `share` check: a second user clones the git remote and pulls from the DVC remote.

What a team shares with DVC is a git remote (code, pipeline, pointer files, experiments as
git refs) and a DVC remote (the bytes). Both are folders in ``<workspace>/shared/`` here,
standing for a git server and an NFS/SSH/S3 remote. The second user clones, pulls the data,
the models and the experiments, and reads them through DVC; experiment commits carry their
git author, which is how runs are told apart.
"""

from __future__ import annotations

import json
import time

from mlops_compare.example import common
from mlops_compare.runners.checks.share import SecondUser
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import METRICS, DvcRepo, _tool_env

# Run as the second user inside its clone: experiments through DVC's API, a model through
# dvc.api.open, experiment authors from the pulled git refs. Prints one JSON line.
READ_SHARED = r"""
import hashlib, json, pickle, subprocess, sys

import dvc.api
import pandas as pd

rows = json.load(open(sys.argv[1]))  # test rows to predict, from the first user
refs = subprocess.run(
    ["git", "for-each-ref", "--format=%(refname) %(objectname) %(authorname)", "refs/exps"],
    capture_output=True, text=True, check=True,
).stdout.split("\n")
exps = {}
for line in filter(None, refs):
    ref, sha, author = line.split(" ", 2)
    parts = ref.split("/")
    if len(parts) == 5:
        exps[parts[4]] = {"rev": sha, "baseline": parts[2] + parts[3], "author": author}
shown = dvc.api.exp_show(revs=sorted({e["baseline"] for e in exps.values()}))
for row in shown:
    name = row.get("Experiment")
    if name in exps:
        value = lambda key: next((v for k, v in row.items() if k.split(":")[-1] == key), None)
        exps[name]["params"] = {k: value(k) for k in ("alpha", "l1_ratio")}
        exps[name]["metrics"] = {m: value(m) for m in ("rmse", "mae", "r2")}
name = next((n for n in sorted(exps) if (exps[n].get("metrics") or {}).get("rmse") is not None), None)
predictions = None
if name:
    with dvc.api.open("model.pkl", rev=exps[name]["rev"], mode="rb") as handle:
        model = pickle.load(handle)
    predictions = model.predict(pd.DataFrame(rows["data"], columns=rows["columns"])).ravel().tolist()
data = hashlib.sha256(open("data.csv", "rb").read()).hexdigest()
head = subprocess.run(["git", "log", "-1", "--format=%an"], capture_output=True, text=True).stdout.strip()
print(json.dumps({"experiments": exps, "model_from": name, "predictions": predictions, "data_sha256": data, "head_author": head}))
"""


class ShareCheck(DvcRepo):
    def share(self, ctx: Context) -> Outcome:
        from sklearn.linear_model import ElasticNet

        start = time.perf_counter()
        shared = ctx.workspace / "shared"
        git_remote, dvc_remote = shared / "repo.git", shared / "dvc-remote"
        branch = self._git_out(ctx, "rev-parse", "--abbrev-ref", "HEAD")
        # First user: a bare git repository and a DVC remote stand for the team's servers.
        ctx.run(["git", "init", "-q", "--bare", f"--initial-branch={branch}", str(git_remote)])
        self._git(ctx, "remote", "add", "origin", str(git_remote))
        # In each user's own DVC config: the grid's experiments were made before any remote
        # existed, and DVC reads an experiment's remote from that experiment's commit.
        self._dvc(ctx, "remote", "add", "--global", "-d", "team", str(dvc_remote))
        self._dvc(ctx, "push", "-q")
        self._git(ctx, "push", "-q", "origin", branch)
        self._dvc(ctx, "exp", "push", "-q", "origin", "-A")  # experiment refs + their cached outputs
        first_seconds = time.perf_counter() - start

        # Second user: its own HOME and clone; only the two remotes connect it to the first.
        user = SecondUser(ctx, env={**_tool_env(), "DVC_SITE_CACHE_DIR": str(ctx.workspace / "user2" / "site_cache")})
        clone = user.root / "repo"
        user.run(["dvc", "remote", "add", "--global", "-d", "team", str(dvc_remote)])
        user.run(["git", "clone", "-q", str(git_remote), str(clone)])
        user.run(["dvc", "pull", common.DATA_FILE], cwd=clone)  # the data; models come with the experiments
        user.run(["dvc", "exp", "pull", "origin", "-A"], cwd=clone)
        _, test_x, _, _ = common.load_split(ctx.workspace)
        rows = user.root / "rows.json"
        rows.write_text(json.dumps({"columns": list(test_x.columns), "data": test_x.head(5).values.tolist()}))
        got = user.script("read_shared.py", READ_SHARED, str(rows), cwd=clone)
        seconds = time.perf_counter() - start

        # The grid's experiments as the second user sees them, against the first user's numbers.
        exps = got["experiments"]
        grid = {n: e for n, e in exps.items() if n in self.queued} if self.queued else exps
        reference = self.retrieved or ctx.baseline
        same_metrics = []
        for name, exp in grid.items():
            known = reference.get(common.point_key(float(exp["params"]["alpha"]), float(exp["params"]["l1_ratio"])))
            if known and all(exp["metrics"][m] is not None and float(exp["metrics"][m]) == known[m] for m in METRICS):
                same_metrics.append(name)
        model_ok = False
        if got["model_from"]:
            params = exps[got["model_from"]]["params"]
            fresh = ElasticNet(alpha=float(params["alpha"]), l1_ratio=float(params["l1_ratio"]))
            fresh.set_params(random_state=ctx.exam["random_state"]).fit(*common.load_split(ctx.workspace)[::2])
            model_ok = fresh.predict(test_x.head(5)).ravel().tolist() == got["predictions"]
        data_ok = got["data_sha256"] == common.sha256_file(ctx.workspace / common.DATA_FILE)
        authors = sorted({e["author"] for e in exps.values()})
        numbers = {
            "experiments_shared": len(exps),
            "grid_experiments": len(grid),
            "metrics_equal": len(same_metrics),
            "model_identical": int(model_ok),
            "data_identical": int(data_ok),
            "authors": len(authors),
            "first_user_seconds": round(first_seconds, 2),
            "seconds": round(seconds, 2),
        }
        evidence = (
            f"first user: bare git remote + DVC remote in shared/ (the DVC remote in each user's global config: a "
            f"remote committed after the experiments is not seen by them), `dvc push`, `git push`, `dvc exp push origin -A` "
            f"({first_seconds:.1f} s); second user (HOME {user.home.relative_to(ctx.workspace)}, USER {user.name}): "
            f"`git clone`, `dvc pull data.csv`, `dvc exp pull origin -A`, then dvc.api.exp_show lists {len(exps)} experiment(s) "
            f"({len(same_metrics)} of the grid's {len(ctx.points)} with params and metrics equal to the first user's), "
            f"dvc.api.open('model.pkl', rev=<{got['model_from']}>) gives {'identical' if model_ok else 'DIFFERENT'} "
            f"predictions to a fresh fit, data.csv from the DVC remote is {'identical' if data_ok else 'DIFFERENT'} "
            f"(sha256); whose run: each experiment is a git commit with its author "
            f"({', '.join(authors) or 'none'}; the clone's HEAD by {got['head_author']!r}), no user field of DVC's own; "
            f"{seconds:.1f} s in all"
        )
        ok = len(same_metrics) == len(ctx.points) and model_ok and data_ok and all(authors)
        return Outcome("pass" if ok else "fail", evidence, numbers)
