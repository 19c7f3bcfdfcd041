"""Shared fixtures: paths, a small exam, and a writable copy of the shipped criteria."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "criteria.toml"
WINE = ROOT.parent / "shared" / "data" / "wine-quality.csv"

SMALL_EXAM = {
    "data": "sklearn:diabetes",
    "target": "target",
    "test_size": 0.25,
    "random_state": 42,
    "grid": {"alpha": [0.0, 0.5], "l1_ratio": [0.5]},
}


@pytest.fixture
def small_exam() -> dict:
    return {**SMALL_EXAM, "grid": {k: list(v) for k, v in SMALL_EXAM["grid"].items()}}


@pytest.fixture
def criteria_copy(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.toml"
    shutil.copy(SHIPPED, path)
    return path
