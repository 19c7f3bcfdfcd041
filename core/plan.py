"""The run plan: criteria plus command-line choices turned into the runner requests to start.

`mlops-compare run`, the TUI and the Slurm executor all start runners from `plan`, so a
choice means the same everywhere: which tools, which checks, which data (paths in
criteria.toml are relative to the criteria file; on the command line, to where the
command runs), the timeout, the interpreter per tool. Bad choices raise `UserError`
before anything starts, with what to do.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_compare import checks, registry
from mlops_compare.criteria import Criteria
from mlops_compare.errors import UserError
from mlops_compare.events import CHECK_IDS, SKLEARN_PREFIX

if TYPE_CHECKING:  # the launcher (asyncio, psutil) only when a plan is made: `check` stays light
    from mlops_compare.executors.local import RunRequest


@dataclass(frozen=True)
class Choices:
    """What the user chose on top of criteria.toml (None: take the criteria's value)."""

    tools: tuple[str, ...] = ()  # empty: every registered runner
    checks: tuple[str, ...] = ()  # empty: every check of the exam
    data: str | None = None  # relative to the current folder
    target: str | None = None
    timeout: float | None = None
    workdir: Path | None = None
    keep_workspaces: bool = False  # False: a finished run's workspace is removed (`RunRequest.keep_workspace`)


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
    for check, resolve_paths in checks.with_hook("resolve_paths"):
        if check.enabled_by in exam:
            resolve_paths(exam[check.enabled_by], lambda path: resolve_data(path, base))
    if choices.data:
        exam["data"] = resolve_data(choices.data, Path.cwd())
    if choices.target:
        exam["target"] = choices.target
    if choices.checks:
        exam["checks"] = list(choices.checks)
    return exam


def check_data(exam: dict[str, Any], given: str) -> None:
    """Refuse data no runner can use before starting anything (`data_check`: encoding, header, values)."""
    from mlops_compare import data_check

    data_check.check(exam["data"], exam["target"], given)


def check_choices(choices: Choices) -> None:
    """Options that are wrong whatever the criteria: one line each, before anything starts."""
    if choices.timeout is not None and not (math.isfinite(choices.timeout) and choices.timeout > 0):
        raise UserError(f"--timeout {choices.timeout:g}: give a number of seconds more than 0")
    if choices.data is not None and not choices.data.strip():
        raise UserError("--data is empty: give a CSV path or sklearn:NAME (or leave it out for exam.data)")
    if choices.target is not None and not choices.target.strip():
        raise UserError("--target is empty: give the name of the data's target column (or leave it out)")
    if choices.workdir is not None:
        where = Path(choices.workdir)
        if where.exists() and not where.is_dir():
            raise UserError(f"--workdir {choices.workdir}: not a folder; give a folder for the runners' workspaces")


def preflight(criteria: Criteria, store=None, choices: Choices = Choices()) -> None:
    """What `plan` refuses for every tool alike, checked once (the TUI's ``r`` before queueing any run):
    the options, the data (`check_data`) and, given a `store.Store`, that records can be stored there."""
    check_choices(choices)
    exam = exam_for(criteria, choices)
    check_data(exam, choices.data or f"{criteria.path}: exam.data {criteria.exam.data!r}")
    if store is not None:
        store.probe()


def plan(criteria: Criteria, choices: Choices = Choices()) -> list[RunRequest]:
    """The runner requests for *choices*, in the registry's order; raises UserError on bad choices."""
    from mlops_compare.executors.local import RunRequest

    known = candidates(criteria)
    unknown = [t for t in choices.tools if t not in known]
    if unknown:
        raise UserError(f"--tool {', '.join(unknown)}: no such runner (installed: {', '.join(known)})")
    bad = [c for c in choices.checks if c not in CHECK_IDS]
    if bad:
        raise UserError(f"--check {', '.join(bad)}: no such check (checks: {', '.join(CHECK_IDS)})")
    check_choices(choices)
    exam = exam_for(criteria, choices)
    check_data(exam, choices.data or f"{criteria.path}: exam.data {criteria.exam.data!r}")
    requests = []
    for tool in choices.tools or tuple(known):
        spec = criteria.run_settings(tool)
        requests.append(
            RunRequest(
                tool,
                exam,
                python=(spec.python if spec is not None and spec.python else sys.executable),
                timeout=choices.timeout or criteria.exam.timeout,
                workdir=choices.workdir,
                keep_workspace=choices.keep_workspaces,
                module=known[tool].module,
                environment=tool_environment(criteria, tool, known[tool]),
                typical_seconds=registry.typical_seconds(known[tool]),
            )
        )
    return requests


def candidates(criteria: Criteria) -> dict[str, registry.RunnerInfo]:
    """Every runnable candidate: the registered runners, then criteria's variants (``[tool.X] runner = "..."``)."""
    known = registry.available()
    out = dict(known)
    for tid, tool in [*criteria.tools.items(), *criteria.unrated.items()]:
        if tool.runner and tid not in known:
            if tool.runner not in known:
                raise UserError(
                    f"{criteria.path}: [tool.{tid}] runner = {tool.runner!r}: no such runner (installed: {', '.join(known)})"
                )
            out[tid] = known[tool.runner]
    return out


def tool_environment(criteria: Criteria, tool: str, runner: registry.RunnerInfo) -> dict[str, Any] | None:
    """The tool environment a runner runs in (see `RunRequest.environment`), or None.

    None when ``[tool.NAME] python`` names an interpreter the user manages, or when
    ``MLOPS_COMPARE_ENVS=none`` (run every tool with mlops-compare's own interpreter, as before
    tool environments: for a development install holding every tool).
    """
    from mlops_compare import envs

    spec = criteria.run_settings(tool)
    if (spec is not None and spec.python) or envs.disabled() or not runner.dist:
        return None  # no distribution registered it (a module given by hand): the comparer's interpreter
    root = envs.root_for(criteria.envs or None, criteria.path.parent.resolve())
    try:
        requirements = registry.requirements(runner, spec.requires if spec is not None else None)
        recipe = envs.spec_for(requirements, runner.dist or "mlops-compare")
    except (registry.RunnerLoadError, envs.EnvError) as exc:
        return {"root": str(root), "error": str(exc)}
    return {"root": str(root), "spec": recipe.to_dict()}
