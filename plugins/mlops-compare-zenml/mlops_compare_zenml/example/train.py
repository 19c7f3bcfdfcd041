"""ElasticNet on the exam data as a ZenML pipeline: load the split, train, evaluate, each a step.

Every step's outputs are artifacts in ZenML's artifact store; the metrics are also logged as
step metadata (`log_metadata`). Run it once with `zenml init` done in this folder:

    zenml init
    python train.py 0.5 0.5
"""

import sys
import warnings
from typing import Annotated

import pandas as pd
from common import eval_metrics, load_exam, load_split
from sklearn.linear_model import ElasticNet
from zenml import log_metadata, pipeline, step


@step
def load_data() -> tuple[
    Annotated[pd.DataFrame, "train_x"],
    Annotated[pd.DataFrame, "test_x"],
    Annotated[pd.DataFrame, "train_y"],
    Annotated[pd.DataFrame, "test_y"],
]:
    train_x, test_x, train_y, test_y = load_split()
    return train_x, test_x, train_y, test_y  # a tuple written out: ZenML reads the source for it


@step
def train_model(
    train_x: pd.DataFrame, train_y: pd.DataFrame, alpha: float, l1_ratio: float
) -> Annotated[ElasticNet, "model"]:
    warnings.filterwarnings("ignore")
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=load_exam()["random_state"])
    model.fit(train_x, train_y)
    return model


@step
def evaluate(model: ElasticNet, test_x: pd.DataFrame, test_y: pd.DataFrame) -> Annotated[dict, "metrics"]:
    metrics = eval_metrics(test_y, model.predict(test_x))
    log_metadata(metadata=metrics)
    return metrics


@pipeline
def elasticnet(alpha: float = 0.5, l1_ratio: float = 0.5):
    train_x, test_x, train_y, test_y = load_data()
    model = train_model(train_x, train_y, alpha, l1_ratio)
    evaluate(model, test_x, test_y)


def train(alpha: float, l1_ratio: float) -> dict:
    run = elasticnet(alpha=alpha, l1_ratio=l1_ratio)
    metrics = run.steps["evaluate"].outputs["metrics"][0].load()
    print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}): {metrics}")
    return metrics


if __name__ == "__main__":
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    train(alpha, l1_ratio)
