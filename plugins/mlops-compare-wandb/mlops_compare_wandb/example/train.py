"""ElasticNet on the exam data, each run logged with Weights & Biases.

Offline, as W&B documents it: no account or key, runs go to ./wandb/offline-run-*;
`wandb leet ./wandb` shows them in the terminal, `wandb sync` would upload them later.

    export WANDB_MODE=offline
    python train.py 0.5 0.5
"""

import sys
import warnings

import wandb
from common import eval_metrics, load_exam, load_split
from sklearn.linear_model import ElasticNet


def train(alpha: float, l1_ratio: float) -> dict:
    warnings.filterwarnings("ignore")
    train_x, test_x, train_y, test_y = load_split()
    run = wandb.init(project="elasticnet-exam", config={"alpha": alpha, "l1_ratio": l1_ratio})

    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=load_exam()["random_state"])
    model.fit(train_x, train_y)

    metrics = eval_metrics(test_y, model.predict(test_x))
    print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}): {metrics}")
    run.log(metrics)
    run.finish()
    return metrics


if __name__ == "__main__":
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    train(alpha, l1_ratio)
