"""The runner registry: entry points in the ``mlops_compare.runners`` group.

Listing runners reads entry-point metadata only; nothing is imported, so listing is fast
and a runner whose tool is missing (or whose module is broken) is still listed. Each
runner is started as ``python -m <module>`` by `mlops_compare.executors.local`, with the
interpreter of its tool environment (`mlops_compare.envs`): `requirements` loads the runner
class through its entry point (the plugin interface; runner modules import no tool at
module level) to read what that environment holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

GROUP = "mlops_compare.runners"
# The order a person expects to read them in: the baseline first, then the study's order.
PREFERRED = ("plain", "mlflow", "dvc", "metaflow")


@dataclass(frozen=True)
class RunnerInfo:
    name: str
    module: str  # e.g. "mlops_compare.runners.mlflow"
    attr: str  # the Runner subclass in that module
    dist: str = ""  # the distribution that registered it (its code goes into the tool environment)


@functools.cache
def _installed() -> Any:
    """The entry points of every installed distribution, read once per process.

    One scan reads each distribution's ``entry_points.txt`` (about 10 ms with a few hundred
    installed); the TUI's start asked for one three times. A plugin installed meanwhile is seen
    at the next start, as with any program that loads its plugins at start-up. (Python 3.11
    returns its ``SelectableGroups`` here, 3.12 ``EntryPoints``; both have ``select``.)
    """
    return entry_points()


def entry_point(group: str, name: str) -> EntryPoint | None:
    """The entry point called *name* in *group*, from the one scan; None if there is none."""
    return next(iter(_installed().select(group=group, name=name)), None)


@functools.cache
def _available() -> tuple[RunnerInfo, ...]:
    found = {}
    names: dict[int, str] = {}  # a distribution's name, parsed once from its METADATA
    for ep in _installed().select(group=GROUP):
        module, _, attr = ep.value.partition(":")
        if ep.dist is not None and id(ep.dist) not in names:
            names[id(ep.dist)] = ep.dist.metadata["Name"]
        dist = names[id(ep.dist)] if ep.dist is not None else ""
        found[ep.name] = RunnerInfo(ep.name, module.strip(), attr.strip(), dist)
    order = {name: i for i, name in enumerate(PREFERRED)}
    return tuple(info for _, info in sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def available() -> dict[str, RunnerInfo]:
    """Every registered runner by name, baseline first, without importing any of them."""
    return {info.name: info for info in _available()}


class RunnerLoadError(Exception):
    """A runner class that cannot be loaded (its module is broken), with why."""


def requirements(info: RunnerInfo, tool_part: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """What the runner's tool environment holds: ``exam_requirements + requirements`` of its class.

    *tool_part* replaces the class's own ``requirements`` (``[tool.NAME] requires``); the exam's
    part is always kept.
    """
    cls = _load(info)
    own = tuple(getattr(cls, "requirements", ())) if tool_part is None else tuple(tool_part)
    return tuple(getattr(cls, "exam_requirements", ())) + own


def typical_seconds(info: RunnerInfo) -> float | None:
    """The runner's own figure for the default exam (``typical_seconds``), None when it gives none."""
    try:
        value = getattr(_load(info), "typical_seconds", None)
    except RunnerLoadError:
        return None  # the run plan reports the broken runner; ordering does not
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _load(info: RunnerInfo) -> Any:
    """The runner's class, imported through its entry point."""
    if (ep := entry_point(GROUP, info.name)) is not None:
        try:
            return ep.load()
        except Exception as exc:  # a plugin's module may fail in any way
            raise RunnerLoadError(f"runner {info.name!r} ({ep.value}) cannot be loaded: {exc}") from None
    raise RunnerLoadError(f"no runner called {info.name!r}")
