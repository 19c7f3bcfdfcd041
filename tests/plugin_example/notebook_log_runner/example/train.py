"""ElasticNet on the exam data, each run kept by notebook-log: one JSON file per run in notebook/.

python train.py 0.5 0.5
"""

import json
import sys
import warnings
from pathlib import Path

from common import eval_metrics, load_exam, load_split
from sklearn.linear_model import ElasticNet


def train(alpha: float, l1_ratio: float) -> dict:
    warnings.filterwarnings("ignore")
    train_x, test_x, train_y, test_y = load_split()

    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=load_exam()["random_state"])
    model.fit(train_x, train_y)

    metrics = eval_metrics(test_y, model.predict(test_x))
    print(f"ElasticNet(alpha={alpha:g}, l1_ratio={l1_ratio:g}): {metrics}")
    record = {"params": {"alpha": alpha, "l1_ratio": l1_ratio}, "metrics": metrics}
    Path("notebook").mkdir(exist_ok=True)
    Path(f"notebook/run-{alpha!r}-{l1_ratio!r}.json").write_text(json.dumps(record))
    return metrics


if __name__ == "__main__":
    alpha = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    l1_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    train(alpha, l1_ratio)
