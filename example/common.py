"""Data loading, the train/test split and the metrics shared by every tool.

This file is copied next to each tool's script in the runner's workspace and imported
there as plain ``common``, so it depends on nothing but numpy, pandas and scikit-learn.
Every tool reads the same ``exam.json`` and ``data.csv`` and computes the same numbers.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

# The exam settings a runner writes into its workspace before running a tool's script.
EXAM_FILE = "exam.json"
DATA_FILE = "data.csv"
SKLEARN_PREFIX = "sklearn:"


class DataError(ValueError):
    """The data set cannot be used: missing file, unknown data set, missing target column."""


def load_source(source: str, target: str):
    """Load *source* ("sklearn:NAME" or a CSV path) as a DataFrame with column *target*."""

    if source.startswith(SKLEARN_PREFIX):
        from sklearn import datasets

        name = source[len(SKLEARN_PREFIX) :]
        loader = getattr(datasets, f"load_{name}", None)
        if loader is None or name in ("files", "sample_image", "sample_images", "svmlight_file"):
            raise DataError(f"{source}: scikit-learn ships no data set called {name!r} (try sklearn:diabetes)")
        frame = loader(as_frame=True).frame
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise DataError(f"{path}: no such data file; give a CSV path or sklearn:diabetes")
        frame = read_csv(path)
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:12]))
        raise DataError(f"{source}: no target column {target!r}; columns are: {columns}")
    return frame


def read_csv(path: Path | str):
    """Read a CSV whose delimiter is ',' or ';' (the UCI wine files use ';'), names stripped as the sniffer's."""
    import pandas as pd

    frame = pd.read_csv(path, sep=sniff_delimiter(path)[0])
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


# --- the one CSV sniffer: the parent's data check (mlops_compare.data_check, before any runner
# starts) imports it from here, so the parent and the runners see the same columns; standard
# library only, as this whole module is at import time ---
SNIFF_BYTES = 64 * 1024


def sniff_delimiter(path: Path | str) -> tuple[str, list[str]]:
    """The delimiter (',' or ';') of a CSV file and its header's column names, stripped.

    Reads the first 64 KiB as UTF-8 (a byte-order mark is skipped; bytes that are not UTF-8
    read as U+FFFD: the parent's data check refuses such files before any runner starts).
    Names are stripped of spaces, so ``a, target`` has the columns ``a`` and ``target``;
    `read_csv` strips the names pandas reads the same way.
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=",;").delimiter
    except csv.Error:
        delimiter = ","
    header = next(csv.reader(head.splitlines(), delimiter=delimiter), [])
    return delimiter, [c.strip() for c in header]


def materialize(source: str, target: str, dest: Path) -> dict:
    """Write the data set to *dest* as a comma CSV; return where it came from, its checksums, rows and columns.

    Two checksums, named apart: ``source_sha256`` of the user's file as it is (what
    ``sha256sum`` prints; absent for a scikit-learn data set) and ``normalised_sha256`` of
    the comma CSV written to *dest*, which every tool reads.
    """
    frame = load_source(source, target)
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(dest, index=False)
    normalised = sha256_file(dest)
    info = {"source": source, "target": target, "rows": len(frame), "columns": len(frame.columns)}
    if not source.startswith(SKLEARN_PREFIX):
        info["source_sha256"] = sha256_file(Path(source).expanduser())
    return {**info, "normalised_sha256": normalised}


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_exam(folder: Path | str = ".") -> dict:
    """The exam settings (target, test_size, random_state, grid) the runner wrote."""
    return json.loads((Path(folder) / EXAM_FILE).read_text())


def load_split(folder: Path | str = "."):
    """Read ``data.csv`` and split it the same way for every tool: train_x, test_x, train_y, test_y."""
    from sklearn.model_selection import train_test_split

    exam = load_exam(folder)
    data = read_csv(Path(folder) / DATA_FILE)
    train, test = train_test_split(data, test_size=exam["test_size"], random_state=exam["random_state"])
    target = exam["target"]
    return train.drop(columns=[target]), test.drop(columns=[target]), train[[target]], test[[target]]


def eval_metrics(actual, pred) -> dict[str, float]:
    """RMSE, MAE and R2 as plain floats, as in the MLflow ElasticNet tutorial."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    rmse = math.sqrt(mean_squared_error(actual, pred))
    return {"rmse": float(rmse), "mae": float(mean_absolute_error(actual, pred)), "r2": float(r2_score(actual, pred))}


def grid_points(grid: dict[str, list[float]]) -> list[dict[str, float]]:
    """The alpha x l1_ratio grid in a fixed order (alpha outer, l1_ratio inner)."""
    return [{"alpha": float(a), "l1_ratio": float(r)} for a in grid["alpha"] for r in grid["l1_ratio"]]


def point_key(alpha: float, l1_ratio: float) -> str:
    """A stable text key for one grid point, used to match results across tools."""
    return f"{float(alpha):g}/{float(l1_ratio):g}"
