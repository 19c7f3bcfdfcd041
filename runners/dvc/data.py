"""DVC's `data_versioning` and `reproduce` checks: pointer files in git, bytes in DVC's cache."""

from __future__ import annotations

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import METRICS, DvcRepo, _same, _site_cache_leaks


class DataChecks(DvcRepo):
    def data_versioning(self, ctx: Context) -> Outcome:
        data = ctx.workspace / common.DATA_FILE
        sha_v1 = common.sha256_file(data)
        # v1: run the pipeline (params.yaml defaults) and commit the result.
        self._dvc(ctx, "repro", "-q")
        m1 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "run on data v1")
        # v2: one more row (a copy of the last one), re-registered with `dvc add`, re-run, committed.
        lines = data.read_text().splitlines(keepends=True)
        last = lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"
        if not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        data.write_text("".join(lines) + last)
        sha_v2 = common.sha256_file(data)
        self._dvc(ctx, "add", "-q", common.DATA_FILE)
        self._dvc(ctx, "repro", "-q")
        m2 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "data v2: one row added")
        # Roll back through the tool: the v1 pointer from git, the v1 bytes from DVC's cache.
        self._git(ctx, "checkout", self.v1_rev, "--", "data.csv.dvc")
        self._dvc(ctx, "checkout", common.DATA_FILE)
        sha_back = common.sha256_file(data)
        # --force: really execute the stage (DVC's run cache could otherwise restore the v1 result).
        self._dvc(ctx, "repro", "-q", "--force")
        m3 = self._metrics_file(ctx)
        self._git(ctx, "add", "-A")
        self._git(ctx, "commit", "-q", "-m", "roll back to data v1")
        sha_ok = sha_back == sha_v1 == ctx.dataset.get("normalised_sha256", sha_v1)
        metrics_back = _same(m3, m1)
        changed = not _same(m2, m1) and sha_v2 != sha_v1
        numbers = {
            "rows_v1": ctx.dataset.get("rows", 0),
            "rows_v2": ctx.dataset.get("rows", 0) + 1,
            "sha256_restored": int(sha_ok),
            "metrics_restored": int(metrics_back),
            "v2_changed_metrics": int(changed),
            "rmse_v1": m1["rmse"],
            "rmse_v2": m2["rmse"],
            "rmse_back": m3["rmse"],
        }
        evidence = (
            f"v1 registered with `dvc add` and committed; v2 = v1 + a copy of the last row, `dvc add` + `dvc repro` "
            f"(rmse {m1['rmse']:.6f} -> {m2['rmse']:.6f}); rolled back with `git checkout <v1> -- data.csv.dvc` + "
            f"`dvc checkout data.csv`: sha256 {'==' if sha_ok else '!='} v1 ({sha_back[:12]}), "
            f"`dvc repro --force` metrics {'==' if metrics_back else '!='} v1 metrics"
        )
        return Outcome("pass" if sha_ok and metrics_back and changed else "fail", evidence, numbers)

    def reproduce(self, ctx: Context) -> Outcome:
        import yaml

        # The record: an experiment as `dvc exp show` lists it (experiments of the v1 commit).
        exps = [e for e in self._experiments(self._exp_show(ctx, "--rev", self.v1_rev)) if e["metrics"]]
        if not exps:
            return Outcome("fail", "`dvc exp show` lists no finished experiment to reproduce")
        exp = sorted(exps, key=lambda e: (float(e["params"]["alpha"]), float(e["params"]["l1_ratio"])))[0]
        self._dvc(ctx, "exp", "apply", exp["name"])
        (ctx.workspace / "metrics.json").unlink(missing_ok=True)
        self._dvc(ctx, "repro", "-q", "--force")
        got = self._metrics_file(ctx)
        params = yaml.safe_load((ctx.workspace / "params.yaml").read_text())
        params_ok = all(float(params[k]) == float(exp["params"][k]) for k in ("alpha", "l1_ratio"))
        lock = yaml.safe_load((ctx.workspace / "dvc.lock").read_text())["stages"]["train"]
        deps_now = {d["path"]: d.get("md5") for d in lock.get("deps", [])}
        deps_then = {path: info.get("hash") for path, info in exp["deps"].items()}
        deps_ok = deps_now == deps_then
        same = _same(got, exp["metrics"])
        leaks, mine = _site_cache_leaks(ctx.workspace, self.var_tmp_before)
        numbers = {
            "experiment": exp["name"],
            "alpha": float(exp["params"]["alpha"]),
            "l1_ratio": float(exp["params"]["l1_ratio"]),
            "metrics_equal": int(same),
            "params_equal": int(params_ok),
            "deps_hashes_equal": int(deps_ok),
            "max_abs_diff": max(abs(float(got[m]) - float(exp["metrics"][m])) for m in METRICS),
            "var_tmp_new": leaks,
            "var_tmp_mine": mine,
        }
        evidence = (
            f"took experiment {exp['name']} (alpha={numbers['alpha']:g}, l1_ratio={numbers['l1_ratio']:g}) from "
            f"`dvc exp show --json --rev <v1>`, `dvc exp apply {exp['name']}` then `dvc repro --force`: metrics "
            f"{'equal' if same else 'DIFFER from'} the record (max |diff| {numbers['max_abs_diff']:.3g}); "
            f"params {'match' if params_ok else 'differ'}; dependency hashes (code, data, exam) "
            f"{'match' if deps_ok else 'differ from'} the experiment's; new paths under /var/tmp/dvc during "
            f"the whole exam: {mine} from this workspace ({leaks} in all)"
        )
        return Outcome("pass" if same and params_ok and deps_ok else "fail", evidence, numbers)
