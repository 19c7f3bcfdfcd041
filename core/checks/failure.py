"""failure: a grid point that fails: recorded, found, resumed (scored on figures).

Score: (found + traceback + saved) / 3: found through the tool 0 or 1, its traceback kept by
the tool 0 or 1, saved = seconds a resume saved / the finished points' share of the first
attempt (finished / (finished + 1) of its seconds: the failing grid is the finished points
and one bad one, so a resume that redoes only the bad point saves about that share), clipped
to 0..1 (no resume = 0); a ``fail`` scores 0. The share makes the figure the same for the
2-point failing grid the exam runs and for a larger one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_compare.checks import clip


def score(check: Mapping[str, Any]) -> float | None:
    numbers = check.get("numbers") or {}
    first_seconds = numbers.get("first_seconds")
    if check.get("status") == "fail" or not isinstance(first_seconds, int | float):
        return None
    first, saved = float(first_seconds), float(numbers.get("seconds_saved", 0))
    finished = float(numbers.get("finished_points", 0))
    ideal = first * finished / (finished + 1)  # the finished points' share of the first attempt
    share = clip(saved / ideal) if ideal > 0 else 0.0
    return (float(numbers.get("found", 0)) + float(numbers.get("traceback", 0)) + share) / 3


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Mapping[str, Any]) -> str | None:
    """The matrix cell's figures: found through the tool, resumed."""
    n = check.get("numbers") or {}
    if "found" not in n:
        return None
    return ("found" if n.get("found") else "not found") + (", resumed" if n.get("resume_seconds", -1) >= 0 else "")


def report_section(evidence: Any) -> Any:
    """What a failing grid point left behind and what a resume saved, per tool."""
    from mlops_compare.report.blocks import Section, Table
    from mlops_compare.report.sections import numbers

    rows = []
    for tool, found in evidence.tools.items():
        if "failure" not in found.checks:
            continue
        fail = numbers(found, "failure")
        resume = (
            f"{fail.get('redone_points', '?')} redone, {fail.get('seconds_saved', 0):g} s saved"
            if fail.get("resume_seconds", -1) >= 0
            else "no resume"
        )
        found_it, traceback = ("yes" if fail.get(k) else "no" for k in ("found", "traceback"))
        rows.append([tool, found.checks["failure"].status, found_it, traceback, resume])
    if not rows:
        return None
    return Section("Failure", [Table(["tool", "failure", "found", "traceback kept", "resume"], rows)])
