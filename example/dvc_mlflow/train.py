"""ElasticNet on the exam data as a DVC pipeline stage that logs to MLflow.

DVC runs it (dvc.yaml: data and code as deps, params.yaml, the model as a cached output,
metrics.json) and versions data, pipeline and model; MLflow records each run's parameters
and metrics in the tracking store named by MLFLOW_TRACKING_URI, for its UI and client.

    export MLFLOW_TRACKING_URI=http://127.0.0.1:5000 MLFLOW_EXPERIMENT_NAME=exam
    dvc exp run -S alpha=0.5 -S l1_ratio=0.5
"""

import json
import pickle
import warnings

import mlflow
import yaml
from common import eval_metrics, load_exam, load_split
from sklearn.linear_model import ElasticNet


def train(alpha: float, l1_ratio: float) -> dict:
    warnings.filterwarnings("ignore")
    train_x, test_x, train_y, test_y = load_split()

    with mlflow.start_run():
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=load_exam()["random_state"])
        model.fit(train_x, train_y)

        metrics = eval_metrics(test_y, model.predict(test_x))
        print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}): {metrics}")
        mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
        mlflow.log_metrics(metrics)
    with open("metrics.json", "w") as fd:
        json.dump(metrics, fd, indent=2)
    with open("model.pkl", "wb") as fd:
        pickle.dump(model, fd)
    return metrics


if __name__ == "__main__":
    params = yaml.safe_load(open("params.yaml"))
    train(float(params["alpha"]), float(params["l1_ratio"]))
