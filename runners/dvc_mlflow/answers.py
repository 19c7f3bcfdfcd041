"""Which tool answered a check: an outcome stamped with its tool, and two tools' outcomes made one.

The evidence starts with the tool's name ("DVC: ...", "MLflow: ...") and the numbers carry
``answered_by`` ("dvc", "mlflow" or "dvc+mlflow"), so reports and the stored record say
which tool of the combination did the work.
"""

from __future__ import annotations

from mlops_compare.runners.context import Outcome

NAMES = {"dvc": "DVC", "mlflow": "MLflow"}
ORDER = ("fail", "partial", "pass")  # worst to best; skip counts only when both skipped


def answered(tool: str, outcome: Outcome) -> Outcome:
    """*outcome* as *tool*'s answer."""
    return Outcome(outcome.status, f"{NAMES[tool]}: {outcome.evidence}", {"answered_by": tool, **outcome.numbers})


def both(dvc: Outcome, mlflow: Outcome, *, need_both: bool) -> Outcome:
    """DVC's and MLflow's answers as one: the worse status when both must hold (*need_both*),
    else the better one (the combination can do what either tool does); numbers prefixed by tool."""
    ran = [o.status for o in (dvc, mlflow) if o.status in ORDER]
    pick = min if need_both else max
    status = pick(ran, key=ORDER.index) if ran else "skip"
    numbers = {
        "answered_by": "dvc+mlflow",
        **{f"dvc.{k}": v for k, v in dvc.numbers.items()},
        **{f"mlflow.{k}": v for k, v in mlflow.numbers.items()},
    }
    return Outcome(status, f"DVC: {dvc.evidence} || MLflow: {mlflow.evidence}", numbers)
