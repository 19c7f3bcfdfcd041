"""The run plan: criteria plus command-line choices turned into the runner requests to start.

`mlops-compare run`, the TUI and the Slurm executor all start runners from `plan`, so a
choice means the same everywhere: which tools, which checks, which data (paths in
criteria.toml are relative to the criteria file; on the command line, to where the
command runs), the timeout, the interpreter per tool. Bad choices raise `UserError`
before anything starts, with what to do.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_compare import large_data, registry
from mlops_compare.criteria import Criteria
from mlops_compare.errors import UserError
from mlops_compare.events import CHECK_IDS
from mlops_compare.executors.local import RunRequest

SKLEARN_PREFIX = "sklearn:"


@dataclass(frozen=True)
class Choices:
    """What the user chose on top of criteria.toml (None: take the criteria's value)."""

    tools: tuple[str, ...] = ()  # empty: every registered runner
    checks: tuple[str, ...] = ()  # empty: every check of the exam
    data: str | None = None  # relative to the current folder
    target: str | None = None
    timeout: float | None = None
    workdir: Path | None = None


def resolve_data(source: str, base: Path) -> str:
    """An absolute data path (``~`` expanded, relative to *base*), or the sklearn name as it is."""
    if source.startswith(SKLEARN_PREFIX):
        return source
    path = Path(source).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def exam_for(criteria: Criteria, choices: Choices = Choices()) -> dict[str, Any]:
    """The exam every runner gets: criteria's [exam] with paths resolved and the choices applied."""
    exam = criteria.exam.to_dict()
    base = criteria.path.parent.resolve()
    exam["data"] = resolve_data(exam["data"], base)
    for table, key in (("storage", "shared_path"), ("large_data", "data"), ("large_data", "cache")):
        if exam.get(table, {}).get(key):
            exam[table][key] = resolve_data(exam[table][key], base)
    if "large_data" in exam and not exam["large_data"].get("cache"):
        # runners get HOME and XDG folders inside their workspace: they need this absolute path
        exam["large_data"]["cache"] = str(large_data.default_cache())
    if choices.data:
        exam["data"] = resolve_data(choices.data, Path.cwd())
    if choices.target:
        exam["target"] = choices.target
    if choices.checks:
        exam["checks"] = list(choices.checks)
    return exam


def check_data(exam: dict[str, Any], given: str) -> None:
    """Catch a missing CSV or target column before starting anything (reads the header only)."""
    source = exam["data"]
    if source.startswith(SKLEARN_PREFIX):
        return
    path = Path(source)
    if not path.is_file():
        raise UserError(f"{given}: no such data file ({path}); give a CSV path or sklearn:diabetes")
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    columns = [c.strip().strip('"') for c in first.rstrip("\r\n").split(delimiter)]
    if exam["target"] not in columns:
        raise UserError(f"{given}: no column {exam['target']!r}; pass --target with one of: {', '.join(columns[:15])}")


def plan(criteria: Criteria, choices: Choices = Choices()) -> list[RunRequest]:
    """The runner requests for *choices*, in the registry's order; raises UserError on bad choices."""
    known = registry.available()
    unknown = [t for t in choices.tools if t not in known]
    if unknown:
        raise UserError(f"--tool {', '.join(unknown)}: no such runner (installed: {', '.join(known)})")
    bad = [c for c in choices.checks if c not in CHECK_IDS]
    if bad:
        raise UserError(f"--check {', '.join(bad)}: no such check (checks: {', '.join(CHECK_IDS)})")
    if choices.timeout is not None and choices.timeout <= 0:
        raise UserError("--timeout must be more than 0 seconds")
    exam = exam_for(criteria, choices)
    check_data(exam, choices.data or f"{criteria.path}: exam.data {criteria.exam.data!r}")
    requests = []
    for tool in choices.tools or tuple(known):
        spec = criteria.tools.get(tool)
        requests.append(
            RunRequest(
                tool,
                exam,
                python=(spec.python if spec is not None and spec.python else sys.executable),
                timeout=choices.timeout or criteria.exam.timeout,
                workdir=choices.workdir,
                module=known[tool].module,
            )
        )
    return requests
