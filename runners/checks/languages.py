"""What every runner's ``languages`` check shares: the shell step, the notebook, the expected numbers.

``example/languages/`` holds the non-Python step (``stats.sh``: rows and target mean of the
data in POSIX sh + awk) and one notebook per tool, each training one grid point the way the
tool's docs teach for notebooks. `prepare` copies them into ``<workspace>/languages/`` with a
``params.yaml`` (the target column and one grid point); the checks compare what the tool
recorded with `expected_stats` and the plain baseline's metrics for that point. R is part of
the check only where ``Rscript`` is installed (`r_step`).
"""

from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.context import EXAMPLE_DIR, Context

FOLDER = "languages"
NOTEBOOK = "notebook.ipynb"
METRICS = ("rmse", "mae", "r2")


def prepare(ctx: Context, notebook: str, *files: str) -> tuple[Path, dict[str, float]]:
    """``<workspace>/languages/`` with stats.sh, *files*, the tool's *notebook* and params.yaml; the point."""
    import yaml

    folder = ctx.workspace / FOLDER
    folder.mkdir(exist_ok=True)
    source = EXAMPLE_DIR / FOLDER
    for name in ("stats.sh", *files):
        shutil.copy2(source / name, folder / name)
    shutil.copy2(source / notebook, folder / NOTEBOOK)
    point = ctx.points[-1]
    params = {"target": ctx.exam["target"], "alpha": float(point["alpha"]), "l1_ratio": float(point["l1_ratio"])}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder, point


def expected_stats(ctx: Context) -> dict[str, float]:
    data = common.read_csv(ctx.workspace / common.DATA_FILE)
    return {"rows": len(data), "target_mean": float(data[ctx.exam["target"]].mean())}


def stats_match(got: dict[str, Any] | None, expected: dict[str, float]) -> bool:
    """Rows equal, and the mean within awk's 12 printed digits."""
    if not got or "rows" not in got or "target_mean" not in got:
        return False
    return int(got["rows"]) == expected["rows"] and math.isclose(
        float(got["target_mean"]), expected["target_mean"], rel_tol=1e-10
    )


def metrics_match(ctx: Context, point: dict[str, float], got: dict[str, Any] | None) -> bool:
    """The notebook's metrics equal the plain baseline's for *point*, bit for bit."""
    expected = ctx.baseline[common.point_key(**point)]
    return got is not None and bool(got) and all(float(got[m]) == expected[m] for m in METRICS)


def execute_argv(notebook: str = NOTEBOOK) -> list[str]:
    """Run a notebook headless with nbclient (``jupyter execute``), keeping the executed copy."""
    return [sys.executable, "-m", "jupyter", "execute", "--output", "notebook_run", notebook]


def r_step() -> str:
    """What became of the R part: skipped, with the reason."""
    found = shutil.which("Rscript")
    if found is None:
        return "R: skipped, Rscript is not installed"
    return f"R: skipped, no R step is written for this check yet (Rscript is at {found})"


def status(shell_ok: bool, notebook_ok: bool) -> str:
    """pass: both tracked; partial: one of them; fail: neither."""
    return "pass" if shell_ok and notebook_ok else "partial" if shell_ok or notebook_ok else "fail"
