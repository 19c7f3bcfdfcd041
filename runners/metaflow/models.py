"""Metaflow's `models` check."""

from __future__ import annotations

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.metaflow.flows import TREE, MetaflowFlows, _floats


class ModelsCheck(MetaflowFlows):
    def models(self, ctx: Context) -> Outcome:
        import numpy as np
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        train_x, test_x, train_y, test_y = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        point = next((p for p in ctx.points if p == {"alpha": 0.5, "l1_ratio": 0.5}), ctx.points[0])
        tree_run = self._flow(
            ctx,
            ["--alphas", _floats([point["alpha"]]), "--l1_ratios", _floats([point["l1_ratio"]])]
            + ["--model_type", TREE],
        )
        stored = {
            "ElasticNet": (self._train_tasks(self.grid_run)[common.point_key(**point)], ElasticNet(**point)),
            TREE: (next(iter(self._run(tree_run)["train"].tasks())), DecisionTreeRegressor()),
        }
        report, same_all = [], True
        for label, (task, reference) in stored.items():
            model = task.data.model  # unpickled from the datastore by the client
            reference.set_params(random_state=seed).fit(train_x, train_y)
            predictions = model.predict(test_x)
            same = (
                type(model) is type(reference)
                and np.array_equal(predictions, reference.predict(test_x))
                and common.eval_metrics(test_y, predictions) == task.data.metrics
            )
            same_all &= same
            report.append(f"{label} from {task.pathspec}: {'identical' if same else 'DIFFERENT'}")
        numbers = {"model_types": len(stored), "identical": sum("identical" in r for r in report)}
        evidence = (
            "; ".join(report) + " predictions (vs a fresh fit in this process, and the stored metrics recomputed "
            "from the loaded model). Models are plain pickled artifacts (self.model): no model format, "
            "signature, registry or serving"
        )
        # stored and loaded back through Metaflow, but as pickles: no model format or serving
        return Outcome("partial" if same_all else "fail", evidence, numbers)
