"""What the `fan_out`, `failure` and `ui` checks of every runner share, so the tools are judged alike.

- fan_out: the grid's corner (`fan_out_grid`: its first alphas x first l1_ratios, at most
  ``[exam] fan_out_points``, 4 by default) through the tool's own parallelism at `WORKERS` = 1
  and 2 workers; the speed-up is the 1-worker wall time over the 2-worker one (how a speed-up
  becomes a rating is in `mlops_compare.evidence.check_score`);
- failure: the exam grid's first point (first alpha, first l1_ratio) plus one more alpha,
  `BAD_ALPHA`, that ElasticNet rejects inside ``fit()`` (the failing point, run after the good
  one). One finished point proves what a resume does with finished points as well as the
  whole grid would, at 2 runs per attempt instead of 4 (or 10 on the 3x3 grid). The user then fixes it
  the tool's way and continues; what counts is whether the tool recorded the failure with
  its traceback, whether it can be found through the tool, and how many finished points a
  resume ran again, with the seconds it saved against the first attempt;
- ui: the numbers found on a rendered page (`numbers_in`), matched loosely because UIs round.
"""

from __future__ import annotations

import html
import math
import re

from mlops_compare.runners.context import Outcome

WORKERS = (1, 2)
BAD_ALPHA = -1.0  # ElasticNet(alpha=-1).fit raises InvalidParameterError
TRACEBACK = "Traceback (most recent call last)"
ERROR = "InvalidParameterError"  # the exception's name, as the traceback's last line shows it


def fan_out_grid(exam: dict) -> dict[str, list[float]]:
    """The grid's largest corner (first alphas x first l1_ratios) of at most ``exam["fan_out_points"]`` points.

    Every tool's fan_out runs this same corner; ties go to more alphas. Without the key, or
    with 0 or more points than the grid has, the whole grid.
    """
    alphas, ratios = [float(a) for a in exam["grid"]["alpha"]], [float(r) for r in exam["grid"]["l1_ratio"]]
    limit = int(exam.get("fan_out_points") or 0)
    if limit <= 0 or limit >= len(alphas) * len(ratios):
        return {"alpha": alphas, "l1_ratio": ratios}
    shapes = [(a * r, a, r) for a in range(1, len(alphas) + 1) for r in range(1, len(ratios) + 1) if a * r <= limit]
    _, a, r = max(shapes)
    return {"alpha": alphas[:a], "l1_ratio": ratios[:r]}


def middle_point(points: list[dict[str, float]]) -> dict[str, float]:
    """The grid's middle point (alpha 0.5, l1_ratio 0.5 of the shipped 3x3 grid): the one run of
    the checks that need a single training run (large_data; Metaflow's remote_storage run)."""
    return points[len(points) // 2]


def failing_grid(grid: dict[str, list[float]]) -> dict[str, list[float]]:
    """The exam grid's first point with `BAD_ALPHA` appended to its alphas: that point fails, after the good one."""
    return {"alpha": [float(grid["alpha"][0]), BAD_ALPHA], "l1_ratio": [float(grid["l1_ratio"][0])]}


def corrected_grid(grid: dict[str, list[float]]) -> dict[str, list[float]]:
    """The failing grid as a user corrects it: `BAD_ALPHA` replaced by a valid alpha not in the grid."""
    alphas = [float(a) for a in grid["alpha"]]
    fixed = 1.0 if 1.0 not in alphas else max(alphas) + 1.0
    return {"alpha": [alphas[0], fixed], "l1_ratio": [float(grid["l1_ratio"][0])]}


def is_bad(point: dict[str, float]) -> bool:
    return point["alpha"] == BAD_ALPHA


def speedup_outcome(
    how: str, seconds: dict[int, float], points: int, backends: str, ok: bool, extra: str = "", of: int = 0
) -> Outcome:
    """The fan_out outcome of a tool whose own mechanism ran *points* (of the grid's *of*) at 1 and 2 workers."""
    one, two = seconds[WORKERS[0]], seconds[WORKERS[1]]
    speedup = one / two if two > 0 else 0.0
    corner = f" (a corner of the grid's {of}: [exam] fan_out_points)" if of > points else ""
    numbers = {
        "points": points,
        "grid_points": max(of, points),
        "workers": WORKERS[1],
        "seconds_1": round(one, 2),
        "seconds_2": round(two, 2),
        "speedup": round(speedup, 2),
        "backends": backends,
    }
    evidence = (
        f"{how}: {points} points{corner} in {one:.1f} s with 1 worker, {two:.1f} s with 2: speed-up x{speedup:.2f}; "
        f"bigger backends through the tool: {backends} (Slurm: the hpc check, also evidence for scaling)"
        + (f"; {extra}" if extra else "")
    )
    return Outcome("pass" if ok else "fail", evidence, numbers)


def failure_outcome(
    found: bool,
    traceback_lines: int,
    finished: int,
    redone: int | None,
    first_seconds: float,
    resume_seconds: float | None,
    evidence: str,
) -> Outcome:
    """pass: the failure is recorded with its traceback, found through the tool, and a resume
    ran none of the finished points again; partial: found, but without traceback or resume;
    fail: the tool's record does not show the failure. *redone* None: the tool cannot resume."""
    resumed = redone is not None and resume_seconds is not None
    saved = first_seconds - resume_seconds if resumed and resume_seconds is not None else 0.0
    numbers = {
        "found": int(found),
        "traceback": int(traceback_lines > 0),
        "traceback_lines": traceback_lines,
        "finished_points": finished,
        "redone_points": redone if redone is not None else finished,
        "first_seconds": round(first_seconds, 2),
        "resume_seconds": round(resume_seconds, 2) if resume_seconds is not None else -1,
        "seconds_saved": round(max(saved, 0.0), 2),
    }
    if resumed:
        evidence += (
            f"; resume {resume_seconds:.1f} s vs {first_seconds:.1f} s for the first attempt: {saved:.1f} s saved"
        )
    if not found:
        return Outcome("fail", evidence, numbers)
    if traceback_lines and resumed and redone == 0:
        return Outcome("pass", evidence, numbers)
    return Outcome("partial", evidence, numbers)


def numbers_in(text: str) -> list[float]:
    """Every decimal number in *text* (a rendered page or a report)."""
    return [float(m) for m in re.findall(r"(?<![\w.])-?\d+\.\d+(?:[eE]-?\d+)?", text)]


def shown(value: float, found: list[float]) -> bool:
    """*value* appears among *found*, as a UI rounds it (4 significant digits or 3 decimals)."""
    return any(math.isclose(value, n, rel_tol=5e-4, abs_tol=5e-4) for n in found)


def metrics_shown(metrics: dict[str, dict[str, float]], text: str) -> tuple[int, list[str]]:
    """How many runs of {key: metrics} have rmse, mae and r2 all in *text*; the keys missing."""
    found = numbers_in(text)
    missing = [key for key, m in metrics.items() if not all(shown(float(m[k]), found) for k in ("rmse", "mae", "r2"))]
    return len(metrics) - len(missing), missing


def page_text(dom: str) -> str:
    """The text a rendered page shows: its DOM without scripts, styles and tags (numbers in a
    page's inline scripts are not what the user sees)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))
