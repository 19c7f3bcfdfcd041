"""ElasticNet on the exam data, tracked with MLflow as the MLflow ElasticNet tutorial teaches.

Parameters, metrics and the data set's digest go to the tracking store named by
MLFLOW_TRACKING_URI (or mlflow.set_tracking_uri); the model is logged when run as a script.

    python train.py 0.5 0.5            # or: mlflow run . -P alpha=0.5 -P l1_ratio=0.5
"""

import os
import sys
import warnings

import mlflow
import mlflow.sklearn
from common import DATA_FILE, eval_metrics, load_exam, load_split, read_csv
from sklearn.linear_model import ElasticNet


def train(alpha: float, l1_ratio: float, log_model: bool = False) -> dict:
    warnings.filterwarnings("ignore")
    train_x, test_x, train_y, test_y = load_split()

    with mlflow.start_run():
        dataset = mlflow.data.from_pandas(
            read_csv(DATA_FILE), source=os.path.abspath(DATA_FILE), targets=load_exam()["target"]
        )
        mlflow.log_input(dataset, context="training")

        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=load_exam()["random_state"])
        model.fit(train_x, train_y)

        metrics = eval_metrics(test_y, model.predict(test_x))
        print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}): {metrics}")
        mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
        mlflow.log_metrics(metrics)
        if log_model:
            mlflow.sklearn.log_model(model, name="model", input_example=test_x.head())
    return metrics


if __name__ == "__main__":
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    train(alpha, l1_ratio, log_model=True)
