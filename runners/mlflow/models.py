"""MLflow's `models` check."""

from __future__ import annotations

from mlops_compare.example import common
from mlops_compare.runners.context import Context, Outcome
from mlops_compare.runners.mlflow.tracking import TREE_TRUSTED_TYPES, MlflowTracking


class ModelsCheck(MlflowTracking):
    def models(self, ctx: Context) -> Outcome:
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
        import numpy as np
        import sklearn
        from sklearn.linear_model import ElasticNet
        from sklearn.tree import DecisionTreeRegressor

        train_x, test_x, train_y, _ = common.load_split(ctx.workspace)
        seed = ctx.exam["random_state"]
        candidates = {
            "elasticnet": (ElasticNet(alpha=0.5, l1_ratio=0.5, random_state=seed), None),
            "decision_tree": (DecisionTreeRegressor(random_state=seed), TREE_TRUSTED_TYPES),
        }
        # Pinned requirements: MLflow's automatic inference (a subprocess that reloads the model)
        # costs about 6 s per model on this machine and pins every package it sees imported.
        requirements = [f"scikit-learn=={sklearn.__version__}"]
        self.experiment(ctx, "models_check")
        lines, all_same, formats = [], True, set()
        with mlflow.start_run(run_name="models"):
            for name, (model, trusted) in candidates.items():
                model.fit(train_x, train_y)
                expected = np.asarray(model.predict(test_x)).ravel()
                info = mlflow.sklearn.log_model(
                    model,
                    name=name,
                    input_example=test_x.head(3),
                    pip_requirements=requirements,
                    skops_trusted_types=trusted,
                )
                formats.add(info.flavors["sklearn"].get("serialization_format", "?"))
                native = np.asarray(mlflow.sklearn.load_model(info.model_uri).predict(test_x)).ravel()
                pyfunc = np.asarray(mlflow.pyfunc.load_model(info.model_uri).predict(test_x)).ravel()
                same = np.array_equal(native, expected) and np.array_equal(pyfunc, expected)
                all_same &= bool(same)
                lines.append(
                    f"{type(model).__name__} -> {info.model_uri} ({'identical' if same else 'DIFFERENT'} predictions "
                    f"on {len(expected)} test rows via mlflow.sklearn.load_model and mlflow.pyfunc.load_model)"
                )
        mlflow.set_experiment(experiment_id=self.experiment_id)
        evidence = (
            "mlflow.sklearn.log_model: "
            + "; ".join(lines)
            + f"; stored as {'/'.join(sorted(formats))} with signature and input example; the tree needed "
            f"skops_trusted_types={TREE_TRUSTED_TYPES} to be saved at all; requirements pinned with pip_requirements "
            f"(scikit-learn=={sklearn.__version__}; MLflow adds mlflow=={mlflow.__version__}) instead of the slow inference"
        )
        return Outcome(
            "pass" if all_same else "fail", evidence, {"models": len(candidates), "identical": int(all_same)}
        )
