"""DVC's `models` check: an experiment's model output and a second model, as DVC-tracked files."""

from __future__ import annotations

import pickle

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.dvc.repo import DvcRepo, _same


class ModelsCheck(DvcRepo):
    def models(self, ctx: Context) -> Outcome:
        import dvc.api
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        rs = ctx.exam["random_state"]
        train_x, test_x, train_y, test_y = common.load_split(ctx.workspace)
        if not self.experiments:
            return Outcome("fail", "no experiment to take the ElasticNet model from")
        key, exp = sorted(self.experiments.items())[-1]
        # 1. ElasticNet: the `model.pkl` output of a grid experiment, read from DVC's cache at that commit.
        with dvc.api.open("model.pkl", repo=str(ctx.workspace), rev=exp["rev"], mode="rb") as handle:
            enet = pickle.load(handle)
        alpha, l1_ratio = float(exp["params"]["alpha"]), float(exp["params"]["l1_ratio"])
        fresh = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=rs).fit(train_x, train_y)
        enet_same = bool((enet.predict(test_x) == fresh.predict(test_x)).all())
        enet_metrics = common.eval_metrics(test_y, enet.predict(test_x))
        enet_record = _same(enet_metrics, exp["metrics"])
        # 2. A second model type, versioned with `dvc add`, committed, removed, read back at that commit.
        tree = DecisionTreeRegressor(max_depth=5, random_state=rs).fit(train_x, train_y)
        path = ctx.workspace / "tree.pkl"
        path.write_bytes(pickle.dumps(tree))
        self._dvc(ctx, "add", "-q", "tree.pkl")
        self._git(ctx, "add", "tree.pkl.dvc", ".gitignore")
        self._git(ctx, "commit", "-q", "-m", "DecisionTreeRegressor model")
        rev = self._git_out(ctx, "rev-parse", "HEAD")
        path.unlink()
        with dvc.api.open("tree.pkl", repo=str(ctx.workspace), rev=rev, mode="rb") as handle:
            loaded = pickle.load(handle)
        tree_same = bool((loaded.predict(test_x) == tree.predict(test_x)).all())
        self._dvc(ctx, "checkout", "-q", "tree.pkl")  # and back into the workspace from the cache
        restored = (
            path.is_file()
            and pickle.loads(path.read_bytes()).predict(test_x).tolist() == loaded.predict(test_x).tolist()
        )
        numbers = {
            "models": 2,
            "test_rows": len(test_x),
            "elasticnet_identical": int(enet_same),
            "elasticnet_metrics_equal_record": int(enet_record),
            "tree_identical": int(tree_same),
            "tree_checkout_identical": int(bool(restored)),
        }
        evidence = (
            f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}) = stage output model.pkl of experiment "
            f"{exp['name']} ({key}), loaded with dvc.api.open(rev=<exp commit>): predictions "
            f"{'identical' if enet_same else 'DIFFERENT'} to a fresh fit on {len(test_x)} test rows, metrics "
            f"{'equal' if enet_record else 'NOT equal'} to the experiment's record; DecisionTreeRegressor(max_depth=5) "
            f"via `dvc add tree.pkl` + git commit, workspace file deleted, loaded with dvc.api.open(rev=<commit>): "
            f"predictions {'identical' if tree_same else 'DIFFERENT'}; `dvc checkout tree.pkl` restores it "
            f"{'identically' if restored else 'WRONGLY'}. DVC stores files, not models: no flavors or signatures"
        )
        ok = enet_same and enet_record and tree_same and restored
        # stored, versioned and loaded back through DVC, but as files: no model format or serving
        return Outcome("partial" if ok else "fail", evidence, numbers)
